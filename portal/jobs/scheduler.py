"""The APScheduler of the one process meant to run it (``SCHEDULER_ENABLED``).

Started by ``wsgi.py`` (production, demo), never by ``create_app``: forked web workers, CLI
commands, tests and the reloader never run scheduled work. Correctness does not depend on
it running once: every task claims its run in the database (see ``daily.run_daily``).

The schedule is data derived from the settings: a tick every minute adds or removes the
19:00 job, so a settings change applies without a restart, from any process.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from portal.clock import PARIS
from portal.extensions import db

log = logging.getLogger(__name__)

DAILY_JOB = "envoi-quotidien"
SYNC_JOB = "synchronisation-planning"
SYNC_SECONDS = 60
# A firing delayed by a busy process still runs within this many seconds.
MISFIRE_GRACE_SECONDS = 15 * 60


def daily_trigger() -> CronTrigger:
    return CronTrigger(hour=19, minute=0, timezone=PARIS)


class PortalScheduler:
    """Owns the BackgroundScheduler and keeps its jobs in line with the settings."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.scheduler = BackgroundScheduler(timezone=PARIS)

    def start(self) -> None:
        self.scheduler.add_job(
            self.sync, "interval", seconds=SYNC_SECONDS, id=SYNC_JOB, coalesce=True, max_instances=1
        )
        self.scheduler.start()
        self.scheduler.add_job(self.startup, id="demarrage")

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    def startup(self) -> None:
        """Reconcile what a previous run of the process left, then align the schedule."""
        from portal.jobs.runner import get_runner

        get_runner(self.app).recover_and_resume()
        self.sync()

    def sync(self) -> None:
        """Add or remove the daily job from the current settings; catch up a missed 19:00."""
        from portal.dematerialization import daily
        from portal.settings import chorus

        with self.app.app_context():
            try:
                problems = daily.trigger_problems(chorus.load())
                catch_up = daily.should_catch_up() if not problems else None
            finally:
                db.session.remove()
        present = self.scheduler.get_job(DAILY_JOB) is not None
        if problems and present:
            self.scheduler.remove_job(DAILY_JOB)
            log.info("daily run unscheduled: %s", "; ".join(problems))
        elif not problems and not present:
            self.scheduler.add_job(
                self.run_daily,
                daily_trigger(),
                id=DAILY_JOB,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )
            log.info("daily run scheduled at 19:00 Europe/Paris")
        if catch_up is not None:
            self.scheduler.add_job(self.run_daily, id="rattrapage", replace_existing=True)

    def run_daily(self) -> None:
        from portal.clock import today
        from portal.dematerialization import daily

        with self.app.app_context():
            try:
                daily.run_daily(today(), trigger="planifiée")
            except Exception:
                log.exception("daily run failed")
            finally:
                db.session.remove()

    def next_daily_run(self) -> datetime | None:
        job = self.scheduler.get_job(DAILY_JOB)
        return job.next_run_time if job is not None else None


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
