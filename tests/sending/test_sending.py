"""Sending against the emulator: single with GED attachments, mass, refusals, faults (B7)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portal import storage
from portal.dematerialization.models import ChorusExchange, ChorusStatusEvent
from portal.extensions import db
from portal.jobs import retries
from portal.jobs.models import ItemState, Job, JobKind
from portal.jobs.pool import get_runner
from portal.models_base import ChorusState
from portal.notifications.models import Notification
from portal.portfolio.models import ClientDocument
from portal.sending import services as sending
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.chorus.emulator_fixtures import ATTACHMENT_TYPE
from tests.sending.conftest import (
    SIRET_PAID,
    SUPPLIER_SERVICE_ID,
    sendable_contract,
    sendable_receipt,
    submit_elsewhere,
)


def run(app: Flask, documents, *, kind=JobKind.MASS_SEND, user=None, **kw) -> Job:
    job = sending.start_send(documents, kind=kind, user=user, **kw)
    db.session.commit()
    sending.launch(job)
    get_runner(app).wait(job.id, timeout=120)
    db.session.expire_all()
    return db.session.get(Job, job.id)


def single_send(app: Flask, receipt, user, attachments: list[ClientDocument], **kw) -> Job:
    """``receipt`` sent alone by ``user`` with ``attachments`` from the client's GED."""
    ids = [attachment.id for attachment in attachments]
    return run(
        app, [receipt], kind=JobKind.SINGLE_SEND, user=user, secondary_document_ids=ids, **kw
    )


def ged_file(client, name: str, content: bytes) -> ClientDocument:
    stored = storage.save_bytes(storage.GED, content, name.rsplit(".", 1)[-1])
    document = ClientDocument(
        client=client,
        original_name=name,
        stored_name=stored.stored_name,
        mime_type="application/pdf",
        size_bytes=stored.size,
        sha256=stored.sha256,
    )
    db.session.add(document)
    db.session.commit()
    return document


def test_s11_a_single_send_with_two_ged_attachments_is_recorded_and_notified(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    first = ged_file(receipt.client, "Attestation d'assurance 2026.pdf", b"%PDF-1.4 attestation")
    second = ged_file(receipt.client, "Bon de commande.pdf", b"%PDF-1.4 bon de commande")

    job = single_send(app, receipt, chorus_admin, [first, second])

    assert (job.state, job.succeeded, job.failed) == ("done", 1, 0)
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.SENT
    assert receipt.chorus_invoice_id == job.items[0].chorus_invoice_id
    assert receipt.chorus_status == "DEPOSEE"
    assert receipt.chorus_deposited_at is not None
    stats = chorus.state.stats_snapshot()
    assert stats["submissions"] == {receipt.number: 1}
    assert stats["attachments"] == 3
    invoice = chorus.state.invoices[receipt.chorus_invoice_id]
    assert invoice.numero == receipt.number
    notes = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.level) for n in notes] == [(chorus_admin.id, "success")]
    assert notes[0].report_id is None  # a successful single send is notified without report
    assert job.report is not None  # but the job keeps it
    operations = [
        e.operation
        for e in db.session.scalars(
            select(ChorusExchange).where(ChorusExchange.document_id == receipt.id)
        )
    ]
    assert operations.count("transverses/ajouter/fichier") == 3
    assert "factures/soumettre" in operations
    events = db.session.scalars(select(ChorusStatusEvent)).all()
    assert [e.status_code for e in events] == ["DEPOSEE"]


