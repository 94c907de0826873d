"""Fixtures for sending tests: the emulator, Chorus settings aimed at it, sendable documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask

from portal.billing.services import store_generated_pdf
from portal.chorus.emulator.operations import ATTACHMENT_TYPES
from portal.chorus.emulator.server import RunningEmulator
from portal.chorus.payload import AttachmentRef
from portal.extensions import db
from portal.jobs.pool import get_runner
from portal.sending.payload_input import submission_for
from portal.settings import chorus as keys
from portal.settings import reference_lists, store
from portal.settings.models import RecipientListMember
from tests import factories
from tests.chorus.emulator_fixtures import (  # noqa: F401  (fixtures used by name)
    ATTACHMENT_TYPE,
    BANK_DETAILS_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    SIRET_PAID,
    SUPPLIER_ID,
    SUPPLIER_SERVICE_ID,
    TECH_LOGIN,
    TECH_PASSWORD,
    VAT_EXEMPTION_CODE,
    VAT_EXEMPTION_LABEL,
    chorus_emulator,
    chorus_emulator_server,
    emulator_client,
)


def configure_chorus(base_url: str, **extra: Any) -> None:
    """Store settings that aim the portal at the emulator (committed)."""
    store.put_bool(keys.CHORUS_ENABLED, True)
    store.put(keys.ENVIRONMENT, "emulator")
    store.put(keys.OAUTH_URL, f"{base_url}/api/oauth/token")
    store.put(keys.API_URL, base_url)
    store.put(keys.CLIENT_ID, CLIENT_ID)
    store.put_secret(keys.CLIENT_SECRET, CLIENT_SECRET)
    store.put(keys.TECH_LOGIN, TECH_LOGIN)
    store.put_secret(keys.TECH_PASSWORD, TECH_PASSWORD)
    store.put(keys.SUPPLIER_ID, str(SUPPLIER_ID))
    store.put(keys.VAT_EXEMPTION_CODE, VAT_EXEMPTION_CODE)
    store.put(keys.VAT_EXEMPTION_LABEL, VAT_EXEMPTION_LABEL)
    # The emulator's attachment types, as « Choisir parmi les types de Chorus Pro » stores them.
    reference_lists.save(reference_lists.ATTACHMENT_TYPES, ATTACHMENT_TYPES, api_url=base_url)
    store.put(keys.DEFAULT_ATTACHMENT_TYPE, ATTACHMENT_TYPE)
    store.put_date(keys.CUTOFF_DATE, extra.pop("cutoff", date(2020, 1, 1)))
    for key, value in extra.items():
        store.put(key, value)
    db.session.commit()


@pytest.fixture
def chorus(app: Flask, chorus_emulator: RunningEmulator, monkeypatch) -> Iterator[RunningEmulator]:
    """The emulator, with the portal's settings aimed at it and short timeouts."""
    monkeypatch.setitem(app.config, "CHORUS_READ_TIMEOUT", 2.0)
    monkeypatch.setitem(app.config, "CHORUS_CONNECT_TIMEOUT", 2.0)
    configure_chorus(chorus_emulator.base_url)
    yield chorus_emulator
    get_runner(app).wait_idle(timeout=60)


@pytest.fixture
def chorus_admin(admin):
    db.session.add(RecipientListMember(list_key="chorus_admins", user_id=admin.id))
    db.session.commit()
    return admin


def sendable_contract(**kw: Any):
    """A Chorus-enabled contract of a public client the emulator knows (no special rule)."""
    client = kw.pop("client", None) or factories.make_client(
        siret=SIRET_PAID, name="Commune de Saint-Aubin"
    )
    company = factories.make_company()
    account = factories.make_bank_account(
        company,
        chorus_supplier_service_id=SUPPLIER_SERVICE_ID,
        chorus_bank_details_id=BANK_DETAILS_ID,
    )
    values: dict[str, Any] = {
        "client": client,
        "company": company,
        "bank_account": account,
        "chorus_service_code": "FINANCES",
    }
    values.update(kw)
    return factories.make_contract(**values)


def sendable_receipt(contract=None, **kw: Any):
    receipt = factories.make_receipt(contract=contract or sendable_contract(), **kw)
    store_generated_pdf(receipt)
    db.session.commit()
    return receipt


def submit_elsewhere(chorus: RunningEmulator, document: Any) -> None:
    """Submit the document's number straight to the emulator, as someone else would have done.

    Chorus then refuses the portal's own submission of that number as a duplicate.
    """
    with emulator_client(chorus) as client:
        uploaded = client.upload_attachment(b"%PDF-1.4", "x.pdf", "application/pdf")
        client.submit_invoice(
            submission_for(
                document,
                settings=keys.load(),
                invoice_date=document.entered_on,
                main_attachment=AttachmentRef(uploaded.piece_jointe_id, "x"),
            )
        )
