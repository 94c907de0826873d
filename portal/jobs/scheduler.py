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
import threading
from collections.abc import Callable
from datetime import date, datetime

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from portal.clock import PARIS
from portal.extensions import db

log = logging.getLogger(__name__)

DAILY_JOB = "envoi-quotidien"
CATCH_UP_JOB = "rattrapage"
SYNC_JOB = "synchronisation-planning"
EXPIRY_CHECK_JOB = "expiration-mot-de-passe-chorus"  # B5, daily at 08:00
STATUS_SYNC_JOB = "suivi-statuts-chorus"  # B1, every 2 hours from 07:00 to 21:00
SYNC_SECONDS = 60
# A firing delayed by a busy process still runs within this many seconds.
MISFIRE_GRACE_SECONDS = 15 * 60


def daily_trigger() -> CronTrigger:
    return CronTrigger(hour=19, minute=0, timezone=PARIS)


def status_sync_trigger() -> CronTrigger:
    return CronTrigger(hour="7-21/2", minute=0, timezone=PARIS)


class PortalScheduler:
    """Owns the BackgroundScheduler and keeps its jobs in line with the settings."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.scheduler = BackgroundScheduler(timezone=PARIS)
        # sync() runs from the scheduler's tick and from requests that change the settings.
        self._sync_lock = threading.Lock()

    def start(self) -> None:
        self.scheduler.add_job(
            self.sync, "interval", seconds=SYNC_SECONDS, id=SYNC_JOB, coalesce=True, max_instances=1
        )
        self.scheduler.add_job(
            self.check_password_expiry,
            CronTrigger(hour=8, minute=0, timezone=PARIS),
            id=EXPIRY_CHECK_JOB,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
        self.scheduler.start()
        self.scheduler.add_job(self.startup, id="demarrage")

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)

    def startup(self) -> None:
        """Recover what a previous run of the process left, sweep from now on, align the
        schedule."""
        from portal.jobs.runner import get_runner

        runner = get_runner(self.app)
        runner.sweep()
        runner.start_sweeping()
        self.sync()

    def sync(self) -> None:
        """Add or remove the daily job from the current settings; catch up a missed 19:00."""
        from portal.clock import now
        from portal.daily import services as daily
        from portal.settings import chorus

        with self._sync_lock:
            with self.app.app_context():
                try:
                    problems = daily.trigger_problems(chorus.load())
                    catch_up = daily.should_catch_up() if not problems else None
                finally:
                    db.session.remove()
            job = self._align(
                DAILY_JOB, problems, self.run_daily, daily_trigger(), "daily run at 19:00"
            )
            # A 19:00 firing still pending in this process (late, within its grace time)
            # runs by itself: no catch-up on top of it.
            pending = getattr(job, "next_run_time", None) if job is not None else None
            if catch_up is not None and (pending is None or pending > now()):
                self.scheduler.add_job(
                    self.catch_up, id=CATCH_UP_JOB, args=[catch_up], replace_existing=True
                )
            self._sync_status_follow_up()

    def _align(
        self,
        job_id: str,
        problems: list[str],
        task: Callable[[], None],
        trigger: CronTrigger,
        description: str,
    ) -> Job | None:
        """The schedule is data: the job exists exactly when nothing prevents it."""
        job = self.scheduler.get_job(job_id)
        if problems and job is not None:
            self.scheduler.remove_job(job_id)
            log.info("%s unscheduled: %s", description, "; ".join(problems))
            return None
        if not problems and job is None:
            job = self.scheduler.add_job(
                task,
                trigger,
                id=job_id,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                replace_existing=True,
            )
            log.info("%s scheduled", description)
        return job

    def _sync_status_follow_up(self) -> None:
        """B1: the status follow-up exists while S1 is on and the connection is complete."""
        from portal.followup import services as followup
        from portal.settings import chorus

        with self.app.app_context():
            try:
                problems = followup.schedule_problems(chorus.load())
            finally:
                db.session.remove()
        self._align(
            STATUS_SYNC_JOB,
            problems,
            self.run_status_sync,
            status_sync_trigger(),
            "status follow-up every 2 hours from 07:00 to 21:00",
        )

    def run_status_sync(self) -> None:
        """One firing of the follow-up, claimed for its slot across processes."""
        from portal.clock import now
        from portal.followup import services as followup

        with self.app.app_context():
            try:
                followup.run_status_sync(trigger=followup.SCHEDULED, claim=followup.slot_key(now()))
            except Exception:
                log.exception("status follow-up failed")
            finally:
                db.session.remove()

    def run_daily(self) -> None:
        """The 19:00 firing: today's run, unless the settings changed in the meantime."""
        from portal.clock import today
        from portal.daily import services as daily

        self._run(today(), trigger=daily.SCHEDULED)

    def catch_up(self, run_on: date) -> None:
        from portal.daily import services as daily

        self._run(run_on, trigger=daily.CATCH_UP)

    def _run(self, run_on: date, *, trigger: str) -> None:
        from portal.daily import services as daily
        from portal.settings import chorus

        with self.app.app_context():
            try:
                problems = daily.trigger_problems(chorus.load())
                if problems:  # another process changed the settings less than a minute ago
                    log.info("daily run not started: %s", "; ".join(problems))
                    return
                daily.run_daily(run_on, trigger=trigger)
            except Exception:
                log.exception("daily run failed")
            finally:
                db.session.remove()

    def check_password_expiry(self) -> None:
        """B5: read the technical password's expiry from Chorus, remind the admins if close."""
        from portal.chorus import health

        with self.app.app_context():
            try:
                health.check_password_expiry()
            except Exception:
                log.exception("Chorus password expiry check failed")
            finally:
                db.session.remove()

    def next_daily_run(self) -> datetime | None:
        """Next firing of the 19:00 job in this process (None: not scheduled or not started)."""
        job = self.scheduler.get_job(DAILY_JOB)
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
