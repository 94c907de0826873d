"""The automatic daily run end to end against the emulator (S3, S4, S14, S18, B6).

The rule-level examples (pure ``is_due``) live in ``tests/sending/test_rules.py``;
here the same examples go through ``run_daily``: what the run of a given day sends.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.daily import queries as daily_queries
from portal.daily import rules as daily_rules
from portal.daily import services as daily
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.jobs.models import ExecutionState, ItemState, Job, JobItem, JobKind, TaskExecution
from portal.models_base import ChorusState
from portal.notifications.models import Notification, StoredReport
from portal.sending import services as sending
from portal.settings import chorus as chorus_settings
from tests import factories
from tests.daily.conftest import at, sendable_fee_invoice, set_cutoff, set_delays, travel, wait_for
from tests.sending.conftest import sendable_contract, sendable_receipt


def run(app: Flask, day: date, trigger: str = daily_rules.SCHEDULED) -> tuple[TaskExecution, Job]:
    """The run of ``day`` (at 19:00 that day), waited for."""
    with travel(at(day, 19)):
        execution = daily.run_daily(day, trigger=trigger)
        assert execution.state == ExecutionState.STARTED, execution.message
        return execution, wait_for(app, execution.job_id)


def sent_numbers(job: Job) -> set[str]:
    return {item.document_number for item in job.items if item.state == ItemState.SUCCEEDED}


def picked_numbers(job: Job) -> set[str]:
    return {item.document_number for item in job.items}


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# -- the spec's examples, at the run level ------------------------------------------------------


def test_s3_with_a_30_day_delay_a_receipt_effective_1_january_goes_on_2_december_not_1_december(
    app: Flask, chorus_on, chorus_admin
) -> None:
    set_delays(receipts=30)
    receipt = sendable_receipt(
        entered_on=date(2021, 11, 15),
        period_start_on=date(2022, 1, 1),
        period_end_on=date(2022, 12, 31),
    )

    _, first = run(app, date(2021, 12, 1))
    assert picked_numbers(first) == set()
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT

    _, second = run(app, date(2021, 12, 2))
    assert sent_numbers(second) == {receipt.number}
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.SENT
    assert chorus_on.state.stats_snapshot()["submissions"] == {receipt.number: 1}


def test_s14_a_receipt_entered_15_november_for_a_period_starting_1_january_is_sent_on_1_january(
    app: Flask, chorus_on, chorus_admin
) -> None:
    receipt = sendable_receipt(
        entered_on=date(2021, 11, 15),
        period_start_on=date(2022, 1, 1),
        period_end_on=date(2022, 12, 31),
    )
    for day in (date(2021, 11, 15), date(2021, 12, 31)):
        assert picked_numbers(run(app, day)[1]) == set()
    _, job = run(app, date(2022, 1, 1))
    assert sent_numbers(job) == {receipt.number}
    assert job.kind == JobKind.DAILY_SEND
    # Sent once: the next day's run no longer picks it.
    assert picked_numbers(run(app, date(2022, 1, 2))[1]) == set()
    assert chorus_on.state.stats_snapshot()["submissions"] == {receipt.number: 1}


def test_s14_a_receipt_echu_is_sent_at_its_period_end(app: Flask, chorus_on, chorus_admin) -> None:
    contract = sendable_contract(term="arrears")
    receipt = sendable_receipt(
        contract,
        entered_on=date(2021, 12, 20),
        period_start_on=date(2022, 1, 1),
        period_end_on=date(2022, 3, 31),
    )
    assert picked_numbers(run(app, date(2022, 1, 1))[1]) == set()
    assert picked_numbers(run(app, date(2022, 3, 30))[1]) == set()
    assert sent_numbers(run(app, date(2022, 3, 31))[1]) == {receipt.number}


def test_s18_fee_invoices_use_their_date_de_saisie_and_their_own_delay(
    app: Flask, chorus_on, chorus_admin
) -> None:
    set_delays(receipts=30, fee_invoices=2)
    invoice = sendable_fee_invoice(entered_on=date(2022, 1, 15))
    # The receipts' 30 days do not apply to it: 15/01 − 2 days = 13/01.
    assert picked_numbers(run(app, date(2022, 1, 12))[1]) == set()
    _, job = run(app, date(2022, 1, 13))
    assert sent_numbers(job) == {invoice.number}
    assert job.items[0].document_type == DocumentType.FEE_INVOICE


def test_s4_a_document_entered_on_the_cut_off_date_is_never_sent_automatically(
    app: Flask, chorus_on, chorus_admin
) -> None:
    set_cutoff(date(2021, 11, 15))
    contract = sendable_contract()
    on_cutoff = sendable_receipt(
        contract, entered_on=date(2021, 11, 15), period_start_on=date(2021, 12, 1)
    )
    after = sendable_receipt(
        contract, entered_on=date(2021, 11, 16), period_start_on=date(2021, 12, 1)
    )
    invoice_on_cutoff = sendable_fee_invoice(contract, entered_on=date(2021, 11, 15))

    _, job = run(app, date(2022, 1, 1))

    assert picked_numbers(job) == {after.number}  # not even listed as skipped
    assert sent_numbers(job) == {after.number}
    for document in (on_cutoff, invoice_on_cutoff):
        db.session.refresh(document)
        assert document.chorus_state == ChorusState.NOT_SENT


@pytest.mark.parametrize("kind", [JobKind.SINGLE_SEND, JobKind.MASS_SEND])
def test_s4_manual_and_mass_sends_ignore_the_cut_off(
    app: Flask, chorus_on, chorus_admin, kind: JobKind
) -> None:
    set_cutoff(date(2021, 11, 15))
    receipt = sendable_receipt(entered_on=date(2021, 11, 1), period_start_on=date(2030, 1, 1))

    job = sending.start_send([receipt], kind=kind, user=chorus_admin)
    db.session.commit()
    sending.launch(job)

    assert sent_numbers(wait_for(app, job.id)) == {receipt.number}


def test_s14_due_documents_that_are_not_eligible_are_reported_skipped_with_the_reason(
    app: Flask, chorus_on, chorus_admin
) -> None:
    contract = sendable_contract()
    good = sendable_receipt(contract, entered_on=date(2021, 6, 1))
    without_notice = factories.make_receipt(contract=contract, entered_on=date(2021, 6, 1))
    db.session.commit()

    _, job = run(app, date(2026, 1, 1))

    items = {item.document_number: item for item in job.items}
    assert items[good.number].state == ItemState.SUCCEEDED
    assert items[without_notice.number].state == ItemState.SKIPPED
    assert items[without_notice.number].error_code == "S9_NO_DUE_NOTICE"
    # The same end as a mass send: a CSV report and a notification to the Chorus admins.
    assert job.report is not None
    note = db.session.scalars(select(Notification)).one()
    assert (note.user_id, note.report_id) == (chorus_admin.id, job.report_id)
    assert "automatique" in note.title.lower()


# -- S4: an empty cut-off ------------------------------------------------------------------------


def test_s4_an_empty_cut_off_fails_the_run_and_touches_nothing(
    app: Flask, chorus_on, chorus_admin
) -> None:
    set_cutoff(None)
    receipt = sendable_receipt(entered_on=date(2021, 6, 1))

    with travel(at(date(2026, 1, 1), 19)):
        execution = daily.run_daily(date(2026, 1, 1), trigger=daily_rules.SCHEDULED)

    db.session.expire_all()
    stored = db.session.get(TaskExecution, execution.id)
    assert stored is not None
    assert stored.state == ExecutionState.FAILED
    assert stored.message == "Date de coupure non renseignée."
    assert daily_rules.NO_CUTOFF == "date de coupure non renseignée"
    assert stored.job_id is None
    assert (count(Job), count(JobItem), count(StoredReport), count(Notification)) == (0, 0, 0, 0)
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT
    assert chorus_on.state.stats_snapshot()["submissions"] == {}


def test_a_failed_run_releases_the_day_so_a_run_after_the_fix_is_not_a_duplicate(
    app: Flask, chorus_on, chorus_admin
) -> None:
    set_cutoff(None)
    receipt = sendable_receipt(entered_on=date(2021, 6, 1))
    day = date(2026, 1, 1)
    with travel(at(day, 19)):
        failed = daily.run_daily(day, trigger=daily_rules.SCHEDULED)
    assert failed.state == ExecutionState.FAILED

    set_cutoff(date(2021, 1, 1))
    _, job = run(app, day, trigger=daily_rules.MANUAL)
    assert sent_numbers(job) == {receipt.number}


def test_an_internal_error_fails_the_execution_and_releases_the_day(
    app: Flask, chorus_on, chorus_admin, monkeypatch
) -> None:
    def broken(*_args, **_kw):
        raise RuntimeError("boom")

    day = date(2026, 1, 1)
    with monkeypatch.context() as patch:
        patch.setattr(sending, "start_send", broken)
        with travel(at(day, 19)):
            execution = daily.run_daily(day, trigger=daily_rules.SCHEDULED)
    assert execution.state == ExecutionState.FAILED
    assert execution.message == "Erreur interne du portail (RuntimeError)."
    assert execution.claim_key is None
    assert count(Job) == 0
    run(app, day, trigger=daily_rules.MANUAL)  # the day was given back


def test_s1_the_run_fails_while_dematerialization_is_off(
    app: Flask, chorus_on, chorus_admin
) -> None:
    from portal.settings import store

    store.put_bool(chorus_settings.CHORUS_ENABLED, False)
    db.session.commit()
    execution = daily.run_daily(date(2026, 1, 1), trigger=daily_rules.COMMAND)
    assert execution.state == ExecutionState.FAILED
    assert execution.message == "Dématérialisation désactivée."
    assert count(Job) == 0


# -- exactly one run per day ---------------------------------------------------------------------


def test_a_second_run_the_same_day_is_recorded_as_skipped_and_sends_nothing(
    app: Flask, chorus_on, chorus_admin
) -> None:
    receipt = sendable_receipt(entered_on=date(2021, 6, 1))
    day = date(2026, 1, 1)
    first, job = run(app, day)

    with travel(at(day, 19, 1)):
        second = daily.run_daily(day, trigger=daily_rules.CATCH_UP)

    assert second.state == ExecutionState.SKIPPED
    assert second.message == (
        f"Déjà exécutée aujourd'hui à 19:00 par l'automate (tâche n° {job.id})."
    )
    assert second.job_id is None and second.claim_key is None
    assert count(Job) == 1
    assert sent_numbers(job) == {receipt.number}
    assert chorus_on.state.stats_snapshot()["submissions"] == {receipt.number: 1}
    executions = db.session.scalars(select(TaskExecution).order_by(TaskExecution.id)).all()
    assert [e.state for e in executions] == ["started", "skipped"]
    assert executions[0].claim_key == daily_rules.claim_key(day) == first.claim_key


def test_an_empty_due_set_still_ends_with_the_report_and_notification(
    app: Flask, chorus_on, chorus_admin
) -> None:
    _, job = run(app, date(2026, 1, 1))
    assert (job.total, job.state) == (0, "done")
    assert job.report is not None
    assert count(Notification) == 1


# -- B6: the preview is the run ------------------------------------------------------------------


def test_b6_the_preview_lists_exactly_what_the_run_then_sends_and_skips(
    app: Flask, chorus_on, chorus_admin
) -> None:
    set_delays(receipts=10, fee_invoices=0)
    day = date(2026, 3, 2)
    contract = sendable_contract()
    arrears = sendable_contract(term="arrears", client=contract.client)
    due = [
        sendable_receipt(contract, entered_on=date(2026, 2, 1), period_start_on=date(2026, 3, 12)),
        sendable_receipt(contract, entered_on=date(2026, 2, 2), period_start_on=date(2026, 1, 1)),
        sendable_receipt(
            arrears,
            entered_on=date(2026, 1, 5),
            period_start_on=date(2025, 3, 1),
            period_end_on=date(2026, 2, 28),
        ),
        sendable_fee_invoice(contract, entered_on=date(2026, 3, 2)),
    ]
    skipped = [
        factories.make_receipt(contract=contract, entered_on=date(2026, 2, 3)),  # no PDF
        sendable_fee_invoice(
            sendable_contract(chorus_service_code=None), entered_on=date(2026, 3, 1)
        ),
    ]
    not_due = [
        sendable_receipt(contract, entered_on=date(2026, 2, 4), period_start_on=date(2026, 3, 13)),
        sendable_receipt(
            arrears,
            entered_on=date(2026, 2, 5),
            period_start_on=date(2026, 2, 1),
            period_end_on=date(2026, 3, 31),
        ),
        sendable_receipt(sendable_contract(is_chorus_enabled=False), entered_on=date(2026, 2, 6)),
        sendable_fee_invoice(contract, entered_on=date(2026, 3, 3)),
    ]
    db.session.commit()

    with travel(at(day, 12)):
        settings = chorus_settings.load()
        assert daily.next_run_on() == day
        counts = daily_queries.preview_counts(day, settings)
        pages = {t: daily_queries.preview(day, settings, t) for t in DocumentType}
    listed = {row.number: row for page in pages.values() for row in page.rows}
    to_send = {number for number, row in listed.items() if row.eligibility.eligible}
    to_skip = set(listed) - to_send

    _, job = run(app, day)

    assert to_send == {d.number for d in due} == sent_numbers(job)
    assert to_skip == {d.number for d in skipped} == picked_numbers(job) - sent_numbers(job)
    assert not {d.number for d in not_due} & picked_numbers(job)
    assert (counts.total_to_send, counts.total_to_skip) == (4, 2)
    assert counts.to_send == {DocumentType.RECEIPT: 3, DocumentType.FEE_INVOICE: 1}
    reasons = {row.number: row.eligibility.codes for row in listed.values()}
    assert reasons[skipped[0].number] == {"S9_NO_DUE_NOTICE"}
    assert reasons[skipped[1].number] == {"S9_NO_SERVICE_CODE"}


def test_b6_the_preview_pages_are_ordered_to_send_first_then_by_effective_date(
    app: Flask, chorus_on
) -> None:
    contract = sendable_contract()
    starts = [date(2025, 1, d) for d in (9, 3, 7, 1, 5)]
    for start in starts:
        sendable_receipt(contract, entered_on=date(2024, 12, 1), period_start_on=start)
    blocked = factories.make_receipt(
        contract=contract, entered_on=date(2024, 12, 1), period_start_on=date(2024, 1, 1)
    )
    db.session.commit()
    settings = chorus_settings.load()
    day = date(2026, 1, 1)

    first = daily_queries.preview(day, settings, DocumentType.RECEIPT, page=1, size=2)
    last = daily_queries.preview(day, settings, DocumentType.RECEIPT, page=3, size=2)
    beyond = daily_queries.preview(day, settings, DocumentType.RECEIPT, page=9, size=2)

    assert (first.total, first.pages) == (6, 3)
    assert [row.effective_on for row in first.rows] == sorted(starts)[:2]
    assert [row.number for row in last.rows][-1] == blocked.number
    assert beyond.page == 3
    assert {row.client_name for row in first.rows} == {contract.client.name}
