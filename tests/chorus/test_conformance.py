"""The portal's requests, taken through a strict conformance proxy, carry only Chorus's codes.

A realistic session — B4 lookups, a single send with secondary attachments, a mass send with a
credit note and fee invoices, a status follow-up — runs against an emulator wrapped in
:class:`~tests.chorus.conformance.ConformanceProxy`; each test then checks one family of
coded fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask

from portal.billing.services import store_generated_pdf
from portal.chorus.emulator.server import EmulatorOptions, RunningEmulator, run_in_thread
from portal.connection import services as chorus_services
from portal.extensions import db
from portal.followup import services as followup
from portal.jobs.models import JobKind
from portal.jobs.pool import get_runner
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.chorus.conformance import (
    ATTACHMENT_TYPE_FIELD,
    FALLBACK_ENUMS,
    SUBMIT_PATH,
    VAT_REASON_FIELD,
    ConformanceProxy,
    describe,
    swagger_enums,
)
from tests.sending.conftest import configure_chorus, sendable_contract, sendable_receipt
from tests.sending.test_sending import ged_file, run

HOUR = 3600.0


@pytest.fixture
def proxied(app: Flask, monkeypatch) -> Iterator[tuple[RunningEmulator, ConformanceProxy]]:
    """An emulator of its own behind the proxy, with the portal's settings aimed at it."""
    proxies: list[ConformanceProxy] = []

    def wrap(inner: object) -> ConformanceProxy:
        proxies.append(ConformanceProxy(inner))
        return proxies[-1]

    emulator = run_in_thread(EmulatorOptions(speed=0), middleware=wrap)
    monkeypatch.setitem(app.config, "CHORUS_READ_TIMEOUT", 5.0)
    monkeypatch.setitem(app.config, "CHORUS_CONNECT_TIMEOUT", 2.0)
    configure_chorus(emulator.base_url)
    try:
        yield emulator, proxies[0]
    finally:
        get_runner(app).wait_idle(timeout=60)
        emulator.stop()


def drive_session(app: Flask, emulator: RunningEmulator) -> None:
    """What a broker's office does in a day, every Chorus call through the proxy."""
    assert chorus_services.lookup_supplier_structures().error is None
    assert chorus_services.lookup_bank_choices().error is None
    # The administrator picks the default type of secondary attachments in Chorus's list.
    attachment_types = chorus_services.lookup_attachment_types()
    assert attachment_types.items, attachment_types.error
    store.put(keys.DEFAULT_ATTACHMENT_TYPE, attachment_types.items[0].code)
    db.session.commit()

    contract = sendable_contract()
    original = sendable_receipt(contract, number="Q-CONF-0001")
    first = ged_file(original.client, "Attestation d'assurance 2026.pdf", b"%PDF-1.4 attestation")
    second = ged_file(original.client, "Bon de commande.pdf", b"%PDF-1.4 bon de commande")
    single = run(
        app,
        [original],
        kind=JobKind.SINGLE_SEND,
        secondary_document_ids=[first.id, second.id],
    )
    assert single.succeeded == 1, [i.error_message for i in single.items]

    credit_note = factories.make_refund_receipt(
        number="R-CONF-0001",
        contract=contract,
        original_receipt=original,
    )
    with_vat = factories.make_fee_invoice(client=contract.client, contract=contract)
    without_vat = factories.make_fee_invoice(
        client=contract.client,
        contract=contract,
        vat_rate=Decimal("0"),
        vat_amount=Decimal("0"),
        total=Decimal("500.00"),
    )
    for document in (credit_note, with_vat, without_vat):
        store_generated_pdf(document)
    another = sendable_receipt(contract)
    db.session.commit()
    mass = run(app, [credit_note, another, with_vat, without_vat])
    assert mass.succeeded == 4, [i.error_message for i in mass.items]

    emulator.state.clock.advance(48 * HOUR)
    job = followup.start_status_sync(trigger=followup.MANUAL)
    assert job is not None
    db.session.commit()
    followup.launch(job)
    get_runner(app).wait(job.id, timeout=120)


def test_the_portal_sends_only_codes_of_the_official_swagger_enums(app: Flask, proxied) -> None:
    emulator, proxy = proxied
    drive_session(app, emulator)

    sent = {r.path for r in proxy.recorded}
    assert {SUBMIT_PATH, "/cpro/factures/v1/consulter/historique"} <= sent
    assert len(proxy.bodies(SUBMIT_PATH)) == 5
    assert set(proxy.values(SUBMIT_PATH, "references.typeFacture")) == {"FACTURE", "AVOIR"}
    violations = proxy.enum_violations()
    assert violations == [], describe(violations)


def test_the_vat_exemption_reason_sent_is_a_code_of_the_served_list(app: Flask, proxied) -> None:
    """Waits for item 1 (VAT exemption reason as a code of Chorus's list)."""
    emulator, proxy = proxied
    drive_session(app, emulator)

    assert proxy.values(SUBMIT_PATH, VAT_REASON_FIELD), "no EXONERATION invoice was sent"
    violations = proxy.served_list_violations(VAT_REASON_FIELD)
    assert violations == [], describe(violations)


def test_the_secondary_attachment_types_sent_are_codes_of_the_served_list(
    app: Flask, proxied
) -> None:
    """Waits for item 2 (``recuperer/typespj`` served, a type per attachment)."""
    emulator, proxy = proxied
    drive_session(app, emulator)

    assert len(proxy.values(SUBMIT_PATH, ATTACHMENT_TYPE_FIELD)) == 2
    violations = proxy.served_list_violations(ATTACHMENT_TYPE_FIELD)
    assert violations == [], describe(violations)


def test_the_built_in_lists_are_those_of_the_official_swagger(shared_dir) -> None:
    enums = swagger_enums()
    assert enums is not None
    for path, fields in FALLBACK_ENUMS.items():
        for field, values in fields.items():
            assert enums[path][field] == values, (path, field)


def test_the_proxy_catches_a_code_outside_the_lists(app: Flask, proxied) -> None:
    _emulator, proxy = proxied
    from werkzeug.test import Client

    Client(proxy).post(
        "/cpro/structures/v1/rechercher",
        json={"structure": {"identifiantStructure": "1", "typeIdentifiantStructure": "SIRENE"}},
    )
    [violation] = proxy.enum_violations()
    assert (violation.field, violation.value) == ("structure.typeIdentifiantStructure", "SIRENE")
    assert "SIRET" in violation.allowed
