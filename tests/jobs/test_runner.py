"""The job runner: each item once, attempts recorded before the irreversible call, recovery."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal.clock import utcnow
from portal.extensions import db
from portal.jobs import runner as jobs
from portal.jobs.models import ItemState, Job, JobItem, JobKind, JobState
from portal.jobs.pool import JobRunner
from portal.jobs.runner import ItemOutcome, OutcomeUnknown, WorkContext
from tests import factories
from tests.jobs.conftest import UseHandler

KIND = JobKind.MASS_SEND  # run by the test handler below


class FakeHandler:
    """Records what happens; behaviour per document number."""

    submitted: Counter[str] = Counter()
    remote: set[str] = set()  # what the fake remote system holds
    released: list[tuple[str, str]] = []
    finalized: list[int] = []
    lock = threading.Lock()
    slow_may_end = threading.Event()  # holds a SLOW item in ``submitting`` until set

    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        number = item.document_number
        context.set_step("préparation")
        if number.startswith("SKIP"):
            return ItemOutcome(ItemState.SKIPPED, explanation="déjà envoyée")
        if number.startswith("BUG"):
            raise RuntimeError("boom")
        context.mark_submitting()
        with self.lock:
            self.submitted[number] += 1
            self.remote.add(number)
        if number.startswith("LATE"):
            raise OutcomeUnknown
        if number.startswith("SLOW"):
            self.slow_may_end.wait(timeout=30)
        return ItemOutcome(ItemState.SUCCEEDED, chorus_invoice_id=len(number))

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        if item.document_number in self.remote:
            return ItemOutcome(ItemState.SUCCEEDED, chorus_invoice_id=99)
        return ItemOutcome(ItemState.FAILED, error_message="absent du système distant")

    def release(self, job: Job, item: JobItem, outcome: ItemOutcome) -> None:
        with self.lock:
            self.released.append((item.document_number, outcome.state))

    def finalize(self, job: Job) -> None:
        with self.lock:
            self.finalized.append(job.id)


@pytest.fixture(autouse=True)
def fake_handler(use_handler: UseHandler) -> FakeHandler:
    FakeHandler.submitted = Counter()
    FakeHandler.remote = set()
    FakeHandler.released = []
    FakeHandler.finalized = []
    FakeHandler.slow_may_end = threading.Event()
    use_handler(KIND, FakeHandler)
    return FakeHandler()


def make_job(numbers: list[str], **values: object) -> int:
    return factories.make_job(KIND, numbers, **values)


def states(job_id: int) -> dict[str, str]:
    db.session.expire_all()
    items = db.session.scalars(select(JobItem).where(JobItem.job_id == job_id))
    return {item.document_number: item.state for item in items}


def test_every_item_is_processed_once_and_the_job_finalized_once(app: Flask) -> None:
    numbers = [f"Q{i:03d}" for i in range(40)] + ["SKIP1", "BUG1"]
    job_id = make_job(numbers)
    runner = JobRunner(app, workers=4)
    runner.start(job_id)
    runner.wait(job_id, timeout=60)
    assert set(FakeHandler.submitted.values()) == {1}
    assert len(FakeHandler.submitted) == 40
    assert FakeHandler.finalized == [job_id]
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    assert (job.state, job.succeeded, job.skipped, job.failed) == ("done", 40, 1, 1)
    assert states(job_id)["BUG1"] == ItemState.FAILED
    assert len(FakeHandler.released) == 42
    runner.shutdown()


def test_two_runners_on_the_same_job_never_process_an_item_twice(app: Flask) -> None:
    job_id = make_job([f"Q{i:03d}" for i in range(60)])
    first, second = JobRunner(app, workers=3), JobRunner(app, workers=3)
    first.start(job_id)
    second.start(job_id)
    first.wait(job_id, timeout=60)
    second.wait(job_id, timeout=60)
    assert set(FakeHandler.submitted.values()) == {1}
    assert len(FakeHandler.submitted) == 60
    assert FakeHandler.finalized == [job_id]
    first.shutdown()
    second.shutdown()


def test_an_unknown_outcome_is_reconciled_before_the_job_ends(app: Flask, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "RECONCILE_PAUSES", (0.0,))
    job_id = make_job(["LATE1", "Q1"])
    runner = JobRunner(app, workers=2)
    runner.start(job_id)
    runner.wait(job_id, timeout=60)
    assert states(job_id) == {"LATE1": "succeeded", "Q1": "succeeded"}
    assert FakeHandler.submitted["LATE1"] == 1
    runner.shutdown()


def test_a_worker_leaves_at_once_an_item_another_worker_is_submitting(
    app: Flask, monkeypatch
) -> None:
    # Only items whose outcome is unknown are worth waiting for; one in flight belongs to
    # its worker, which records it and finishes the job.
    reconcile_pauses: list[float] = []
    real_work = jobs.work

    def pause(seconds: float) -> None:
        if seconds in jobs.RECONCILE_PAUSES:
            reconcile_pauses.append(seconds)
        time.sleep(min(seconds, 0.05))

    def work(job_id: int) -> None:
        real_work(job_id)
        FakeHandler.slow_may_end.set()  # the first worker done lets SLOW end

    monkeypatch.setattr(jobs, "time", SimpleNamespace(sleep=pause, monotonic=time.monotonic))
    monkeypatch.setattr(jobs, "RECONCILE_PAUSES", (7.0,))
    monkeypatch.setattr(jobs, "work", work)
    job_id = make_job(["SLOW1", "Q1", "Q2"])
    runner = JobRunner(app, workers=2)
    runner.start(job_id)
    runner.wait(job_id, timeout=60)
    assert states(job_id) == {"SLOW1": "succeeded", "Q1": "succeeded", "Q2": "succeeded"}
    assert FakeHandler.finalized == [job_id]
    assert reconcile_pauses == []
    runner.shutdown()


def test_recovery_after_a_crash_resolves_every_item_without_resubmitting(app: Flask) -> None:
    job_id = make_job(["SENT-BEFORE-CRASH", "NOT-SENT", "CLAIMED", "PENDING"])
    FakeHandler.remote = {"SENT-BEFORE-CRASH"}
    expired = utcnow() - timedelta(minutes=1)
    # A worker died: two items were mid-submission, one only claimed, one untouched.
    for number, state in [
        ("SENT-BEFORE-CRASH", ItemState.SUBMITTING),
        ("NOT-SENT", ItemState.SUBMITTING),
        ("CLAIMED", ItemState.CLAIMED),
    ]:
        db.session.execute(
            update(JobItem)
            .where(JobItem.document_number == number)
            .values(state=state, lease_until=expired, attempts=1)
        )
    db.session.commit()

    runner = JobRunner(app, workers=2)
    runner.sweep()
    runner.wait(job_id, timeout=60)
    assert states(job_id) == {
        "SENT-BEFORE-CRASH": "succeeded",
        "NOT-SENT": "failed",
        "CLAIMED": "succeeded",
        "PENDING": "succeeded",
    }
    assert FakeHandler.submitted["SENT-BEFORE-CRASH"] == 0  # reconciled, not resent
    assert db.session.get(Job, job_id).state == JobState.DONE
    runner.shutdown()


def test_a_live_lease_is_left_alone_by_recovery(app: Flask) -> None:
    job_id = make_job(["BUSY"])
    db.session.execute(
        update(JobItem).values(state="submitting", lease_until=utcnow() + timedelta(minutes=5))
    )
    db.session.commit()
    jobs.recover()
    assert states(job_id) == {"BUSY": "submitting"}