def test_each_attachment_goes_with_its_chosen_type_and_an_unchosen_one_with_the_default(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    first = ged_file(receipt.client, "Bon de commande.pdf", b"%PDF-1.4 bon de commande")
    second = ged_file(receipt.client, "Annexe.pdf", b"%PDF-1.4 annexe")

    job = single_send(
        app, receipt, chorus_admin, [first, second], secondary_attachment_types={first.id: "BDC"}
    )

    assert job.succeeded == 1, job.items[0].error_message
    assert job.options["secondary_attachment_types"] == {str(first.id): "BDC"}
    db.session.refresh(receipt)
    sent = chorus.state.invoices[receipt.chorus_invoice_id].body["pieceJointeComplementaire"]
    assert [
        (p["pieceJointeComplementaireDesignation"], p["pieceJointeComplementaireType"])
        for p in sent
    ] == [("Bon de commande.pdf", "BDC"), ("Annexe.pdf", ATTACHMENT_TYPE)]


def test_without_a_default_an_untyped_attachment_fails_before_any_upload(
    app: Flask, chorus, chorus_admin
) -> None:
    store.put(keys.DEFAULT_ATTACHMENT_TYPE, None)
    db.session.commit()
    receipt = sendable_receipt()
    annex = ged_file(receipt.client, "Annexe.pdf", b"%PDF-1.4 annexe")

    job = single_send(app, receipt, chorus_admin, [annex])

    item = job.items[0]
    assert (item.state, item.error_code) == (ItemState.FAILED, "DONNEES_INCOMPLETES")
    assert "« Annexe.pdf » n'a pas de type Chorus Pro" in item.error_message
    assert chorus.state.stats_snapshot()["attachments"] == 0
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT


def test_s13_a_mass_send_reports_every_document_with_its_outcome(
    app: Flask, chorus, chorus_admin
) -> None:
    contract = sendable_contract()
    good = [sendable_receipt(contract) for _ in range(3)]
    without_notice = factories.make_receipt(contract=contract)  # no PDF
    already = sendable_receipt(contract)
    already.chorus_state = ChorusState.SENT
    already.chorus_invoice_id = 999
    duplicate = sendable_receipt(contract)
    db.session.commit()
    # Someone already submitted this number to Chorus by other means: Chorus refuses it.
    submit_elsewhere(chorus, duplicate)

    job = run(app, [*good, without_notice, already, duplicate], user=chorus_admin)

    outcomes = {item.document_number: item for item in job.items}
    assert all(outcomes[r.number].state == ItemState.SUCCEEDED for r in good)
    assert outcomes[without_notice.number].state == ItemState.SKIPPED
    assert outcomes[without_notice.number].error_code == "S9_NO_DUE_NOTICE"
    assert outcomes[already.number].state == ItemState.SKIPPED
    refused = outcomes[duplicate.number]
    assert refused.state == ItemState.FAILED
    assert refused.error_code and refused.error_message and refused.explanation
    assert (job.succeeded, job.skipped, job.failed, job.total) == (3, 2, 1, 6)
    db.session.refresh(duplicate)
    assert duplicate.chorus_state == ChorusState.NOT_SENT  # sendable again
    report = storage.read_bytes(storage.REPORTS, job.report.stored_name).decode("utf-8-sig")
    for receipt in [*good, without_notice, already, duplicate]:
        assert receipt.number in report
    note = db.session.scalars(select(Notification)).one()
    assert note.report_id == job.report_id


def test_s13_documents_locked_by_a_running_job_are_skipped_by_another(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    first = sending.start_send([receipt], kind=JobKind.MASS_SEND, user=chorus_admin)
    db.session.commit()
    second = sending.start_send([receipt], kind=JobKind.MASS_SEND, user=chorus_admin)
    db.session.commit()
    assert [i.state for i in first.items] == ["pending"]
    assert [(i.state, i.error_code) for i in second.items] == [("skipped", "S9_IN_PROGRESS")]
    for job in (first, second):
        sending.launch(job)
    get_runner(app).wait(first.id, timeout=60)
    get_runner(app).wait(second.id, timeout=60)
    assert chorus.state.stats_snapshot()["submissions"] == {receipt.number: 1}


def test_b7_an_answer_lost_after_chorus_accepted_is_reconciled_not_resent(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    chorus.state.faults.update(
        {"script": [{"kind": "late", "operation": "factures/soumettre", "seconds": 4}]}
    )
    job = run(app, [receipt], user=chorus_admin)
    assert job.items[0].state == ItemState.SUCCEEDED
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.SENT
    stats = chorus.state.stats_snapshot()
    assert stats["submissions"] == {receipt.number: 1}
    assert stats["duplicates"] == []
    outcomes = {
        e.outcome
        for e in db.session.scalars(
            select(ChorusExchange).where(ChorusExchange.operation == "factures/soumettre")
        )
    }
    assert "unknown" in outcomes


def test_b7_under_every_kind_of_fault_every_document_is_sent_once_without_a_person(
    app: Flask, chorus, chorus_admin
) -> None:
    contract = sendable_contract()
    receipts = [sendable_receipt(contract) for _ in range(24)]
    # Issue 11: transient failures are retried by the job (immediately here, and after the
    # server's Retry-After), always after a look-up when a submission may have got through.
    store.put(retries.ATTEMPTS, "10")
    store.put(retries.FIRST_DELAY_SECONDS, "0")
    db.session.commit()
    chorus.state.faults.update(
        {
            "error_rate": 0.15,
            "throttle_rate": 0.05,
            "reset_rate": 0.05,
            "malformed_rate": 0.05,
            "late_rate": 0.05,
            "late_seconds": 3,
            "timeout_rate": 0.03,
            "timeout_seconds": 3,
        }
    )
    job = run(app, receipts, user=chorus_admin)
    chorus.state.faults.reset()
    get_runner(app).sweep()
    db.session.expire_all()

    stats = chorus.state.stats_snapshot()
    assert stats["duplicates"] == []
    assert all(count == 1 for count in stats["invoices_created"].values())
    outcomes = {i.document_number: (i.state, i.error_code, i.error_message) for i in job.items}
    for receipt in receipts:
        db.session.refresh(receipt)
        assert receipt.chorus_state == ChorusState.SENT, outcomes[receipt.number]
        assert stats["invoices_created"].get(receipt.number) == 1
    assert db.session.get(Job, job.id).state == "done"


def test_b7_an_expired_token_is_renewed_transparently(app: Flask, chorus, chorus_admin) -> None:
    receipt = sendable_receipt()
    chorus.state.expire_tokens()
    job = run(app, [receipt], user=chorus_admin)
    assert job.items[0].state == ItemState.SUCCEEDED


def test_b3_a_structure_requiring_an_engagement_number_is_caught_before_sending(
    app: Flask, chorus, chorus_admin
) -> None:
    # TECHNIQUE of this structure requires an engagement number (see the directory).
    contract = sendable_contract(chorus_service_code="TECHNIQUE", chorus_engagement_number=None)
    receipt = sendable_receipt(contract)
    job = run(app, [receipt], user=chorus_admin)
    item = job.items[0]
    assert item.state == ItemState.SKIPPED
    assert item.error_code == "B3_SERVICE_ENGAGEMENT_REQUIRED"
    assert chorus.state.stats_snapshot()["submissions"] == {}
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT


def test_s11_a_failed_single_send_notifies_with_the_csv_report(
    app: Flask, chorus, chorus_admin, single_attempt
) -> None:
    receipt = sendable_receipt()
    chorus.state.faults.update(
        {"script": [{"kind": "error", "operation": "factures/soumettre", "status": 503}]}
    )
    job = run(app, [receipt], kind=JobKind.SINGLE_SEND, user=chorus_admin)
    assert job.items[0].state == ItemState.FAILED
    note = db.session.scalars(select(Notification)).one()
    assert note.level == "danger" and note.report_id is not None
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT


def test_siret_of_the_paid_structure_is_the_emulator_default() -> None:
    assert SIRET_PAID == "21588139298698"


@pytest.mark.parametrize("http_status", [200, 400])
def test_b8_a_refusal_answered_as_http_200_or_400_fails_the_document_the_same_way(
    app: Flask, chorus, chorus_admin, http_status
) -> None:
    chorus.state.refusal_http_status = http_status
    # Bank coordinates that are not the supplier's: Chorus refuses the invoice.
    company = factories.make_company()
    account = factories.make_bank_account(
        company, chorus_supplier_service_id=SUPPLIER_SERVICE_ID, chorus_bank_details_id=1
    )
    receipt = sendable_receipt(sendable_contract(company=company, bank_account=account))

    job = run(app, [receipt], user=chorus_admin)

    [item] = job.items
    assert (item.state, item.error_code) == (ItemState.FAILED, "20113")
    assert "coordonnées bancaires ne sont pas valides" in item.error_message
    assert item.explanation
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT  # sendable again once fixed
    statuses = chorus.state.stats_snapshot()["http_statuses"]
    assert statuses["factures/soumettre:" + str(http_status)] == 1
    assert chorus.state.stats_snapshot()["submissions"] == {receipt.number: 1}  # never retried
