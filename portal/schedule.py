"""What the scheduler process runs, and when (S14, B1, B5): the schedule as data.

``TASKS`` is given to the app by the app factory and run by ``portal.jobs.scheduler`` in
the one process meant for it. Every task claims its run in the database, so the
``TaskExecution`` records are those of the area's own entry point, whoever fires it.
"""

from __future__ import annotations

import logging
from datetime import date

from apscheduler.triggers.cron import CronTrigger

from portal.clock import PARIS, now, today
from portal.connection import password_expiry
from portal.daily import rules as daily_rules
from portal.daily import services as daily
from portal.followup import services as followup
from portal.jobs.scheduler import CatchUp, ScheduledTask
from portal.settings import chorus

log = logging.getLogger(__name__)

# Scheduler job ids: the task names of their ``TaskExecution`` records, where they have one.
DAILY_JOB = daily_rules.DAILY_TASK  # S14, every day at 19:00
CATCH_UP_JOB = "rattrapage"  # the 19:00 run missed while the portal was down
STATUS_SYNC_JOB = followup.TASK  # B1, every 2 hours from 07:00 to 21:00
EXPIRY_CHECK_JOB = "expiration-mot-de-passe-chorus"  # B5, every day at 08:00


def _daily_blockers() -> list[str]:
    return daily_rules.trigger_problems(chorus.load())


def _daily_run(run_on: date, trigger: str) -> None:
    """The daily run, unless the settings changed since the schedule was aligned."""
    problems = _daily_blockers()
    if problems:  # another process changed the settings less than a minute ago
        log.info("daily run not started: %s", "; ".join(problems))
        return
    daily.run_daily(run_on, trigger=trigger)


def _scheduled_daily_run() -> None:
    _daily_run(today(), daily_rules.SCHEDULED)


def _missed_daily_run() -> date | None:
    return daily.should_catch_up()


def _catch_up_daily_run(run_on: date) -> None:
    _daily_run(run_on, daily_rules.CATCH_UP)


def _status_sync_blockers() -> list[str]:
    return followup.schedule_problems(chorus.load())


def _scheduled_status_sync() -> None:
    """One firing of the follow-up, claimed for its slot across processes."""
    followup.run_status_sync(trigger=followup.SCHEDULED, claim=followup.slot_key(now()))


def _check_password_expiry() -> None:
    """Read the technical password's expiry from Chorus, remind the admins if close."""
    password_expiry.check_password_expiry()


TASKS = (
    ScheduledTask(
        DAILY_JOB,
        "daily run",
        CronTrigger(hour=19, minute=0, timezone=PARIS),
        _scheduled_daily_run,
        blockers=_daily_blockers,
        catch_up=CatchUp(CATCH_UP_JOB, _missed_daily_run, _catch_up_daily_run),
    ),
    ScheduledTask(
        STATUS_SYNC_JOB,
        "status follow-up",
        CronTrigger(hour="7-21/2", minute=0, timezone=PARIS),
        _scheduled_status_sync,
        blockers=_status_sync_blockers,
    ),
    ScheduledTask(
        EXPIRY_CHECK_JOB,
        "Chorus password expiry check",
        CronTrigger(hour=8, minute=0, timezone=PARIS),
        _check_password_expiry,
    ),
)
