"""Re-issue with Chorus Pro (the emulator): the copy of a rejected document goes under its new
number, and the rejected number is spent for good (EVIDENCE.md § 5)."""

from __future__ import annotations

from flask import Flask

from portal.billing import services
from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobItem, JobKind
from portal.sending.handler import SendHandler
from tests.followup.conftest import SIRET_REJECTED, advance, receipt_for, send, sync


def test_the_copy_of_a_rejected_receipt_reaches_chorus_under_its_new_number(
    app: Flask, chorus, chorus_admin, gestionnaire
) -> None:
    original = receipt_for(SIRET_REJECTED, number="Q2026-0500")
    send(app, original)
    advance(chorus, 48)
    sync(app, only=[original])
    db.session.refresh(original)
    assert original.chorus_status == "REJETEE"

    copy = services.reissue(original, "Q2026-0500-R1", user=gestionnaire)
    db.session.commit()
    send(app, copy)

    db.session.refresh(copy)
    assert copy.chorus_state == "sent"
    assert chorus.state.invoices[copy.chorus_invoice_id].numero == "Q2026-0500-R1"
    assert len(chorus.state.invoices) == 2


def test_b7_a_lost_answer_whose_invoice_was_since_rejected_counts_as_received(
    app: Flask, chorus, chorus_admin
) -> None:
    # The number is spent once Chorus has it, rejected or not: reconciliation must not
    # declare the document resendable (the resend would be a refused duplicate).
    receipt = receipt_for(SIRET_REJECTED, number="Q2026-0600")
    send(app, receipt)
    advance(chorus, 48)
    job = Job(kind=JobKind.MASS_SEND)
    item = JobItem(
        job=job, document_type="receipt", document_id=receipt.id, document_number="Q2026-0600"
    )
    db.session.add_all([job, item])
    db.session.commit()

    outcome = SendHandler().reconcile(job, item)

    assert outcome is not None and outcome.state == ItemState.SUCCEEDED
    assert (outcome.chorus_invoice_id, outcome.chorus_status) == (
        receipt.chorus_invoice_id,
        "REJETEE",
    )
