"""The job machinery of one process: its worker pool, the jobs it owns and its sweeper.

``get_runner(app)`` gives the process's ``JobRunner``; ``launch`` starts a new job and makes
sure this process sweeps (``portal.jobs.sweeper``). What a worker does with one item, and
every guarantee across processes, is in ``portal.jobs.runner``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from flask import Flask
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobItem, JobState
from portal.jobs.runner import work
from portal.jobs.sweeper import Sweeper, sweep, sweep_interval


class JobRunner:
    """Thread pool of a process (``JOB_WORKERS`` threads, default 4) and the jobs it runs.

    It keeps no reference to finished work: a task's future is dropped when it ends, and a
    job leaves ``owned`` once it is no longer running.
    """

    def __init__(self, app: Flask, workers: int) -> None:
        self.app = app
        self.workers = max(1, workers)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="job")
        self._lock = threading.Lock()
        self._tasks: set[Future[None]] = set()
        self._active: dict[int, int] = {}  # job id → workers on it in this process
        self.owned: set[int] = set()  # jobs this process runs (heartbeat renewed)
        self.sweeper: Sweeper | None = None

    def start(self, job_id: int) -> None:
        """Put workers on a job (at most one per due item, at most the pool size)."""
        with self.app.app_context():
            pending = db.session.scalar(
                select(func.count())
                .select_from(JobItem)
                .where(JobItem.job_id == job_id, JobItem.state == ItemState.PENDING)
            )
            db.session.remove()
        with self._lock:
            self.owned.add(job_id)
            wanted = max(1, min(self.workers, pending or 1)) - self._active.get(job_id, 0)
        for _ in range(wanted):
            self._submit(self._run, job_id, job_id=job_id)

    def _submit(self, task: Callable[..., None], *args: object, job_id: int | None = None) -> None:
        """Run ``task`` in the pool; the future is forgotten when it ends."""
        with self._lock:
            if job_id is not None:
                self._active[job_id] = self._active.get(job_id, 0) + 1
            future = self._executor.submit(task, *args)
            self._tasks.add(future)
        future.add_done_callback(lambda done: self._forget(done, job_id))

    def _forget(self, future: Future[None], job_id: int | None) -> None:
        with self._lock:
            self._tasks.discard(future)
            if job_id is not None:
                left = self._active.get(job_id, 1) - 1
                if left > 0:
                    self._active[job_id] = left
                else:
                    self._active.pop(job_id, None)

    def has_workers(self, job_id: int) -> bool:
        with self._lock:
            return job_id in self._active

    def launch(self, job_id: int) -> None:
        """Start a new job of this process, and make sure this process sweeps (B7)."""
        with self._lock:
            self.owned.add(job_id)
        self.start_sweeping()
        self.start(job_id)

    def start_sweeping(self) -> None:
        """Start the periodic sweep of this process (``JOB_SWEEP_SECONDS``; 0: never)."""
        interval = sweep_interval(self.app)
        with self._lock:
            if self.sweeper is not None or not interval:
                return
            self.sweeper = Sweeper(self, interval)
        self.sweeper.start()

    def sweep(self) -> datetime | None:
        """One sweep of this process (see ``portal.jobs.sweeper.sweep``)."""
        return sweep(self)

    def _run(self, job_id: int) -> None:
        with self.app.app_context():
            try:
                work(job_id)
            finally:
                db.session.remove()

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Block until the job is no longer running in the database (CLI, tests).

        While it waits, it drives the job as a sweep would (retries that come due, an owner
        that died), so a command line waiting for its job needs nothing else.
        """
        from portal.jobs.sweeper import drive

        deadline = None if timeout is None else time.monotonic() + timeout
        next_drive = time.monotonic() + 0.5
        while True:
            with self.app.app_context():
                state = db.session.scalar(select(Job.state).where(Job.id == job_id))
                db.session.remove()
            if state not in (JobState.RUNNING, JobState.FINISHING):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {state}")
            if time.monotonic() >= next_drive:
                with self.app.app_context():
                    try:
                        drive(self, job_id)
                    finally:
                        db.session.remove()
                next_drive = time.monotonic() + 0.5
            time.sleep(0.05)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until every task submitted to this pool so far is done (tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                futures = list(self._tasks)
            if not futures:
                return
            for future in futures:
                remaining = None if deadline is None else max(0, deadline - time.monotonic())
                future.result(timeout=remaining)

    def shutdown(self) -> None:
        if self.sweeper is not None:
            self.sweeper.stop()
        self._executor.shutdown(wait=True, cancel_futures=False)


def get_runner(app: Flask) -> JobRunner:
    """The app's runner, created on first use (never at import or in create_app)."""
    runner = app.extensions.get("portal.job_runner")
    if runner is None:
        runner = JobRunner(app, int(app.config.get("JOB_WORKERS", 4)))
        app.extensions["portal.job_runner"] = runner
    return runner
