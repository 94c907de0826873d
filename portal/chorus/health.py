"""Connection health of Chorus Pro (B5): last success, last error, technical password expiry.

Every client built by :func:`portal.chorus.factory.client_from_settings` carries the
observer of :data:`RECORDER` (see :func:`chain`): it writes the outcome of each exchange in
its own short transaction (successes at most once per ``min_success_interval`` per process,
errors always), from any thread, without a request context, and never raises.

The technical account's password expires every 424 days; its expiry date is read from
``structures/consulter`` on the supplier's own structure by the connection test and by the
daily :func:`check_password_expiry`, which reminds the *Administrateurs Chorus* once per
expiry date when it is :data:`REMINDER_DAYS` days away or less.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context, has_request_context, url_for
from sqlalchemy import CursorResult, Engine, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import clock
from portal.chorus.client import ChorusClient, Exchange, Observer
from portal.chorus.errors import ChorusError
from portal.extensions import db
from portal.settings import chorus as chorus_settings
from portal.settings import store, vat_exemption
from portal.settings.models import Setting
from portal.settings.vat_exemption import VatExemption

logger = logging.getLogger("portal.chorus.health")

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


def _date(raw: str | None) -> date | None:
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
        password_expires_on=_date(values.get(PASSWORD_EXPIRES_ON)),
        password_checked_at=_datetime(values.get(PASSWORD_CHECKED_AT)),
        today=today or clock.today(),
        vat_exemption=vat_exemption.current(settings),
    )


# -- technical password expiry --------------------------------------------------------------------


def record_password_expiry(expires_on: date) -> None:
    """Remember the expiry date read from Chorus and when it was read. Flushes."""
    store.put_date(PASSWORD_EXPIRES_ON, expires_on)
    store.put(PASSWORD_CHECKED_AT, clock.utcnow().isoformat())
    db.session.flush()


def stored_password_expiry() -> date | None:
    return _date(store.get(PASSWORD_EXPIRES_ON))


def reminder_due(expires_on: date | None, today: date, sent_for: date | None) -> bool:
    """Pure: remind when the expiry is close and not yet reminded for this date."""
    if expires_on is None:
        return False
    return (expires_on - today).days <= REMINDER_DAYS and sent_for != expires_on


def _claim_reminder(expires_on: date) -> bool:
    """Mark the reminder for ``expires_on`` sent unless someone already did: a compare-and-set
    whose row count is checked, so two processes checking at once send it once. Flushes."""
    value = expires_on.isoformat()
    if db.session.get(Setting, REMINDER_SENT_FOR) is None:
        db.session.add(Setting(key=REMINDER_SENT_FOR, value=value))
        db.session.flush()  # a concurrent insert fails here on the primary key
        return True
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]  # an UPDATE
        update(Setting)
        .where(
            Setting.key == REMINDER_SENT_FOR,
            Setting.value.is_(None) | (Setting.value != value),
        )
        .values(value=value, updated_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return bool(result.rowcount)


def _settings_url() -> str:
    if has_request_context():
        return url_for("settings.system")
    with current_app.test_request_context("/"):
        return url_for("settings.system")


def remind_if_due(expires_on: date | None, today: date | None = None) -> bool:
    """Notify the Administrateurs Chorus once per expiry date; True when sent. Flushes."""
    from portal.notifications.services import notify
    from portal.settings.recipients import CHORUS_ADMINS

    today = today or clock.today()
    if expires_on is None or not reminder_due(
        expires_on, today, _date(store.get(REMINDER_SENT_FOR))
    ):
        return False
    if not _claim_reminder(expires_on):
        return False
    days = (expires_on - today).days
    when = expires_on.strftime("%d/%m/%Y")
    if days < 0:
        title = f"Mot de passe du compte technique Chorus Pro expiré le {when}"
        delay = f"a expiré le {when}"
    elif days == 0:
        title = "Mot de passe du compte technique Chorus Pro : il expire aujourd'hui"
        delay = f"expire aujourd'hui ({when})"
    else:
        title = f"Mot de passe du compte technique Chorus Pro : expiration le {when}"
        delay = f"expire dans {days} jour{'s' if days > 1 else ''}, le {when}"
    body = (
        f"Le mot de passe du compte technique Chorus Pro {delay}. Changez-le dans Chorus Pro "
        "(il expire tous les 424 jours), puis enregistrez le nouveau mot de passe dans "
        "Administration › Paramètres › Système, sans quoi les envois vers Chorus Pro échoueront."
    )
    notify(
        CHORUS_ADMINS,
        title,
        body,
        level="danger" if days <= 0 else "warning",
        link_url=_settings_url(),
    )
    return True


@dataclass(frozen=True)
class ExpiryCheck:
    """Outcome of :func:`check_password_expiry`."""

    expires_on: date | None
    days_left: int | None
    reminded: bool
    # The date was read from Chorus just now (False: the stored one was used, if any).
    read_from_chorus: bool = False
    # French reason when Chorus could not be asked.
    error: str | None = None


def check_password_expiry(
    client: ChorusClient | None = None, today: date | None = None
) -> ExpiryCheck:
    """Daily check (B5): read the password expiry from Chorus, remind if due. Commits.

    Does nothing while dematerialization is off (S1). When Chorus cannot be asked, the
    date read last time still triggers the reminder.
    """
    from portal.chorus.factory import client_from_settings

    today = today or clock.today()
    settings = chorus_settings.load()
    if not settings.enabled:
        return ExpiryCheck(None, None, False, error="La dématérialisation est désactivée.")
    error: str | None = None
    expires_on: date | None = None
    read = False
    if settings.supplier_id is None:
        error = "L'identifiant fournisseur n'est pas renseigné."
    else:
        own_client = client is None
        try:
            client = client or client_from_settings(settings)
            try:
                detail = client.get_structure(settings.supplier_id)
            finally:
                if own_client:
                    client.close()
        except ChorusError as failure:
            error = str(failure)
        else:
            if detail.password_expires_on is None:
                error = "Chorus Pro n'a pas indiqué la date d'expiration du mot de passe."
            else:
                expires_on = detail.password_expires_on
                read = True
                record_password_expiry(expires_on)
    if expires_on is None:
        expires_on = stored_password_expiry()
    reminded = remind_if_due(expires_on, today)
    db.session.commit()
    if error:
        logger.warning("Chorus password expiry check: %s", error)
    days_left = (expires_on - today).days if expires_on is not None else None
    return ExpiryCheck(expires_on, days_left, reminded, read_from_chorus=read, error=error)
