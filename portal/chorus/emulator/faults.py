"""Fault injection: what the emulator does wrong on purpose, for tests and benchmarks.

Faults are either *rates* (a share of calls, drawn from a seeded random generator, limited
to some operations when ``operations`` is set) or a *script*: a queue of faults consumed in
order by the next matching calls, for deterministic tests. Kinds:

- ``error``: answer HTTP 500 or 503 without processing (``status``);
- ``throttle``: answer 429 with ``Retry-After`` without processing;
- ``timeout``: hold the connection ``timeout_seconds`` without processing, then drop it;
- ``reset``: drop the connection at once (TCP reset) without processing;
- ``malformed``: process the call, then answer 200 with truncated JSON;
- ``late``: process the call, then answer only after ``late_seconds`` (the caller has
  usually timed out although the work — e.g. an invoice — exists).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

KINDS = ("error", "throttle", "timeout", "reset", "malformed", "late")
PROCESSED_KINDS = frozenset({"malformed", "late"})  # the call is carried out first


class FaultConfigError(ValueError):
    """A fault setting is invalid (French message)."""


@dataclass(frozen=True)
class Fault:
    """One fault to inflict on a call."""

    kind: str
    status: int = 503
    seconds: float = 0.0
    retry_after: int = 1

    @property
    def processes_call(self) -> bool:
        return self.kind in PROCESSED_KINDS


@dataclass
class ScriptedFault:
    kind: str
    operation: str | None = None
    times: int = 1
    status: int | None = None
    seconds: float | None = None


@dataclass
class FaultSettings:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    throttle_rate: float = 0.0
    retry_after: int = 1
    timeout_rate: float = 0.0
    timeout_seconds: float = 10.0
    reset_rate: float = 0.0
    malformed_rate: float = 0.0
    late_rate: float = 0.0
    late_seconds: float = 10.0
    operations: frozenset[str] | None = None
    script: list[ScriptedFault] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name == "operations":
                value = sorted(value) if value is not None else None
            elif spec.name == "script":
                value = [vars(item).copy() for item in value]
            elif isinstance(value, tuple):
                value = list(value)
            values[spec.name] = value
        return values


_RATES = (
    "error_rate",
    "throttle_rate",
    "timeout_rate",
    "reset_rate",
    "malformed_rate",
    "late_rate",
)


class Faults:
    """Thread-safe holder of the fault settings; ``decide`` picks the fault for one call."""

    def __init__(self, settings: FaultSettings | None = None, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._random = random.Random(seed)  # noqa: S311  (fault injection, not security)

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    @property
    def latency_seconds(self) -> float:
        return self._settings.latency_ms / 1000

    def reset(self, settings: FaultSettings | None = None) -> None:
        with self._lock:
            self._settings = settings or FaultSettings()

    def update(self, changes: Mapping[str, Any]) -> FaultSettings:
        """Apply a partial update (the JSON of ``POST /_emulator/faults``)."""
        with self._lock:
            self._settings = apply_changes(self._settings, changes)
            if "seed" in changes:
                self._random.seed(changes["seed"])
            return self._settings

    def decide(self, operation: str) -> Fault | None:
        """The fault to inflict on this call of ``operation``, if any."""
        with self._lock:
            settings = self._settings
            for index, item in enumerate(settings.script):
                if item.operation not in (None, operation):
                    continue
                item.times -= 1
                if item.times <= 0:
                    del settings.script[index]
                return self._fault(item.kind, settings, item.status, item.seconds)
            if settings.operations is not None and operation not in settings.operations:
                return None
            for name in _RATES:
                rate = getattr(settings, name)
                if rate > 0 and self._random.random() < rate:
                    return self._fault(name.removesuffix("_rate"), settings, None, None)
            return None

    def _fault(
        self, kind: str, settings: FaultSettings, status: int | None, seconds: float | None
    ) -> Fault:
        if kind == "error":
            chosen = status or self._random.choice(settings.error_statuses)
            return Fault("error", status=chosen, retry_after=settings.retry_after)
        if kind == "throttle":
            return Fault("throttle", status=429, retry_after=settings.retry_after)
        if kind == "timeout":
            return Fault("timeout", seconds=seconds or settings.timeout_seconds)
        if kind == "late":
            return Fault("late", seconds=seconds or settings.late_seconds)
        return Fault(kind)


def apply_changes(settings: FaultSettings, changes: Mapping[str, Any]) -> FaultSettings:
    """A new settings object with ``changes`` applied; raises :class:`FaultConfigError`."""
    if not isinstance(changes, Mapping):
        raise FaultConfigError("Le corps doit être un objet JSON.")
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("seed", "expire_tokens"):
            continue
        if key in _RATES:
            values[key] = _rate(key, value)
        elif key in ("latency_ms", "retry_after"):
            values[key] = _non_negative_int(key, value)
        elif key in ("timeout_seconds", "late_seconds"):
            values[key] = _non_negative_float(key, value)
        elif key == "error_statuses":
            if not isinstance(value, list) or not value or not all(v in (500, 503) for v in value):
                raise FaultConfigError("error_statuses : liste de 500 et/ou 503.")
            values[key] = tuple(value)
        elif key == "operations":
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise FaultConfigError("operations : liste de noms d'opérations, ou null.")
            values[key] = frozenset(value) if value is not None else None
        elif key == "script":
            values[key] = _script(value)
        else:
            raise FaultConfigError(f"Réglage de panne inconnu : « {key} ».")
    return replace(settings, **values)


def _rate(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultConfigError(f"{key} : proportion entre 0 et 1.")
    return float(value)


def _non_negative_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultConfigError(f"{key} : entier positif ou nul.")
    return value


def _non_negative_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultConfigError(f"{key} : nombre positif ou nul.")
    return float(value)


def _script(value: Any) -> list[ScriptedFault]:
    if not isinstance(value, list):
        raise FaultConfigError("script : liste de pannes.")
    script = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or item.get("kind") not in KINDS:
            raise FaultConfigError(
                f"script[{index}].kind doit valoir l'une de : {', '.join(KINDS)}."
            )
        unknown = set(item) - {"kind", "operation", "times", "status", "seconds"}
        if unknown:
            raise FaultConfigError(f"script[{index}] : champ inconnu « {sorted(unknown)[0]} ».")
        status = item.get("status")
        if status is not None and status not in (500, 503):
            raise FaultConfigError(f"script[{index}].status doit valoir 500 ou 503.")
        seconds = item.get("seconds")
        script.append(
            ScriptedFault(
                kind=item["kind"],
                operation=item.get("operation"),
                times=_non_negative_int(f"script[{index}].times", item.get("times", 1)) or 1,
                status=status,
                seconds=(
                    _non_negative_float(f"script[{index}].seconds", seconds)
                    if seconds is not None
                    else None
                ),
            )
        )
    return script
