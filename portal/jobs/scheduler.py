"""The APScheduler of the one process meant to run it (``SCHEDULER_ENABLED``).

Started by ``wsgi.py`` (production, demo), never by ``create_app``: forked web workers, CLI
commands, tests and the reloader never run scheduled work. Correctness does not depend on
it running once: every task claims its run in the database (see ``daily.run_daily``).

What runs and when is data: the app factory gives the app its list of ``ScheduledTask``
(``portal/schedule.py``) and this module knows no area. A task with ``blockers`` exists
exactly while they are empty: a tick every minute (and every settings change) aligns the
schedule, so a settings change applies without a restart, from any process.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from flask import Flask

from portal.clock import PARIS, now
from portal.extensions import db

log = logging.getLogger(__name__)

SYNC_JOB = "synchronisation-planning"
SYNC_SECONDS = 60
# A firing delayed by a busy process still runs within this many seconds.
MISFIRE_GRACE_SECONDS = 15 * 60
# ``app.extensions`` key of the app's schedule (``install``).
SCHEDULE = "portal.schedule"


@dataclass(frozen=True)
class CatchUp:
    """How a task makes up for a firing missed while no scheduler ran.

    ``missed`` says what to catch up (handed to ``run``), None when nothing is missed.
    """

    job_id: str
    missed: Callable[[], Any]
    run: Callable[[Any], object]


@dataclass(frozen=True)
class ScheduledTask:
    """One line of the schedule.

    ``run`` is called in an application context of its own; an exception is logged under
    ``name``, never raised into the scheduler. ``blockers`` (None: always scheduled) says why
    the task may not run now, from the settings.
    """

    job_id: str
    name: str
    trigger: BaseTrigger
    run: Callable[[], object]
    blockers: Callable[[], list[str]] | None = None
    catch_up: CatchUp | None = None


def install(app: Flask, tasks: Sequence[ScheduledTask]) -> None:
    """Give the app its schedule (the app factory does, once)."""
    app.extensions[SCHEDULE] = tuple(tasks)


class PortalScheduler:
    """Owns the BackgroundScheduler and keeps the app's schedule in line with the settings."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.tasks: tuple[ScheduledTask, ...] = app.extensions[SCHEDULE]
        self._runs: dict[str, tuple[str, Callable[..., object]]] = {}
        for task in self.tasks:
            self._runs[task.job_id] = (task.name, task.run)
            if task.catch_up is not None:
                self._runs[task.catch_up.job_id] = (task.name, task.catch_up.run)
        self.scheduler = BackgroundScheduler(timezone=PARIS)
        # sync() runs from the scheduler's tick and from requests that change the settings.
        self._sync_lock = threading.Lock()

    def start(self) -> None:
        self.scheduler.add_job(
            self.sync, "interval", seconds=SYNC_SECONDS, id=SYNC_JOB, coalesce=True, max_instances=1
        )
        for task in self.tasks:
            if task.blockers is None:
                self._add(task)
        self.scheduler.start()
        self.scheduler.add_job(self.startup, id="demarrage")

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    def startup(self) -> None:
        """Recover what a previous run of the process left, sweep from now on, align the
        schedule."""
        from portal.jobs.pool import get_runner

        runner = get_runner(self.app)
        runner.sweep()
        runner.start_sweeping()
        self.sync()

    def sync(self) -> None:
        """Align every task that depends on the settings; catch up a missed firing."""
        with self._sync_lock:
            for task in self.tasks:
                if task.blockers is not None:
                    self._align(task, task.blockers)

    def _align(self, task: ScheduledTask, blockers: Callable[[], list[str]]) -> None:
        """The schedule is data: the job exists exactly when nothing prevents it."""
        with self.app.app_context():
            try:
                problems = blockers()
                missed = task.catch_up.missed() if task.catch_up and not problems else None
            finally:
                db.session.remove()
        job = self.scheduler.get_job(task.job_id)
        if problems and job is not None:
            self.scheduler.remove_job(task.job_id)
            log.info("%s unscheduled: %s", task.name, "; ".join(problems))
            job = None
        elif not problems and job is None:
            job = self._add(task)
            log.info("%s scheduled (%s)", task.name, task.trigger)
        if task.catch_up is None or missed is None:
            return
        # A firing still pending in this process (late, within its grace time) runs by
        # itself: no catch-up on top of it.
        pending = getattr(job, "next_run_time", None) if job is not None else None
        if pending is None or pending > now():
            self.scheduler.add_job(
                partial(self.fire, task.catch_up.job_id),
                id=task.catch_up.job_id,
                args=[missed],
                replace_existing=True,
            )

    def _add(self, task: ScheduledTask) -> Job:
        return self.scheduler.add_job(
            partial(self.fire, task.job_id),
            task.trigger,
            id=task.job_id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            replace_existing=True,
        )

    def fire(self, job_id: str, *args: Any) -> None:
        """Run a task (or its catch-up) now, as its firing does."""
        name, run = self._runs[job_id]
        with self.app.app_context():
            try:
                run(*args)
            except Exception:
                log.exception("%s failed", name)
            finally:
                db.session.remove()

    def next_run(self, job_id: str) -> datetime | None:
        """Next firing of a task in this process (None: not scheduled or not started)."""
        job = self.scheduler.get_job(job_id)
        return getattr(job, "next_run_time", None) if job is not None else None


def current(app: Flask) -> PortalScheduler | None:
    """The scheduler running in this process, if any."""
    scheduler: PortalScheduler | None = app.extensions.get("portal.scheduler")
    return scheduler


def settings_changed(app: Flask) -> None:
    """Apply a settings change now in this process (other processes follow within a minute)."""
    scheduler = current(app)
    if scheduler is not None:
        scheduler.sync()


def start_if_enabled(app: Flask) -> bool:
    """Start the scheduler when ``SCHEDULER_ENABLED`` is set; returns whether it did."""
    if not app.config.get("SCHEDULER_ENABLED") or app.config.get("TESTING"):
        return False
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":  # never in a reloader child
        return False
    if current(app) is not None:
        return True
    scheduler = PortalScheduler(app)
    app.extensions["portal.scheduler"] = scheduler
    scheduler.start()
    return True
