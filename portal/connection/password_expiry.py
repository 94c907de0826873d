"""The technical account's password expiry (B5): read from Chorus, stored, reminded.

The password expires every 424 days; its expiry date is read from ``structures/consulter``
on the supplier's own structure by the connection test and by the daily
:func:`check_password_expiry`, which reminds the *Administrateurs Chorus* once per expiry
date when it is :data:`~portal.connection.health.REMINDER_DAYS` days away or less. The
date is stored with the connection health (:mod:`portal.connection.health`), whose panel
shows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy import CursorResult, update

from portal import clock, transactions
from portal.chorus.client import ChorusClient
from portal.chorus.errors import ChorusError
from portal.connection.factory import client_from_settings
from portal.connection.health import (
    PASSWORD_CHECKED_AT,
    PASSWORD_EXPIRES_ON,
    REMINDER_DAYS,
    REMINDER_SENT_FOR,
    parse_date,
)
from portal.extensions import db
from portal.settings import chorus as chorus_settings
from portal.settings import store
from portal.settings.models import Setting

logger = logging.getLogger("portal.connection.password_expiry")


def record_password_expiry(expires_on: date) -> None:
    """Remember the expiry date read from Chorus and when it was read. Flushes."""
    store.put_date(PASSWORD_EXPIRES_ON, expires_on)
    store.put(PASSWORD_CHECKED_AT, clock.utcnow().isoformat())
    db.session.flush()


def stored_password_expiry() -> date | None:
    return parse_date(store.get(PASSWORD_EXPIRES_ON))


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
        expires_on, today, parse_date(store.get(REMINDER_SENT_FOR))
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
    transactions.commit()
    if error:
        logger.warning("Chorus password expiry check: %s", error)
    days_left = (expires_on - today).days if expires_on is not None else None
    return ExpiryCheck(expires_on, days_left, reminded, read_from_chorus=read, error=error)
