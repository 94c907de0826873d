"""Helpers for the Paramètres screens: the Système form as an administrator posts it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from portal.extensions import db
from portal.settings import chorus, store
from tests.factories import csrf_token_from

SYSTEM_URL = "/administration/parametres/systeme"

# The Système form's connection fields: the sandbox, no secret typed.
CONNECTION_FORM: dict[str, Any] = {
    "environment": "sandbox",
    "client_id": "mon-client",
    "client_secret": "",
    "tech_login": "TECH_1@cpro.fr",
    "tech_password": "",
    "supplier_id": "25000001",
    "oauth_url": "",
    "api_url": "",
}
# The whole form: the connection, then the daily run and the VAT exemption.
SYSTEM_FORM: dict[str, Any] = CONNECTION_FORM | {
    "user_id": "",
    "auto_send_enabled": "y",
    "delay_receipts": "30",
    "delay_fee_invoices": "",
    "cutoff_date": "2026-01-31",
    "vat_exemption_code": "",
}


def enable_chorus() -> None:
    store.put_bool(chorus.CHORUS_ENABLED, True)
    db.session.commit()


def post_system(client: FlaskClient, form: dict[str, Any] = SYSTEM_FORM, **changes: Any) -> Any:
    """POST the Système ``form`` with ``changes`` (a ``None`` leaves the field out)."""
    data = {key: value for key, value in (form | changes).items() if value is not None}
    token = csrf_token_from(client.get(SYSTEM_URL).get_data(as_text=True))
    return client.post(SYSTEM_URL, data={"csrf_token": token, **data})
