"""Continuous recovery: every portal process sweeps on a timer, not only when it starts.

Each sweep, in every process that runs jobs (web workers, the scheduler process, a command
line while it waits for its job):

1. renews the heartbeat of the jobs this process runs, and forgets those that ended;
2. recovers expired leases: an item left ``submitting`` is reconciled by a look-up in
   Chorus before anything is sent again, an item left ``claimed`` goes back to ``pending``;
3. adopts the jobs whose process died — heartbeat older than the lease, or an owner on this
   host whose pid is gone — with a compare-and-set, so one process takes each over, and
   counts the takeover in ``Job.resumed_count`` (« Interrompue puis reprise »);
4. for every job it runs: starts workers on items that are due (new, or a planned retry)
   and finishes the job, with its report and notification, once every item is final.

It then sleeps ``JOB_SWEEP_SECONDS`` (default 30, ±20 % jitter so processes spread out),
or less when a retry of its own jobs comes due sooner. Every step is a compare-and-set:
any number of processes may sweep at once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy import func, select, update

from portal.clock import utcnow
from portal.extensions import db
from portal.jobs import runner as jobs
from portal.jobs.models import ItemState, Job, JobItem, JobState, process_name
from portal.sql import changed_rows

if TYPE_CHECKING:
    from portal.jobs.pool import JobRunner

log = logging.getLogger(__name__)

DEFAULT_SWEEP_SECONDS = 30
_LIVE = (JobState.RUNNING, JobState.FINISHING)


def sweep_interval(app: Flask) -> float:
    """Seconds between two sweeps of a process (``JOB_SWEEP_SECONDS``; 0 turns it off)."""
    value = app.config.get("JOB_SWEEP_SECONDS", DEFAULT_SWEEP_SECONDS)
    return max(0.0, float(value or 0))


class Sweeper:
    """The background thread of one process that calls ``sweep`` on a timer."""

    def __init__(self, runner: JobRunner, interval: float) -> None:
        self.runner = runner
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sweeping; waits for a sweep under way (bounded)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                next_retry = sweep(self.runner)
            except Exception:  # a database hiccup must not end recovery for good
                log.exception("job sweep failed")
                next_retry = None
            self._stop.wait(self._pause(next_retry))

    def _pause(self, next_retry: datetime | None) -> float:
        pause = self.interval * random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not security)
        if next_retry is not None:
            pause = min(pause, max(0.05, (next_retry - utcnow()).total_seconds()))
        return pause


def sweep(runner: JobRunner) -> datetime | None:
    """One sweep (see the module's docstring); returns when a retry of its jobs comes due."""
    with runner.app.app_context():
        try:
            _renew(runner)
            jobs.recover()
            for job_id in _orphans():
                if _adopt(job_id):
                    log.warning("job %s lost its process: taken over by %s", job_id, process_name())
                    runner.owned.add(job_id)
            return _drive_owned(runner)
        finally:
            db.session.remove()


def drive(runner: JobRunner, job_id: int) -> None:
    """What a sweep does for one job (a command line waiting for its job)."""
    jobs.recover(job_id)
    if job_id in _orphans(job_id) and _adopt(job_id):
        runner.owned.add(job_id)
    _drive(runner, job_id)


def _renew(runner: JobRunner) -> None:
    """Heartbeat of the jobs this process runs; those ended or taken over are forgotten."""
    owned = sorted(runner.owned)
    if not owned:
        return
    mine = (Job.id.in_(owned), Job.state.in_(_LIVE), Job.owner == process_name())
    db.session.execute(update(Job).where(*mine).values(heartbeat_at=utcnow()))
    kept = set(db.session.scalars(select(Job.id).where(*mine)))
    db.session.commit()
    runner.owned.difference_update(set(owned) - kept)


def _orphans(job_id: int | None = None) -> list[int]:
    """Live jobs whose process is gone: heartbeat past the lease, or a dead pid here."""
    query = select(Job.id, Job.owner, Job.heartbeat_at).where(Job.state.in_(_LIVE))
    if job_id is not None:
        query = query.where(Job.id == job_id)
    stale_before = utcnow() - jobs.lease()
    found = [
        found_id
        for found_id, owner, heartbeat in db.session.execute(query)
        if heartbeat is None or heartbeat < stale_before or _dead_here(owner)
    ]
    db.session.commit()
    return found


def _dead_here(owner: str | None) -> bool:
    """Is ``owner`` (``host:pid``) a process of this host that no longer exists?"""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped still has a pid: its state letter is Z (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _adopt(job_id: int) -> bool:
    """Take an orphan job over (compare-and-set on what was read); True when this call did."""
    row = db.session.execute(
        select(Job.owner, Job.heartbeat_at, Job.state).where(Job.id == job_id)
    ).one_or_none()
    if row is None or row.state not in _LIVE:
        db.session.commit()
        return False
    owner, heartbeat, state = row
    statement = update(Job).where(
        Job.id == job_id,
        Job.state == state,
        Job.owner.is_(None) if owner is None else Job.owner == owner,
        Job.heartbeat_at.is_(None) if heartbeat is None else Job.heartbeat_at == heartbeat,
    )
    # A job stuck in finalization is finalized again from the start: its report and
    # notifications were never committed (they commit with the final state).
    taken = changed_rows(
        statement.values(
            owner=process_name(),
            heartbeat_at=utcnow(),
            resumed_count=Job.resumed_count + 1,
            state=JobState.RUNNING,
        )
    )
    db.session.commit()
    return taken == 1


def _drive_owned(runner: JobRunner) -> datetime | None:
    for job_id in sorted(runner.owned):
        _drive(runner, job_id)
    return _next_retry(sorted(runner.owned))


def _drive(runner: JobRunner, job_id: int) -> None:
    """Start workers on due items, or finish the job when every item is final."""
    if runner.has_workers(job_id):
        return
    if jobs.has_due_items(job_id):
        runner.start(job_id)
    elif not jobs.unfinished_count(job_id):
        db.session.commit()
        jobs.try_finish(job_id)


def _next_retry(job_ids: list[int]) -> datetime | None:
    if not job_ids:
        return None
    when = db.session.scalar(
        select(func.min(JobItem.retry_at)).where(
            JobItem.job_id.in_(job_ids),
            JobItem.state == ItemState.PENDING,
            JobItem.retry_at.is_not(None),
        )
    )
    db.session.commit()
    return when
