"""The job runner: a thread pool that works through job items, safely across processes.

Guarantees (B7):
- an item is processed by one worker only: it is claimed with a compare-and-set
  ``UPDATE … WHERE state = 'pending'`` whose row count is checked, then committed;
- nothing irreversible happens before the attempt is recorded (``WorkContext.mark_submitting``
  commits the item as ``submitting``); the transaction is never held across an HTTP call;
- an item whose outcome is unknown (timeout, crash, restart) is left ``submitting`` and
  resolved by ``recover()`` through the handler's ``reconcile`` (a look-up in Chorus), which
  runs at start-up and at the start of every job; the job ends once every item is final.

A job kind plugs in with a ``JobHandler`` registered with ``register_handler``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import make_transient_to_detached

from portal.clock import utcnow
from portal.extensions import db
from portal.jobs.models import UNFINISHED_ITEM_STATES, ItemState, Job, JobItem, JobKind, JobState
from portal.sql import changed_rows, serialized_writes

if TYPE_CHECKING:
    from sqlalchemy.sql.dml import Update

log = logging.getLogger(__name__)

# How long a claimed item is considered owned without news from its worker. Every step
# renews it; a worker killed mid-item lets it expire, then ``recover`` takes over.
# ``JOB_LEASE_SECONDS`` changes it (it must stay well above the Chorus read timeout).
DEFAULT_LEASE = timedelta(minutes=5)


def lease() -> timedelta:
    seconds = current_app.config.get("JOB_LEASE_SECONDS") if has_app_context() else None
    return timedelta(seconds=seconds) if seconds else DEFAULT_LEASE


# While a job still has items of unknown outcome, the workers done with the job retry
# reconciliation with these pauses (seconds) before leaving them to the next ``recover``.
RECONCILE_PAUSES = (1.0, 3.0, 10.0)


@dataclass(frozen=True)
class ItemOutcome:
    """How an item ended. ``state`` is SUCCEEDED, FAILED or SKIPPED."""

    state: ItemState
    chorus_invoice_id: int | None = None
    chorus_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    explanation: str | None = None


class OutcomeUnknown(Exception):
    """Raised by a handler when an irreversible call may or may not have taken effect."""


# -- the per-item statements -------------------------------------------------------------------
# Run several times per document, so built once: SQLAlchemy reuses their cache keys and
# compiled SQL, and as Core statements they skip the ORM's bulk-update bookkeeping, which
# cost more than the SQL itself (``bench/send.py``). Values are bound at execution.

_items = JobItem.__table__
_UNFINISHED = [state.value for state in UNFINISHED_ITEM_STATES]

_CLAIM = (
    update(_items)
    .where(
        _items.c.id
        == select(_items.c.id)
        .where(_items.c.job_id == bindparam("job"), _items.c.state == ItemState.PENDING.value)
        .order_by(_items.c.id)
        .limit(1)
        .scalar_subquery(),
        _items.c.state == ItemState.PENDING.value,
    )
    .values(
        state=ItemState.CLAIMED.value,
        claimed_by=bindparam("worker"),
        started_at=bindparam("now"),
        lease_until=bindparam("lease"),
    )
    .returning(*_items.c)
)
_ANY_PENDING = (
    select(_items.c.id)
    .where(_items.c.job_id == bindparam("job"), _items.c.state == ItemState.PENDING.value)
    .limit(1)
)
_SET_STEP = (
    update(_items)
    .where(_items.c.id == bindparam("item"))
    .values(step=bindparam("text"), lease_until=bindparam("lease"))
)
_MARK_SUBMITTING = (
    update(_items)
    .where(_items.c.id == bindparam("item"))
    .values(
        state=ItemState.SUBMITTING.value,
        attempts=_items.c.attempts + 1,
        step=bindparam("text"),
        lease_until=bindparam("lease"),
    )
)
# The SET clause comes from the outcome's values (``_outcome_values``).
_RECORD = update(_items).where(_items.c.id == bindparam("item"), _items.c.state.in_(_UNFINISHED))
_jobs = Job.__table__
_COUNT_OUTCOME = {
    state: update(_jobs).where(_jobs.c.id == bindparam("job")).values({column: column + 1})
    for state, column in (
        (ItemState.SUCCEEDED, _jobs.c.succeeded),
        (ItemState.FAILED, _jobs.c.failed),
        (ItemState.SKIPPED, _jobs.c.skipped),
    )
}


class WorkContext:
    """What a handler may do while processing one item."""

    def __init__(self, item_id: int, worker: str) -> None:
        self.item_id = item_id
        self.worker = worker

    def set_step(self, step: str) -> None:
        """Publish progress (shown live) and renew the lease; commits."""
        self._write(_SET_STEP, step)

    def mark_submitting(self, step: str | None = None) -> None:
        """Record the attempt before the irreversible call (and publish ``step``); commits."""
        self._write(_MARK_SUBMITTING, step)

    def _write(self, statement: Update, step: str | None) -> None:
        with serialized_writes():
            db.session.execute(
                statement,
                {
                    "item": self.item_id,
                    "text": step[:120] if step else None,
                    "lease": utcnow() + lease(),
                },
            )
            db.session.commit()


class JobHandler(Protocol):
    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        """Do the work of one claimed item. Raise ``OutcomeUnknown`` after an unknown result."""

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        """Resolve an item left ``submitting``; None while it is still unknown."""

    def release(self, job: Job, item: JobItem, outcome: ItemOutcome) -> None:
        """Apply a final outcome to the domain (document state); in the recording transaction."""

    def finalize(self, job: Job) -> None:
        """Once every item is final: report and notifications; in the finishing transaction."""


_handlers: dict[str, Callable[[], JobHandler]] = {}


def register_handler(kinds: tuple[JobKind | str, ...], factory: Callable[[], JobHandler]) -> None:
    """Declare the handler of one or more job kinds."""
    for kind in kinds:
        _handlers[str(kind)] = factory


def handler_for(kind: str) -> JobHandler:
    return _handlers[kind]()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# -- the work loop ------------------------------------------------------------------------------


def claim_next(job_id: int, worker: str) -> JobItem | None:
    """Claim one pending item of the job (compare-and-set); returns it detached, None when none.

    One ``UPDATE … WHERE id = (first pending) AND state = 'pending' RETURNING …``: a worker
    that loses the race to another gets no row and tries the next pending item. The item
    comes back detached, so later commits do not expire what the handler reads.
    """
    while True:
        now = utcnow()
        with serialized_writes():
            row = (
                db.session.execute(
                    _CLAIM, {"job": job_id, "worker": worker, "now": now, "lease": now + lease()}
                )
                .mappings()
                .one_or_none()
            )
            db.session.commit()
        if row is not None:
            item = JobItem(**row)
            make_transient_to_detached(item)
            return item
        remaining = db.session.execute(_ANY_PENDING, {"job": job_id}).first()
        db.session.commit()
        if remaining is None:
            return None


def record(
    job_id: int,
    item_id: int,
    outcome: ItemOutcome,
    *,
    job: Job | None = None,
    item: JobItem | None = None,
) -> bool:
    """Store a final outcome once (compare-and-set on the unfinished states); commits.

    ``job`` and ``item`` may be passed by a worker that has them loaded (their identifying
    columns are all the handler's ``release`` reads), saving two reads per document.
    """
    # Read first: on SQLite the write lock is taken by the first UPDATE and held to commit.
    job = job if job is not None else db.session.get(Job, job_id)
    item = item if item is not None else db.session.get(JobItem, item_id)
    if job is None or item is None:
        db.session.rollback()
        return False
    handler = handler_for(job.kind)
    with serialized_writes():
        if changed_rows(_RECORD, {"item": item_id, **_outcome_values(outcome)}) != 1:
            db.session.rollback()
            return False
        db.session.execute(_COUNT_OUTCOME[outcome.state], {"job": job_id})
        handler.release(job, item, outcome)
        db.session.commit()
    return True


def _outcome_values(outcome: ItemOutcome) -> dict[str, Any]:
    return {
        "state": outcome.state.value,
        "finished_at": utcnow(),
        "lease_until": None,
        "step": None,
        "chorus_invoice_id": outcome.chorus_invoice_id,
        "chorus_status": outcome.chorus_status,
        "error_code": outcome.error_code,
        "error_message": outcome.error_message,
        "explanation": outcome.explanation,
    }


def process_item(job: Job, item: JobItem, worker: str, handler: JobHandler) -> None:
    """Process one claimed item and record its outcome (``job`` and ``item`` detached)."""
    try:
        outcome = handler.process(job, item, WorkContext(item.id, worker))
        record(job.id, item.id, outcome, job=job, item=item)
        return
    except OutcomeUnknown:
        db.session.rollback()
        _try_reconcile(job.id, item.id)
        return
    except Exception as exc:  # a bug must not leave a document locked: record and go on
        log.exception("job %s item %s failed unexpectedly", job.id, item.id)
        db.session.rollback()
        state = db.session.scalar(select(JobItem.state).where(JobItem.id == item.id))
        if state == ItemState.SUBMITTING.value:
            _try_reconcile(job.id, item.id)
            return
        outcome = ItemOutcome(
            ItemState.FAILED,
            error_code="ERREUR_INTERNE",
            error_message=f"Erreur interne du portail ({type(exc).__name__}).",
        )
    record(job.id, item.id, outcome)


def _try_reconcile(job_id: int, item_id: int) -> bool:
    """Ask the handler to resolve an unknown outcome now; True when resolved."""
    job = db.session.get(Job, job_id)
    item = db.session.get(JobItem, item_id)
    if job is None or item is None or item.state != ItemState.SUBMITTING.value:
        return True
    try:
        outcome = handler_for(job.kind).reconcile(job, item)
    except Exception:
        log.exception("reconciliation of item %s failed", item_id)
        db.session.rollback()
        outcome = None
    if outcome is None:
        # Give the lease up (already past, whatever the clock's resolution): any worker or
        # process may retry, as it no longer protects a live worker.
        db.session.execute(
            update(JobItem)
            .where(JobItem.id == item_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        return False
    return record(job_id, item_id, outcome)


def unfinished_count(job_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(
                JobItem.job_id == job_id,
                JobItem.state.in_([s.value for s in UNFINISHED_ITEM_STATES]),
            )
        )
        or 0
    )


def try_finish(job_id: int) -> bool:
    """Finalize the job exactly once when every item is final; returns whether this call did."""
    if unfinished_count(job_id):
        db.session.commit()
        return False
    taken = changed_rows(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING.value)
        .values(state=JobState.FINISHING.value)
    )
    db.session.commit()
    if taken != 1:
        return False
    job = db.session.get(Job, job_id)
    if job is None:
        return False
    try:
        handler_for(job.kind).finalize(job)
        job.state = JobState.DONE.value
    except Exception as exc:
        log.exception("finalizing job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(Job, job_id)
        if job is None:
            return False
        job.state = JobState.FAILED.value
        job.error = f"Erreur pendant la finalisation : {type(exc).__name__}"
    job.finished_at = utcnow()
    db.session.commit()
    return True


def work(job_id: int) -> None:
    """One worker: claim and process items until none is left, then try to finish the job."""
    worker = worker_name()
    job = _detached_job(job_id)
    if job is not None:
        handler = handler_for(job.kind)
        while (item := claim_next(job_id, worker)) is not None:
            process_item(job, item, worker, handler)
    for pause in RECONCILE_PAUSES:
        # Only items of unknown outcome (lease given up) are worth waiting for: an item
        # another worker is submitting is that worker's, which records it and finishes.
        if try_finish(job_id) or not _submitting_ids(job_id, expired_only=True):
            break
        time.sleep(pause)
        for item_id in _submitting_ids(job_id, expired_only=True):
            _try_reconcile(job_id, item_id)
    try_finish(job_id)


def _detached_job(job_id: int) -> Job | None:
    """The job, loaded once per worker: what handlers read of it never changes."""
    job = db.session.get(Job, job_id)
    if job is not None:
        db.session.expunge(job)
    db.session.commit()
    return job


def _submitting_ids(job_id: int | None, *, expired_only: bool = False) -> list[int]:
    query = select(JobItem.id).where(JobItem.state == ItemState.SUBMITTING.value)
    if job_id is not None:
        query = query.where(JobItem.job_id == job_id)
    if expired_only:
        query = query.where(JobItem.lease_until < utcnow())
    ids = list(db.session.scalars(query))
    db.session.commit()
    return ids


def recover() -> list[int]:
    """Resolve what crashed or timed-out workers left behind; returns jobs that need workers.

    Safe to run in every process at once: every change is a compare-and-set.
    """
    now = utcnow()
    for item_id in _submitting_ids(None, expired_only=True):
        job_id = db.session.scalar(select(JobItem.job_id).where(JobItem.id == item_id))
        if job_id is not None:
            _try_reconcile(job_id, item_id)
    # Claimed but never submitted by a worker that died: safe to hand out again.
    db.session.execute(
        update(JobItem)
        .where(JobItem.state == ItemState.CLAIMED.value, JobItem.lease_until < now)
        .values(state=ItemState.PENDING.value, claimed_by=None, lease_until=None)
    )
    db.session.commit()
    running = list(db.session.scalars(select(Job.id).where(Job.state == JobState.RUNNING.value)))
    db.session.commit()
    needing_workers = []
    for job_id in running:
        pending = db.session.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(JobItem.job_id == job_id, JobItem.state == ItemState.PENDING.value)
        )
        if pending:
            needing_workers.append(job_id)
        else:
            try_finish(job_id)
    return needing_workers


# -- the pool -----------------------------------------------------------------------------------


class JobRunner:
    """Thread pool of the web process (``JOB_WORKERS`` threads, default 4)."""

    def __init__(self, app: Flask, workers: int) -> None:
        self.app = app
        self.workers = max(1, workers)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="job")
        self._futures: dict[int, list[Future[None]]] = {}
        self._lock = threading.Lock()

    def start(self, job_id: int) -> None:
        """Put workers on a committed job (at most one per item, at most the pool size)."""
        with self.app.app_context():
            pending = db.session.scalar(
                select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id)
            )
            db.session.commit()
        count = max(1, min(self.workers, pending or 1))
        for _ in range(count):
            self._submit(job_id, self._run, job_id)

    def _submit(self, job_id: int | None, task: Callable[..., None], *args: object) -> None:
        """Run ``task`` in the pool, remembered under the job it serves (None: maintenance)."""
        future = self._executor.submit(task, *args)
        with self._lock:
            self._futures.setdefault(job_id or 0, []).append(future)

    def launch(self, job_id: int) -> None:
        """Start a new job: reconcile leftovers first (B7), in the pool, then put workers on it."""
        self._submit(job_id, self._recover_then_start, job_id)

    def launch_recovery(self) -> None:
        """Reconcile and resume interrupted jobs in the background (process start-up)."""
        self._submit(None, self.recover_and_resume)

    def _recover_then_start(self, job_id: int) -> None:
        self.recover_and_resume(exclude=job_id)
        self.start(job_id)

    def _run(self, job_id: int) -> None:
        with self.app.app_context():
            try:
                work(job_id)
            finally:
                db.session.remove()

    def recover_and_resume(self, exclude: int | None = None) -> None:
        """Start-up and job-start recovery: reconcile, then resume interrupted jobs."""
        with self.app.app_context():
            try:
                resume = recover()
            except Exception:
                log.exception("recovery failed")
                resume = []
            finally:
                db.session.remove()
        for job_id in resume:
            if job_id != exclude:
                self.start(job_id)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until the job is no longer running in the database (CLI, tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                futures = list(self._futures.get(job_id, []))
            for future in futures:
                future.result(
                    timeout=None if deadline is None else max(0, deadline - time.monotonic())
                )
            with self.app.app_context():
                state = db.session.scalar(select(Job.state).where(Job.id == job_id))
                db.session.remove()
            if state not in (JobState.RUNNING.value, JobState.FINISHING.value):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {state}")
            time.sleep(0.05)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until every task submitted to this pool so far is done (tests)."""
        with self._lock:
            futures = [f for group in self._futures.values() for f in group]
        for future in futures:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


def get_runner(app: Flask) -> JobRunner:
    """The app's runner, created on first use (never at import or in create_app)."""
    runner = app.extensions.get("portal.job_runner")
    if runner is None:
        runner = JobRunner(app, int(app.config.get("JOB_WORKERS", 4)))
        app.extensions["portal.job_runner"] = runner
    return runner
