"""The emulator's memory: tokens, attachments, invoices, simulated clock, faults, statistics.

Everything lives in one :class:`EmulatorState` guarded by one lock (calls are short; the
sleeps of latency and faults happen outside it). Invoice statuses are not stored: they are
computed from the deposit instant, the recipient's scenario and the simulated clock, so
advancing the clock moves every invoice along its path at once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from portal.chorus.emulator.directory import Directory, PublicStructure, Supplier
from portal.chorus.emulator.faults import Faults

DEFAULT_TOKEN_LIFETIME = 3600
DEFAULT_SPEED = 1440.0  # one simulated day per real minute
# Business refusals (non-zero codeRetour) answer HTTP 200 by default; the real API may answer
# them as HTTP 400 with the same body (EVIDENCE.md § 3), which this setting switches to.
REFUSAL_HTTP_STATUSES = (200, 400)
FIRST_INVOICE_ID = 7_000_001
FIRST_ATTACHMENT_ID = 9_000_001

ROUTING: tuple[tuple[str, float], ...] = (
    ("DEPOSEE", 0),
    ("EN_COURS_ACHEMINEMENT", 1),
    ("MISE_A_DISPOSITION", 2),
)
# Status path of each scenario: (status, simulated hours after the deposit).
SCENARIO_STEPS: dict[str, tuple[tuple[str, float], ...]] = {
    "paid": (
        *ROUTING,
        ("PRISE_EN_COMPTE_DESTINATAIRE", 24),
        ("SERVICE_FAIT", 48),
        ("MANDATEE", 96),
        ("MISE_EN_PAIEMENT", 144),
    ),
    "mandated_only": (
        *ROUTING,
        ("PRISE_EN_COMPTE_DESTINATAIRE", 24),
        ("SERVICE_FAIT", 48),
        ("MANDATEE", 96),
    ),
    "rejected": (*ROUTING, ("REJETEE", 48)),
    "suspended": (*ROUTING, ("PRISE_EN_COMPTE_DESTINATAIRE", 24), ("SUSPENDUE", 48)),
    "recycle": (("DEPOSEE", 0), ("EN_COURS_ACHEMINEMENT", 1), ("A_RECYCLER", 2)),
}
RETURNED_STATUSES = frozenset({"REJETEE", "SUSPENDUE", "A_RECYCLER"})
DEFAULT_COMMENTS = {
    "REJETEE": "Facture rejetée par le destinataire.",
    "SUSPENDUE": "Facture suspendue : pièce justificative manquante.",
    "A_RECYCLER": "Données d'acheminement erronées.",
}


class SimClock:
    """Simulated time: runs ``speed`` times faster than real time, and can be advanced."""

    def __init__(
        self,
        speed: float = DEFAULT_SPEED,
        *,
        start: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base = start or datetime.now(UTC)
        self._mono0 = monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        elapsed = (self._monotonic() - self._mono0) * self._speed
        return self._base + timedelta(seconds=elapsed)

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._base, self._mono0, self._speed = self._now(), self._monotonic(), float(speed)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._base += timedelta(seconds=seconds)
            return self._now()


@dataclass
class Attachment:
    id: int
    owner: str  # technical account login
    name: str
    extension: str
    mime_type: str
    size: int


@dataclass
class Invoice:
    id: int
    owner: str
    supplier: Supplier
    recipient: PublicStructure
    numero: str
    type_facture: str
    date_facture: date
    deposited_at: datetime
    body: dict[str, Any]
    attachment_ids: tuple[int, ...]
    amounts: dict[str, Decimal]

    @property
    def service_code(self) -> str | None:
        value = self.body.get("destinataire", {}).get("codeServiceExecutant")
        return str(value) if value else None

    def history(self, now: datetime) -> list[tuple[str, datetime, str | None]]:
        """Statuses reached by ``now``, oldest first: (code, instant, recipient comment)."""
        reached: list[tuple[str, datetime, str | None]] = []
        for code, hours in SCENARIO_STEPS[self.recipient.scenario]:
            at = self.deposited_at + timedelta(hours=hours)
            if at > now and reached:
                break
            comment = None
            if code in RETURNED_STATUSES:
                comment = self.recipient.comment or DEFAULT_COMMENTS[code]
            reached.append((code, at, comment))
        return reached

    def status(self, now: datetime) -> tuple[str, datetime, str | None]:
        return self.history(now)[-1]


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    submissions: Counter[str] = field(default_factory=Counter)  # soumettre calls per number
    created: Counter[str] = field(default_factory=Counter)  # invoices created per number
    faults: Counter[str] = field(default_factory=Counter)


class EmulatorState:
    """All the emulator's data. Methods that change it hold :attr:`lock`."""

    def __init__(
        self,
        directory: Directory,
        *,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
        speed: float = DEFAULT_SPEED,
        faults: Faults | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        refusal_http_status: int = 200,
    ) -> None:
        self.lock = threading.RLock()
        self.directory = directory
        self.token_lifetime = token_lifetime
        self.refusal_http_status = refusal_http_status
        self.clock = SimClock(speed, monotonic=monotonic)
        self.faults = faults or Faults()
        self.stats = Stats()
        # Set by reset/stop so that sleeping fault threads wake up and give up.
        self.wake = threading.Event()
        self._monotonic = monotonic
        self._tokens: dict[str, float] = {}
        self.attachments: dict[int, Attachment] = {}
        self.invoices: dict[int, Invoice] = {}
        self.by_number: dict[tuple[int, str], list[Invoice]] = {}
        self.by_numero: dict[str, list[Invoice]] = {}
        self._next_attachment = FIRST_ATTACHMENT_ID
        self._next_invoice = FIRST_INVOICE_ID

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self) -> tuple[str, int]:
        token = "emu-" + secrets.token_urlsafe(24)
        with self.lock:
            self._tokens[token] = self._monotonic() + self.token_lifetime
        return token, self.token_lifetime

    def token_valid(self, token: str) -> bool:
        expires_at = self._tokens.get(token)
        return expires_at is not None and self._monotonic() < expires_at

    def expire_tokens(self) -> int:
        with self.lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count

    # -- accounts -----------------------------------------------------------------------------

    def account_valid(self, login: str, password: str) -> bool:
        expected = self.directory.account_password(login)
        return expected is not None and secrets.compare_digest(expected, password)

    def client_valid(self, client_id: str, client_secret: str) -> bool:
        expected = self.directory.client_secret(client_id)
        return expected is not None and secrets.compare_digest(expected, client_secret)

    # -- storage ------------------------------------------------------------------------------

    def add_attachment(
        self, owner: str, name: str, extension: str, mime_type: str, size: int
    ) -> Attachment:
        with self.lock:
            attachment = Attachment(self._next_attachment, owner, name, extension, mime_type, size)
            self._next_attachment += 1
            self.attachments[attachment.id] = attachment
            return attachment

    def new_invoice_id(self) -> int:
        with self.lock:
            identifier = self._next_invoice
            self._next_invoice += 1
            return identifier

    def store_invoice(self, invoice: Invoice) -> None:
        with self.lock:
            self.invoices[invoice.id] = invoice
            # Numbers are one supplier numbering space whatever their case (EVIDENCE.md § 5).
            key = (invoice.supplier.id_structure_cpp, invoice.numero.casefold())
            self.by_number.setdefault(key, []).append(invoice)
            self.by_numero.setdefault(invoice.numero, []).append(invoice)
            self.stats.created[invoice.numero] += 1

    # -- control ------------------------------------------------------------------------------

    def reset(self, *, tokens: bool = False) -> None:
        """Forget invoices, attachments, statistics and faults (tokens only if asked)."""
        self.wake.set()
        with self.lock:
            self.attachments.clear()
            self.invoices.clear()
            self.by_number.clear()
            self.by_numero.clear()
            self.stats = Stats()
            self.faults.reset()
            self._next_attachment = FIRST_ATTACHMENT_ID
            self._next_invoice = FIRST_INVOICE_ID
            if tokens:
                self._tokens.clear()
            self.wake = threading.Event()

    def stats_snapshot(self) -> dict[str, Any]:
        with self.lock:
            stats = self.stats
            return {
                "calls": dict(sorted(stats.calls.items())),
                "http_statuses": dict(sorted(stats.statuses.items())),
                "faults": dict(sorted(stats.faults.items())),
                "submissions": dict(sorted(stats.submissions.items())),
                "invoices_created": dict(sorted(stats.created.items())),
                "duplicates": sorted(n for n, count in stats.created.items() if count > 1),
                "invoices": len(self.invoices),
                "attachments": len(self.attachments),
                "simulated_now": self.clock.now().isoformat(),
            }
