"""Issue 11: every item reaches a final state by itself — retries, sweeps, adoption, no leaks."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal.clock import utcnow
from portal.extensions import db
from portal.jobs import retries
from portal.jobs import runner as jobs
from portal.jobs.models import ItemState, Job, JobItem, JobKind, JobState, process_name
from portal.jobs.pool import JobRunner
from portal.jobs.runner import ItemOutcome, OutcomeUnknown, WorkContext
from portal.settings import store
from tests import factories
from tests.jobs.conftest import UseHandler

KIND = JobKind.MASS_SEND  # run by the test handlers below


class FlakyHandler:
    """Fails transiently ``failures[number]`` times, then succeeds; ``REFUSED*`` is refused."""

    failures: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    finalized: list[int] = []
    retry_after: float | None = None
    lock = threading.Lock()

    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        number = item.document_number
        with self.lock:
            self.calls[number] += 1
            failing = self.failures[number] > 0
            if failing:
                self.failures[number] -= 1
        if number.startswith("REFUSED"):
            return ItemOutcome(ItemState.FAILED, error_code="20001", error_message="refusée")
        if failing:
            return ItemOutcome(
                ItemState.FAILED,
                error_code="INDISPONIBLE",
                error_message="Chorus Pro est momentanément indisponible (HTTP 503).",
                transient=True,
                retry_after=self.retry_after,
            )
        return ItemOutcome(ItemState.SUCCEEDED, chorus_invoice_id=1)

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        return ItemOutcome(ItemState.FAILED, error_message="absente", transient=True)

    def release(self, job: Job, item: JobItem, outcome: ItemOutcome) -> None:
        """Nothing to release."""

    def finalize(self, job: Job) -> None:
        with self.lock:
            self.finalized.append(job.id)


@pytest.fixture(autouse=True)
def handler(use_handler: UseHandler) -> type[FlakyHandler]:
    FlakyHandler.failures = Counter()
    FlakyHandler.calls = Counter()
    FlakyHandler.finalized = []
    FlakyHandler.retry_after = None
    use_handler(KIND, FlakyHandler)
    return FlakyHandler


@pytest.fixture
def runner(app: Flask):
    pool = JobRunner(app, workers=2)
    yield pool
    pool.shutdown()


def policy(attempts: int, first_delay: int) -> None:
    store.put(retries.ATTEMPTS, str(attempts))
    store.put(retries.FIRST_DELAY_SECONDS, str(first_delay))
    db.session.commit()


def make_job(numbers: list[str], **values: object) -> int:
    return factories.make_job(KIND, numbers, **values)


def run_job(runner: JobRunner, numbers: list[str]) -> int:
    """A new job of ``numbers`` launched and run to its end; its id."""
    job_id = make_job(numbers)
    runner.launch(job_id)
    runner.wait(job_id, timeout=30)
    return job_id


def item(number: str) -> JobItem:
    db.session.expire_all()
    found = db.session.scalar(select(JobItem).where(JobItem.document_number == number))
    assert found is not None
    return found


def job_row(job_id: int) -> Job:
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None
    return job


# -- the policy ----------------------------------------------------------------------------------


def test_the_default_policy_gives_five_attempts_over_fifteen_minutes() -> None:
    policy_ = retries.RetryPolicy()
    delays = [policy_.delay_after(n) for n in range(1, 6)]
    assert delays == [60, 120, 240, 480, None]
    assert sum(d for d in delays if d) == 15 * 60


def test_a_longer_retry_after_wins_over_the_planned_delay() -> None:
    policy_ = retries.RetryPolicy(attempts=3, first_delay_seconds=10)
    assert policy_.delay_after(1, retry_after=45) == 45
    assert policy_.delay_after(1, retry_after=2) == 10


@pytest.mark.parametrize("raw", ["", "0", "11", "-1", "abc", "1e3", "9" * 40, "٣"])
def test_an_attempts_setting_out_of_bounds_is_refused_in_french(raw: str) -> None:
    with pytest.raises(ValueError, match="entre 1 et 10"):
        retries.parse_attempts(raw)


def test_a_stored_policy_out_of_bounds_falls_back_to_the_defaults(app: Flask) -> None:
    store.put(retries.ATTEMPTS, "999")
    store.put(retries.FIRST_DELAY_SECONDS, "abc")
    assert retries.load_policy() == retries.RetryPolicy()


# -- retries inside the job ----------------------------------------------------------------------


def test_a_transient_failure_waits_for_its_retry_then_succeeds(app: Flask, runner) -> None:
    policy(attempts=5, first_delay=60)
    FlakyHandler.failures["Q1"] = 1
    job_id = make_job(["Q1", "Q2"])
    runner.start(job_id)
    runner.wait_idle(timeout=30)

    waiting = item("Q1")
    assert waiting.state == ItemState.PENDING
    assert waiting.tries == 1
    assert waiting.retry_at is not None
    assert 55 <= (waiting.retry_at - utcnow()).total_seconds() <= 61
    assert "indisponible" in (waiting.error_message or "")
    assert item("Q2").state == ItemState.SUCCEEDED
    assert job_row(job_id).state == JobState.RUNNING  # not finished while one waits

    # Not due yet: a sweep leaves it alone.
    runner.sweep()
    runner.wait_idle(timeout=30)
    assert FlakyHandler.calls["Q1"] == 1

    db.session.execute(update(JobItem).values(retry_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    runner.sweep()  # the owner's sweep starts the due retry
    runner.wait(job_id, timeout=30)
    assert item("Q1").state == ItemState.SUCCEEDED
    assert FlakyHandler.calls["Q1"] == 2
    assert FlakyHandler.finalized == [job_id]


def test_a_document_fails_only_after_its_last_attempt(app: Flask, runner) -> None:
    policy(attempts=3, first_delay=0)
    FlakyHandler.failures["Q1"] = 10
    job_id = run_job(runner, ["Q1"])

    ended = item("Q1")
    assert ended.state == ItemState.FAILED
    assert ended.tries == 3
    assert FlakyHandler.calls["Q1"] == 3
    assert "abandon après 3 essais" in (ended.error_message or "")
    assert job_row(job_id).failed == 1


def test_a_refusal_is_never_retried(app: Flask, runner) -> None:
    policy(attempts=5, first_delay=0)
    FlakyHandler.failures["REFUSED-1"] = 3
    run_job(runner, ["REFUSED-1"])
    assert item("REFUSED-1").state == ItemState.FAILED
    assert FlakyHandler.calls["REFUSED-1"] == 1


def test_a_retry_after_longer_than_the_planned_delay_is_respected(app: Flask, runner) -> None:
    policy(attempts=5, first_delay=1)
    FlakyHandler.failures["Q1"] = 1
    FlakyHandler.retry_after = 120
    job_id = make_job(["Q1"])
    runner.start(job_id)
    runner.wait_idle(timeout=30)
    waiting = item("Q1")
    assert waiting.retry_at is not None
    assert (waiting.retry_at - utcnow()).total_seconds() > 100


def test_an_unknown_outcome_found_absent_is_retried_not_failed(
    use_handler: UseHandler, runner
) -> None:
    class UnknownOnce(FlakyHandler):
        def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
            if not item.attempts:
                context.mark_submitting()
                raise OutcomeUnknown
            return super().process(job, item, context)

    use_handler(KIND, UnknownOnce)
    policy(attempts=5, first_delay=0)
    run_job(runner, ["Q1"])
    ended = item("Q1")
    assert ended.state == ItemState.SUCCEEDED
    assert ended.tries == 1 and ended.attempts == 1


# -- continuous recovery -------------------------------------------------------------------------


def test_a_job_whose_process_died_is_adopted_finished_and_reported_once(app: Flask, runner) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    owner = f"{process_name().rpartition(':')[0]}:{dead.stdout.strip()}"
    job_id = make_job(["Q1", "Q2", "Q3"], owner=owner, heartbeat_at=utcnow())
    claimed = utcnow() - timedelta(seconds=1)
    db.session.execute(
        update(JobItem)
        .where(JobItem.document_number == "Q1")
        .values(state="claimed", claimed_by=f"{owner}:1", lease_until=claimed)
    )
    db.session.commit()

    runner.sweep()  # the owner's pid is gone: no need to wait for the heartbeat to age
    runner.wait(job_id, timeout=30)
    runner.sweep()

    job = job_row(job_id)
    assert job.state == JobState.DONE
    assert job.resumed_count == 1
    assert job.owner == process_name()
    assert {item(n).state for n in ("Q1", "Q2", "Q3")} == {ItemState.SUCCEEDED}
    assert FlakyHandler.finalized == [job_id]
    assert runner.owned == set()


def test_a_job_of_a_live_process_is_left_to_it(app: Flask, runner) -> None:
    job_id = make_job(["Q1"], owner="another-server:4242", heartbeat_at=utcnow())
    runner.sweep()
    runner.wait_idle(timeout=30)
    assert job_row(job_id).resumed_count == 0
    assert item("Q1").state == ItemState.PENDING


def test_a_job_silent_longer_than_the_lease_is_adopted(app: Flask, runner, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "JOB_LEASE_SECONDS", 2)
    job_id = make_job(
        ["Q1"], owner="another-server:4242", heartbeat_at=utcnow() - timedelta(seconds=3)
    )
    runner.sweep()
    runner.wait(job_id, timeout=30)
    job = job_row(job_id)
    assert job.state == JobState.DONE and job.resumed_count == 1


def test_a_job_stuck_in_finalization_is_finalized_once(app: Flask, runner, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "JOB_LEASE_SECONDS", 2)
    job_id = make_job(["Q1"])
    runner.start(job_id)
    runner.wait(job_id, timeout=30)
    assert FlakyHandler.finalized == [job_id]
    # As if the process had died after taking the job to « finishing » (nothing committed).
    db.session.execute(
        update(Job).values(
            state=JobState.FINISHING,
            owner="another-server:1",
            heartbeat_at=utcnow() - timedelta(seconds=5),
            finished_at=None,
        )
    )
    db.session.commit()
    FlakyHandler.finalized = []

    runner.sweep()
    runner.sweep()
    assert FlakyHandler.finalized == [job_id]
    assert job_row(job_id).state == JobState.DONE


def test_finalization_by_a_process_that_lost_the_job_is_rolled_back(
    use_handler: UseHandler,
) -> None:
    job_id = make_job(["Q1"])
    db.session.execute(update(JobItem).values(state="succeeded"))
    db.session.commit()

    class Adopted(FlakyHandler):
        def finalize(self, job: Job) -> None:
            super().finalize(job)
            # Meanwhile another process adopted the job (this one looked dead).
            with db.engine.begin() as other:
                other.execute(update(Job).values(owner="another-server:7"))

    use_handler(KIND, Adopted)
    assert jobs.try_finish(job_id) is False
    assert job_row(job_id).state == JobState.FINISHING


def test_the_sweeper_thread_finishes_orphans_on_its_own(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "JOB_SWEEP_SECONDS", 0.2)
    monkeypatch.setitem(app.config, "JOB_LEASE_SECONDS", 1)
    job_id = make_job(
        ["Q1", "Q2"], owner="another-server:4242", heartbeat_at=utcnow() - timedelta(seconds=2)
    )
    pool = JobRunner(app, workers=2)
    pool.start_sweeping()
    try:
        deadline = time.monotonic() + 30
        while job_row(job_id).state != JobState.DONE:
            assert time.monotonic() < deadline, "the sweeper never finished the orphan job"
            time.sleep(0.1)
    finally:
        pool.shutdown()
    assert job_row(job_id).resumed_count == 1


def test_the_runner_keeps_no_reference_to_finished_work(app: Flask, runner) -> None:
    for _ in range(20):
        run_job(runner, ["Q1"])
    runner.wait_idle(timeout=30)
    runner.sweep()
    assert runner._tasks == set()
    assert runner._active == {}
    assert runner.owned == set()


def test_a_worker_that_lost_its_item_to_recovery_neither_submits_nor_records(app: Flask) -> None:
    job_id = make_job(["Q1"])
    claimed = jobs.claim_next(job_id, "frozen-worker")
    assert claimed is not None
    # The frozen worker's lease expired: recovery handed the item to another worker.
    db.session.execute(update(JobItem).values(claimed_by="live-worker"))
    db.session.commit()

    context = WorkContext(claimed.id, "frozen-worker")
    with pytest.raises(jobs.ClaimLost):
        context.mark_submitting("Soumission de la facture")
    with pytest.raises(jobs.ClaimLost):
        context.set_step("Dépôt de la pièce principale")
    failed = ItemOutcome(ItemState.FAILED, error_code="20117", error_message="déjà utilisé")
    assert not jobs.settle(job_id, claimed.id, failed, worker="frozen-worker")
    held = item("Q1")
    assert (held.state, held.claimed_by, held.attempts) == ("claimed", "live-worker", 0)
    assert job_row(job_id).failed == 0
