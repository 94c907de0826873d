"""The job runner: a thread pool that works through job items, safely across processes.

Guarantees (B7):
- an item is processed by one worker only: it is claimed with a compare-and-set
  ``UPDATE … WHERE state = 'pending'`` whose row count is checked, then committed;
- nothing irreversible happens before the attempt is recorded (``WorkContext.mark_submitting``
  commits the item as ``submitting``); the transaction is never held across an HTTP call;
- an item whose outcome is unknown (timeout, crash, restart) is left ``submitting`` and
  resolved by ``recover()`` through the handler's ``reconcile`` (a look-up in Chorus);
- a transient failure (the handler's outcome says ``transient``) puts the item back to
  ``pending`` until ``retry_at``, as the retry policy allows (``portal.jobs.retries``);
- every process sweeps on a timer (``portal.jobs.sweeper``): it renews the heartbeat of the
  jobs it runs, recovers expired leases, adopts the jobs whose process died and starts the
  retries that are due; the job ends, with its report, once every item is final.

A job kind plugs in with a ``JobHandler``, given to the app by the app factory
(``register_handlers``, called by ``portal.web.register_jobs``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import make_transient_to_detached

from portal.clock import utcnow
from portal.extensions import db
from portal.jobs import retries
from portal.jobs.models import (
    UNFINISHED_ITEM_STATES,
    ItemState,
    Job,
    JobItem,
    JobKind,
    JobState,
    process_name,
)
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
    """How an item ended. ``state`` is SUCCEEDED, FAILED or SKIPPED.

    A FAILED outcome marked ``transient`` (nothing irreversible happened, or a look-up
    proved it had no effect) is retried after a delay while the retry policy allows;
    ``retry_after`` is the server's ``Retry-After`` in seconds, if it sent one.
    ``handover``: what the handler's ``process`` leaves for its ``release`` of this item
    (the send's audit rows, saved with the outcome); the runner passes it on untouched.
    """

    state: ItemState
    chorus_invoice_id: int | None = None
    chorus_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    explanation: str | None = None
    transient: bool = False
    retry_after: float | None = None
    handover: object = None


class OutcomeUnknown(Exception):
    """Raised by a handler when an irreversible call may or may not have taken effect."""


# -- the per-item statements -------------------------------------------------------------------
# Run several times per document, so built once: SQLAlchemy reuses their cache keys and
# compiled SQL, and as Core statements they skip the ORM's bulk-update bookkeeping, which
# cost more than the SQL itself (``bench/send.py``). Values are bound at execution.

_items = JobItem.__table__
# A pending item is due unless it waits for a planned retry.
_due = (_items.c.retry_at.is_(None)) | (_items.c.retry_at <= bindparam("now"))

_CLAIM = (
    update(_items)
    .where(
        _items.c.id
        == select(_items.c.id)
        .where(
            _items.c.job_id == bindparam("job"),
            _items.c.state == ItemState.PENDING,
            _due,
        )
        .order_by(_items.c.id)
        .limit(1)
        .scalar_subquery(),
        _items.c.state == ItemState.PENDING,
    )
    .values(
        state=ItemState.CLAIMED,
        claimed_by=bindparam("worker"),
        started_at=bindparam("now"),
        lease_until=bindparam("lease"),
        retry_at=None,
    )
    .returning(*_items.c)
)
_ANY_PENDING = (
    select(_items.c.id)
    .where(_items.c.job_id == bindparam("job"), _items.c.state == ItemState.PENDING, _due)
    .limit(1)
)
# A worker writes an item only while it still holds it: a worker that outlived its lease (a
# frozen process, a very slow call) finds the item taken over by recovery and drops it.
_held = (
    _items.c.id == bindparam("item"),
    _items.c.claimed_by == bindparam("worker"),
    _items.c.state.in_([ItemState.CLAIMED, ItemState.SUBMITTING]),
)
_SET_STEP = (
    update(_items).where(*_held).values(step=bindparam("text"), lease_until=bindparam("lease"))
)
_MARK_SUBMITTING = (
    update(_items)
    .where(*_held[:2], _items.c.state == ItemState.CLAIMED)
    .values(
        state=ItemState.SUBMITTING,
        attempts=_items.c.attempts + 1,
        step=bindparam("text"),
        lease_until=bindparam("lease"),
    )
)
# The SET clause comes from the outcome's values (``_outcome_values``); a worker records only
# an item it holds, recovery any unfinished one.
_RECORD = update(_items).where(
    _items.c.id == bindparam("item"), _items.c.state.in_(UNFINISHED_ITEM_STATES)
)
_RECORD_HELD = update(_items).where(*_held)
_jobs = Job.__table__
_COUNT_OUTCOME = {
    state: update(_jobs).where(_jobs.c.id == bindparam("job")).values({column: column + 1})
    for state, column in (
        (ItemState.SUCCEEDED, _jobs.c.succeeded),
        (ItemState.FAILED, _jobs.c.failed),
        (ItemState.SKIPPED, _jobs.c.skipped),
    )
}


class ClaimLost(Exception):
    """The worker no longer holds its item (its lease expired and recovery took it over)."""


class WorkContext:
    """What a handler may do while processing one item.

    Both writes raise ``ClaimLost`` when the item is no longer this worker's: nothing
    irreversible may follow.
    """

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
            held = changed_rows(
                statement,
                {
                    "item": self.item_id,
                    "worker": self.worker,
                    "text": step[:120] if step else None,
                    "lease": utcnow() + lease(),
                },
            )
            db.session.commit()
        if held != 1:
            raise ClaimLost(self.item_id)


class JobHandler(Protocol):
    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        """Do the work of one claimed item. Raise ``OutcomeUnknown`` after an unknown result."""

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        """Resolve an item left ``submitting``; None while it is still unknown."""

    def release(self, job: Job, item: JobItem, outcome: ItemOutcome) -> None:
        """Apply a final outcome to the domain (document state); in the recording transaction."""

    def finalize(self, job: Job) -> None:
        """Once every item is final: report and notifications; in the finishing transaction."""


HandlerFactory = Callable[[], JobHandler]
# ``app.extensions`` key of the app's handler factories by job kind (``register_handlers``).
HANDLERS = "portal.job_handlers"


def register_handlers(app: Flask, handlers: Mapping[JobKind, HandlerFactory]) -> None:
    """Give the app the handlers of these job kinds (the app factory's table)."""
    table: dict[JobKind, HandlerFactory] = app.extensions.setdefault(HANDLERS, {})
    table.update(handlers)


def handler_for(kind: JobKind) -> JobHandler:
    """A new handler: each worker gets its own, and may keep per-worker state on it."""
    factories: dict[JobKind, HandlerFactory] = current_app.extensions[HANDLERS]
    return factories[kind]()


def worker_name() -> str:
    return f"{process_name()}:{threading.get_ident()}"


# -- the work loop ------------------------------------------------------------------------------


def claim_next(job_id: int, worker: str) -> JobItem | None:
    """Claim one due pending item of the job (compare-and-set); detached, None when none.

    One ``UPDATE … WHERE id = (first due pending) AND state = 'pending' RETURNING …``: a
    worker that loses the race to another gets no row and tries the next pending item. The
    item comes back detached, so later commits do not expire what the handler reads. Items
    waiting for a planned retry are left to the sweeper, which starts workers when due.
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
        remaining = db.session.execute(_ANY_PENDING, {"job": job_id, "now": now}).first()
        db.session.commit()
        if remaining is None:
            return None


def settle(
    job_id: int,
    item_id: int,
    outcome: ItemOutcome,
    *,
    job: Job | None = None,
    item: JobItem | None = None,
    worker: str | None = None,
) -> bool:
    """Store an item's outcome: a transient failure is retried while the policy allows,
    anything else is recorded as final (``record``). Returns whether this call stored it.

    ``worker``: the worker holding the item (nothing is stored if it lost it); None for
    recovery, which settles whatever unfinished item it reconciled."""
    if outcome.state is ItemState.FAILED and outcome.transient:
        tries = 1 + (
            item.tries
            if item is not None
            else db.session.scalar(select(JobItem.tries).where(JobItem.id == item_id)) or 0
        )
        policy = retries.load_policy()
        delay = policy.delay_after(tries, outcome.retry_after)
        if delay is not None:
            retry_at = utcnow() + timedelta(seconds=delay)
            return _plan_retry(item_id, outcome, tries, retry_at, worker)
        outcome = replace(
            outcome,
            error_message=f"{outcome.error_message or 'Échec temporaire'} "
            f"(abandon après {tries} essai{'s' if tries > 1 else ''}).",
        )
        return record(job_id, item_id, outcome, job=job, item=item, tries=tries, worker=worker)
    return record(job_id, item_id, outcome, job=job, item=item, worker=worker)


def _plan_retry(
    item_id: int, outcome: ItemOutcome, tries: int, retry_at: datetime, worker: str | None
) -> bool:
    """Put the item back to pending until ``retry_at`` (compare-and-set); commits."""
    statement = update(JobItem).where(
        JobItem.id == item_id, JobItem.state.in_(UNFINISHED_ITEM_STATES)
    )
    if worker is not None:
        statement = statement.where(JobItem.claimed_by == worker)
    with serialized_writes():
        planned = changed_rows(
            statement.values(
                state=ItemState.PENDING,
                claimed_by=None,
                lease_until=None,
                step=None,
                retry_at=retry_at,
                tries=tries,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
                explanation=outcome.explanation,
            )
        )
        db.session.commit()
    if planned:
        log.info("item %s: transient failure %d, retry at %s", item_id, tries, retry_at)
    return planned == 1


def record(
    job_id: int,
    item_id: int,
    outcome: ItemOutcome,
    *,
    job: Job | None = None,
    item: JobItem | None = None,
    tries: int | None = None,
    worker: str | None = None,
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
    values = _outcome_values(outcome)
    if tries is not None:
        values["tries"] = tries
    statement, held = (_RECORD, {}) if worker is None else (_RECORD_HELD, {"worker": worker})
    with serialized_writes():
        if changed_rows(statement, {"item": item_id, **held, **values}) != 1:
            db.session.rollback()
            return False
        db.session.execute(_COUNT_OUTCOME[outcome.state], {"job": job_id})
        handler.release(job, item, outcome)
        db.session.commit()
    return True


def _outcome_values(outcome: ItemOutcome) -> dict[str, Any]:
    return {
        "state": outcome.state,
        "finished_at": utcnow(),
        "lease_until": None,
        "retry_at": None,
        "step": None,
        "chorus_invoice_id": outcome.chorus_invoice_id,
        "chorus_status": outcome.chorus_status,
        "error_code": outcome.error_code,
        "error_message": outcome.error_message,
        "explanation": outcome.explanation,
    }


def process_item(job: Job, item: JobItem, worker: str, handler: JobHandler) -> None:
    """Process one claimed item and store its outcome (``job`` and ``item`` detached)."""
    try:
        outcome = handler.process(job, item, WorkContext(item.id, worker))
        settle(job.id, item.id, outcome, job=job, item=item, worker=worker)
        return
    except ClaimLost:
        db.session.rollback()
        log.warning(
            "job %s item %s: taken over by recovery, dropped by %s", job.id, item.id, worker
        )
        return
    except OutcomeUnknown:
        db.session.rollback()
        _try_reconcile(job.id, item.id, worker)
        return
    except Exception as exc:  # a bug must not leave a document locked: record and go on
        log.exception("job %s item %s failed unexpectedly", job.id, item.id)
        db.session.rollback()
        state = db.session.scalar(select(JobItem.state).where(JobItem.id == item.id))
        if state == ItemState.SUBMITTING:
            _try_reconcile(job.id, item.id, worker)
            return
        outcome = ItemOutcome(
            ItemState.FAILED,
            error_code="ERREUR_INTERNE",
            error_message=f"Erreur interne du portail ({type(exc).__name__}).",
        )
    record(job.id, item.id, outcome, worker=worker)


def _try_reconcile(job_id: int, item_id: int, worker: str | None = None) -> bool:
    """Ask the handler to resolve an unknown outcome now; True when resolved.

    ``worker``: the worker that submitted, which resolves only an item it still holds.
    """
    job = db.session.get(Job, job_id)
    item = db.session.get(JobItem, item_id)
    if job is None or item is None or item.state != ItemState.SUBMITTING:
        return True
    if worker is not None and item.claimed_by != worker:
        return True  # taken over by recovery: the new holder resolves it
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
    return settle(job_id, item_id, outcome, worker=worker)


def unfinished_count(job_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(
                JobItem.job_id == job_id,
                JobItem.state.in_(UNFINISHED_ITEM_STATES),
            )
        )
        or 0
    )


def try_finish(job_id: int) -> bool:
    """Finalize the job exactly once when every item is final; returns whether this call did.

    The process that takes the job to ``finishing`` becomes its owner; the report, the
    notifications and the final state are committed together, and only while it still owns
    the job (another process may have adopted it, see ``portal.jobs.sweeper``).
    """
    if unfinished_count(job_id):
        db.session.commit()
        return False
    me = process_name()
    taken = changed_rows(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING)
        .values(state=JobState.FINISHING, owner=me, heartbeat_at=utcnow())
    )
    db.session.commit()
    if taken != 1:
        return False
    job = db.session.get(Job, job_id)
    if job is None:
        return False
    final: dict[str, Any] = {"state": JobState.DONE, "error": None}
    try:
        handler_for(job.kind).finalize(job)
    except Exception as exc:
        log.exception("finalizing job %s failed", job_id)
        db.session.rollback()
        final = {
            "state": JobState.FAILED,
            "error": f"Erreur pendant la finalisation : {type(exc).__name__}",
        }
    db.session.flush()
    ended = changed_rows(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.FINISHING, Job.owner == me)
        .values(**final, finished_at=utcnow())
    )
    if ended != 1:  # adopted by another process meanwhile: its finalization wins
        db.session.rollback()
        return False
    db.session.commit()
    return True


def work(job_id: int) -> None:
    """One worker: claim and process items until none is due, then try to finish the job."""
    worker = worker_name()
    job = _detached_job(job_id)
    if job is not None:
        handler = handler_for(job.kind)
        beat = time.monotonic()
        while (item := claim_next(job_id, worker)) is not None:
            process_item(job, item, worker, handler)
            if time.monotonic() - beat > lease().total_seconds() / 3:
                _heartbeat(job_id)  # a long job stays ours even without a sweeper
                beat = time.monotonic()
    for pause in RECONCILE_PAUSES:
        # Only items of unknown outcome (lease given up) are worth waiting for: an item
        # another worker is submitting is that worker's, which records it and finishes.
        if try_finish(job_id) or not _submitting_ids(job_id, expired_only=True):
            break
        time.sleep(pause)
        for item_id in _submitting_ids(job_id, expired_only=True):
            _try_reconcile(job_id, item_id)
    try_finish(job_id)


def _heartbeat(job_id: int) -> None:
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.owner == process_name())
        .values(heartbeat_at=utcnow())
    )
    db.session.commit()


def _detached_job(job_id: int) -> Job | None:
    """The job, loaded once per worker: what handlers read of it never changes."""
    job = db.session.get(Job, job_id)
    if job is not None:
        db.session.expunge(job)
    db.session.commit()
    return job


def _submitting_ids(job_id: int | None, *, expired_only: bool = False) -> list[int]:
    query = select(JobItem.id).where(JobItem.state == ItemState.SUBMITTING)
    if job_id is not None:
        query = query.where(JobItem.job_id == job_id)
    if expired_only:
        query = query.where(JobItem.lease_until < utcnow())
    ids = list(db.session.scalars(query))
    db.session.commit()
    return ids


def recover(job_id: int | None = None) -> None:
    """Resolve the items crashed or timed-out workers left behind (of one job, or all).

    Safe to run in every process at once: every change is a compare-and-set.
    """
    for item_id in _submitting_ids(job_id, expired_only=True):
        owner = db.session.scalar(select(JobItem.job_id).where(JobItem.id == item_id))
        if owner is not None:
            _try_reconcile(owner, item_id)
    # Claimed but never submitted by a worker that died: safe to hand out again.
    released = update(JobItem).where(
        JobItem.state == ItemState.CLAIMED, JobItem.lease_until < utcnow()
    )
    if job_id is not None:
        released = released.where(JobItem.job_id == job_id)
    db.session.execute(released.values(state=ItemState.PENDING, claimed_by=None, lease_until=None))
    db.session.commit()


def has_due_items(job_id: int) -> bool:
    due = db.session.execute(_ANY_PENDING, {"job": job_id, "now": utcnow()}).first()
    db.session.commit()
    return due is not None
