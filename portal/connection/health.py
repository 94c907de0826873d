"""Connection health of Chorus Pro (B5): last success, last error, technical password expiry.

Every client built by :func:`portal.connection.factory.client_from_settings` carries the
observer of :data:`RECORDER` (see :func:`chain`): it writes the outcome of each exchange in
its own short transaction (successes at most once per ``min_success_interval`` per process,
errors always), from any thread, without a request context, and never raises.

:func:`panel` reads what is stored for the Système tab, including the technical password's
expiry date that :mod:`portal.connection.password_expiry` records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from flask import has_app_context
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import clock
from portal.chorus.client import Exchange, Observer
from portal.extensions import db
from portal.settings import chorus as chorus_settings
from portal.settings import store, vat_exemption
from portal.settings.models import Setting
from portal.settings.vat_exemption import VatExemption

logger = logging.getLogger("portal.connection.health")

PREFIX = "chorus.health."
LAST_SUCCESS_AT = PREFIX + "last_success_at"
LAST_SUCCESS_OPERATION = PREFIX + "last_success_operation"
LAST_ERROR_AT = PREFIX + "last_error_at"
LAST_ERROR = PREFIX + "last_error"
LAST_ERROR_OPERATION = PREFIX + "last_error_operation"
PASSWORD_EXPIRES_ON = PREFIX + "password_expires_on"
PASSWORD_CHECKED_AT = PREFIX + "password_expires_on_checked_at"
REMINDER_SENT_FOR = PREFIX + "password_reminder_sent_for"

REMINDER_DAYS = 15
SUCCESS_WRITE_INTERVAL = 30.0
# How long the observer's write waits for a SQLite write lock held by another connection:
# short, because the thread waiting is the one making the Chorus call (the write is dropped).
SQLITE_BUSY_TIMEOUT_MS = 2000
MAX_MESSAGE_LENGTH = 1000


# -- observer -------------------------------------------------------------------------------------


def counts_as_error(exchange: Exchange) -> bool | None:
    """True: a connection problem; False: a success; None: a business refusal (ignored).

    A non-zero ``codeRetour`` on an answered call is Chorus refusing one document: the
    connection works, and the refusal belongs to that document's audit trail (B9).
    """
    if exchange.ok:
        return False
    answered = exchange.http_status is None or exchange.http_status < 400
    if exchange.code_retour not in (None, 0) and answered:
        return None
    return True


class HealthRecorder:
    """Records exchanges in the settings table; successes throttled per process."""

    def __init__(
        self,
        min_success_interval: float = SUCCESS_WRITE_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_success_interval = min_success_interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last_success_write: float | None = None
        self._last_written_ok: bool | None = None

    def reset(self) -> None:
        """Forget the throttling state (tests, or after the settings changed)."""
        with self._lock:
            self._last_success_write = None
            self._last_written_ok = None

    def observer_for(self, engine: Engine) -> Observer:
        """An observer writing through ``engine`` (needs no application context)."""

        def observe(exchange: Exchange) -> None:
            self.record(engine, exchange)

        return observe

    def record(self, engine: Engine, exchange: Exchange) -> None:
        """Store what ``exchange`` says about the connection. Never raises."""
        try:
            verdict = counts_as_error(exchange)
            if verdict is None:
                return
            if verdict:
                self._write_error(engine, exchange)
            else:
                self._write_success(engine, exchange)
        except Exception:  # the Chorus call it observes must go on whatever happens here
            logger.warning("could not record the Chorus connection health", exc_info=True)

    def _write_success(self, engine: Engine, exchange: Exchange) -> None:
        now = self._monotonic()
        with self._lock:
            recent = (
                self._last_written_ok is True
                and self._last_success_write is not None
                and now - self._last_success_write < self.min_success_interval
            )
            if recent:
                return
            self._last_success_write = now
            self._last_written_ok = True
        write_values(
            engine,
            {
                LAST_SUCCESS_AT: clock.utcnow().isoformat(),
                LAST_SUCCESS_OPERATION: exchange.operation,
            },
        )

    def _write_error(self, engine: Engine, exchange: Exchange) -> None:
        with self._lock:
            self._last_written_ok = False
        message = (exchange.message or "Erreur inconnue.")[:MAX_MESSAGE_LENGTH]
        write_values(
            engine,
            {
                LAST_ERROR_AT: clock.utcnow().isoformat(),
                LAST_ERROR: message,
                LAST_ERROR_OPERATION: exchange.operation,
            },
        )


RECORDER = HealthRecorder()


def write_values(engine: Engine, values: Mapping[str, str | None]) -> None:
    """Upsert settings in their own short transaction (one retry after a concurrent insert)."""
    for attempt in (1, 2):
        try:
            _write_once(engine, values)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def _write_once(engine: Engine, values: Mapping[str, str | None]) -> None:
    with Session(engine) as session:
        sqlite = engine.dialect.name == "sqlite"
        previous = None
        if sqlite:
            previous = session.execute(text("PRAGMA busy_timeout")).scalar()
            session.execute(text(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"))
        try:
            for key, value in values.items():
                row = session.get(Setting, key)
                if row is None:
                    session.add(Setting(key=key, value=value))
                else:
                    row.value = value
            session.commit()
        finally:
            session.rollback()
            if sqlite and previous is not None:
                session.execute(text(f"PRAGMA busy_timeout={int(previous)}"))
                session.rollback()


def chain(observer: Observer | None) -> Observer | None:
    """``observer`` preceded by the health recorder (when an application is at hand).

    Called by ``client_from_settings``: the engine is taken now, so the returned observer
    works later from any thread without an application context.
    """
    if not has_app_context():
        return observer
    try:
        engine = db.engine
    except Exception:  # no database configured: nothing to record into
        logger.debug("no database engine for the Chorus health observer", exc_info=True)
        return observer
    health = RECORDER.observer_for(engine)
    if observer is None:
        return health
    caller = observer

    def both(exchange: Exchange) -> None:
        health(exchange)
        caller(exchange)

    return both


# -- panel ----------------------------------------------------------------------------------------


def _datetime(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def parse_date(raw: str | None) -> date | None:
    """A stored date, None when absent or unreadable."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class HealthPanel:
    """What the Système tab shows about the connection (B5)."""

    environment: chorus_settings.Environment
    last_success_at: datetime | None
    last_success_operation: str | None
    last_error_at: datetime | None
    last_error: str | None
    last_error_operation: str | None
    password_expires_on: date | None
    password_checked_at: datetime | None
    today: date
    # The VAT exemption code chosen and whether Chorus still lists it (EVIDENCE.md § 1).
    vat_exemption: VatExemption | None = None

    @property
    def is_production(self) -> bool:
        return self.environment is chorus_settings.Environment.PRODUCTION

    @property
    def environment_label(self) -> str:
        return self.environment.label

    @property
    def days_left(self) -> int | None:
        if self.password_expires_on is None:
            return None
        return (self.password_expires_on - self.today).days

    @property
    def password_warning(self) -> bool:
        """The expiry is :data:`REMINDER_DAYS` days away or less (or past)."""
        return self.days_left is not None and self.days_left <= REMINDER_DAYS

    @property
    def password_expired(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def error_is_stale(self) -> bool:
        """The last error is older than the last success (the connection worked since)."""
        return (
            self.last_error_at is not None
            and self.last_success_at is not None
            and self.last_success_at > self.last_error_at
        )


def panel(today: date | None = None) -> HealthPanel:
    """Current health values, read in one query."""
    values = store.get_many(PREFIX)
    settings = chorus_settings.load()
    return HealthPanel(
        environment=settings.environment,
        last_success_at=_datetime(values.get(LAST_SUCCESS_AT)),
        last_success_operation=values.get(LAST_SUCCESS_OPERATION),
        last_error_at=_datetime(values.get(LAST_ERROR_AT)),
        last_error=values.get(LAST_ERROR),
        last_error_operation=values.get(LAST_ERROR_OPERATION),
        password_expires_on=parse_date(values.get(PASSWORD_EXPIRES_ON)),
        password_checked_at=_datetime(values.get(PASSWORD_CHECKED_AT)),
        today=today or clock.today(),
        vat_exemption=vat_exemption.current(settings),
    )
