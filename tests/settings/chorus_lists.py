"""What the tests of the Système tab's choices among Chorus lists share (VAT exemption reason,
default attachment type): a fetched copy of a list, and the smallest valid Système form."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask.testing import FlaskClient

from portal.clock import utcnow
from portal.extensions import db
from portal.settings import chorus, reference_lists, store
from portal.settings.reference_lists import ReferenceItem, ReferenceList
from tests.factories import csrf_token_from

SYSTEM_URL = "/administration/parametres/systeme"


def fetched(name: str, codes: Iterable[tuple[str, str | None]]) -> ReferenceList:
    """A copy of Chorus list ``name`` holding ``codes``, as if read just now."""
    items = tuple(ReferenceItem(code, label) for code, label in codes)
    return ReferenceList(name, items, utcnow())


def enable_chorus_with_list(name: str, codes: Iterable[tuple[str, str | None]]) -> None:
    """S1 on, and list ``name`` stored as read from the current API."""
    store.put_bool(chorus.CHORUS_ENABLED, True)
    reference_lists.save(name, codes, api_url=chorus.load().api_url)
    db.session.commit()


def post_system_form(client: FlaskClient, **changes: Any):
    """Post the Système tab with no code chosen, but for ``changes``."""
    token = csrf_token_from(client.get(SYSTEM_URL).get_data(as_text=True))
    data = {
        "csrf_token": token,
        "environment": "emulator",
        "supplier_id": "25000001",
        "cutoff_date": "2026-01-31",
        "vat_exemption_code": "",
        "default_attachment_type": "",
        **changes,
    }
    return client.post(SYSTEM_URL, data=data)
