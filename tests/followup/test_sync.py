"""Status follow-up against the emulator (B1): every scenario, notifications once, faults."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import func, select

from portal.billing.models import Payment
from portal.dematerialization.models import ChorusExchange, ChorusStatusEvent
from portal.extensions import db
from portal.followup import queries, rules, services
from portal.jobs.models import ItemState, JobKind
from portal.notifications.models import Notification
from tests.followup.conftest import (
    COMMENTS,
    SIRET_MANDATED_ONLY,
    SIRET_PAID,
    SIRET_RECYCLE,
    SIRET_REJECTED,
    SIRET_SUSPENDED,
    advance,
    frozen,
    paris,
    receipt_for,
    send,
    sync,
    wait,
)


def statuses(document) -> list[str]:
    return [e.status_code for e in queries.history_of("receipt", document.id)]


def notifications(**where) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.session.scalars(query))


def test_b1_statuses_advance_along_the_normal_path_up_to_payment(
    app: Flask, chorus, chorus_admin
) -> None:
    with frozen(paris(2026, 3, 2, 9)):
        receipt = receipt_for(SIRET_PAID)
        send(app, receipt)
        expected = {
            0: ["DEPOSEE"],
            2: ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"],
            24: ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION",
                 "PRISE_EN_COMPTE_DESTINATAIRE"],
        }  # fmt: skip
        elapsed = 0
        for hours, history in expected.items():
            advance(chorus, hours - elapsed)
            elapsed = hours
            job = sync(app)
            assert (job.kind, job.succeeded, job.failed) == (JobKind.STATUS_SYNC, 1, 0)
            db.session.refresh(receipt)
            assert statuses(receipt) == history  # the send's own DEPOSEE row is not doubled
            assert receipt.chorus_status == history[-1]
            assert receipt.chorus_status_checked_at is not None
        advance(chorus, 144 - elapsed)
        job = sync(app)
        db.session.refresh(receipt)

    assert receipt.chorus_status == "MISE_EN_PAIEMENT"
    assert statuses(receipt)[-3:] == ["SERVICE_FAIT", "MANDATEE", "MISE_EN_PAIEMENT"]
    assert "Nouveau statut : Mise en paiement" in job.items[0].explanation
    # Chorus's instants, not the portal's clock.
    emulated = chorus.state.invoices[receipt.chorus_invoice_id].history(chorus.state.clock.now())
    stored = queries.history_of("receipt", receipt.id)
    assert [e.changed_at for e in stored] == [
        at.replace(microsecond=at.microsecond // 1000 * 1000) for _code, at, _comment in emulated
    ]  # Chorus gives milliseconds
    # Final: never read again by the schedule; nothing returned, so only the run's summary.
    assert queries.candidates() == []
    [note] = notifications()
    assert note.title == "Suivi des statuts Chorus Pro" and note.level == "success"
    assert receipt.number in note.body and "À solder" in note.body
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0  # auto-settle off
    operations = db.session.scalars(
        select(ChorusExchange.operation).where(ChorusExchange.document_id == receipt.id)
    ).all()
    assert operations.count("factures/consulter/historique") == 4


def returned_case(app, chorus, siret: str, hours: float, status: str, level: str) -> None:
    receipt = receipt_for(siret)
    send(app, receipt)
    advance(chorus, hours)

    sync(app)
    sync(app, only=[receipt])  # read again: nothing new, nobody notified twice
    if not rules.is_final(status, False):
        sync(app)  # still followed by the schedule, still notified once

    db.session.refresh(receipt)
    assert receipt.chorus_status == status
    [note] = notifications()
    assert note.level == level
    assert receipt.number in note.title
    assert COMMENTS[siret] in note.body
    assert "À faire :" in note.body
    assert note.link_url == f"/quittances/{receipt.id}"
    [event] = [e for e in queries.history_of("receipt", receipt.id) if e.status_code == status]
    assert event.comment == COMMENTS[siret]


def test_b1_a_rejection_notifies_the_chorus_admins_once_and_is_final(
    app: Flask, chorus, chorus_admin
) -> None:
    returned_case(app, chorus, SIRET_REJECTED, 48, "REJETEE", "danger")
    assert queries.candidates() == []
    assert "rejetée dans Chorus Pro" in notifications()[0].title
    assert "nouveau numéro" in notifications()[0].body  # the playbook's fix (B8)


def test_b1_a_suspension_notifies_once_and_stays_followed(app: Flask, chorus, chorus_admin) -> None:
    returned_case(app, chorus, SIRET_SUSPENDED, 48, "SUSPENDUE", "warning")
    assert len(queries.candidates()) == 1
    assert "compléter" in notifications()[0].body


def test_b1_a_recycle_request_notifies_once_with_what_to_do(
    app: Flask, chorus, chorus_admin
) -> None:
    returned_case(app, chorus, SIRET_RECYCLE, 2, "A_RECYCLER", "warning")
    assert "recycler" in notifications()[0].body


def test_b1_mandatee_is_final_for_a_structure_that_never_reports_payment(
    app: Flask, chorus, chorus_admin
) -> None:
    silent = receipt_for(SIRET_MANDATED_ONLY)
    reporting = receipt_for(SIRET_PAID)
    send(app, silent, reporting)  # the send caches both structures' rules (B3)
    advance(chorus, 100)

    sync(app)

    db.session.refresh(silent)
    db.session.refresh(reporting)
    assert silent.chorus_status == reporting.chorus_status == "MANDATEE"
    assert [row[1] for row in queries.candidates()] == [reporting.id]
    assert notifications() == []  # nothing returned, nothing paid, nothing failed


def test_b1_a_refusal_on_one_document_never_stops_the_others(
    app: Flask, chorus, chorus_admin
) -> None:
    good = receipt_for(SIRET_PAID)
    unknown = receipt_for(SIRET_PAID)
    send(app, good, unknown)
    unknown.chorus_invoice_id = 987654321  # Chorus does not know it (refused)
    db.session.commit()
    advance(chorus, 2)

    job = sync(app)

    items = {item.document_id: item for item in job.items}
    assert items[good.id].state == ItemState.SUCCEEDED
    assert items[unknown.id].state == ItemState.FAILED
    assert items[unknown.id].error_code == "20202"
    db.session.refresh(good)
    assert good.chorus_status == "MISE_A_DISPOSITION"
    [note] = notifications()
    assert note.level == "warning" and "n'ont pas pu être consultés" in note.body


def test_b1_an_outage_fails_the_items_and_the_next_run_catches_up(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = receipt_for(SIRET_REJECTED)
    send(app, receipt)
    advance(chorus, 48)
    chorus.state.faults.update(
        {
            "error_rate": 1.0,
            "error_statuses": [503],
            "operations": ["factures/consulter/historique"],
        }
    )

    job = sync(app)

    assert (job.state, job.failed) == ("done", 1)
    assert job.items[0].error_code == "INDISPONIBLE"
    db.session.refresh(receipt)
    assert receipt.chorus_status == "DEPOSEE"
    assert [n.title for n in notifications()] == ["Suivi des statuts Chorus Pro"]

    chorus.state.faults.reset()
    sync(app)
    db.session.refresh(receipt)
    assert receipt.chorus_status == "REJETEE"
    assert len(notifications(level="danger")) == 1


def test_b1_two_runs_reading_the_same_rejection_at_once_notify_once(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = receipt_for(SIRET_REJECTED)
    send(app, receipt)
    advance(chorus, 48)
    jobs = [
        services.start_status_sync(trigger=services.MANUAL),
        services.start_status_sync(trigger=services.MANUAL),
    ]
    db.session.commit()
    start = threading.Barrier(2)

    def launch(job) -> None:
        start.wait(5)
        with app.app_context():
            services.launch(job)

    threads = [threading.Thread(target=launch, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    done = [wait(app, job) for job in jobs]

    assert all(job.succeeded == 1 for job in done)
    assert len(notifications(level="danger")) == 1
    rows = db.session.scalar(
        select(func.count())
        .select_from(ChorusStatusEvent)
        .where(
            ChorusStatusEvent.document_id == receipt.id, ChorusStatusEvent.status_code == "REJETEE"
        )
    )
    assert rows == 1


def test_b1_a_run_that_lost_the_race_to_store_the_rows_reads_again_and_notifies_nobody(
    app: Flask, chorus, chorus_admin, monkeypatch
) -> None:
    receipt = receipt_for(SIRET_SUSPENDED)
    send(app, receipt)
    advance(chorus, 48)
    sync(app)
    assert len(notifications(level="warning")) == 1
    real = queries.history_of
    calls = []

    def stale_once(document_type, document_id):
        calls.append(document_id)
        return [] if len(calls) == 1 else real(document_type, document_id)

    monkeypatch.setattr(queries, "history_of", stale_once)
    job = sync(app, only=[receipt])

    assert job.items[0].state == ItemState.SUCCEEDED
    assert len(calls) == 2  # the unique constraint refused the stale insert; read again
    assert len(notifications(level="warning")) == 1
