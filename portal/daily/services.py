"""The automatic daily run at 19:00 Europe/Paris (S3, S4, S14, S15, B6).

``run_daily`` is the single entry point of the scheduler, the CLI and any "run now" button.
It claims the day (a unique ``claim_key`` row), so however many processes or servers fire
at 19:00, one run happens and the others record that they skipped. ``next_run_on``,
``next_run_at`` and ``should_catch_up`` tell the scheduler and the screens when it runs.
The rules are in ``portal.daily.rules``, the selection and the preview in
``portal.daily.queries``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from portal.auth.models import User
from portal.clock import PARIS, now
from portal.daily import queries
from portal.daily.rules import (
    CATCH_UP_FROM,
    CATCH_UP_UNTIL,
    DAILY_TASK,
    NO_CUTOFF,
    RUN_AT,
    claim_key,
    skip_reason,
)
from portal.extensions import db
from portal.jobs import executions
from portal.jobs.models import ExecutionState, JobKind, TaskExecution, process_name
from portal.sending import services as sending
from portal.settings import chorus as chorus_settings

log = logging.getLogger(__name__)


# -- when it runs ---------------------------------------------------------------------------------


def next_run_on(moment: datetime | None = None) -> date:
    """Date of the next automatic run: today until it has run (or its window closed).

    A failed 19:00 execution (empty cut-off…) releases the day for a manual run, but the
    schedule does not retry it: the next automatic run is tomorrow.
    """
    moment = (moment or now()).astimezone(PARIS)
    today = moment.date()
    if moment.time() > CATCH_UP_UNTIL or queries.claimed(today):
        return today + timedelta(days=1)
    if moment.time() >= RUN_AT and queries.automatic_attempt(today):
        return today + timedelta(days=1)
    return today


def next_run_at(moment: datetime | None = None) -> datetime:
    """When the next automatic run should start (Europe/Paris); ``moment`` if overdue."""
    moment = (moment or now()).astimezone(PARIS)
    planned = datetime.combine(next_run_on(moment), RUN_AT, tzinfo=PARIS)
    return max(planned, moment)


def should_catch_up(moment: datetime | None = None) -> date | None:
    """The date to run now when 19:00 passed while the portal was down (bounded window).

    Only once: not when the day is claimed, nor when the schedule already fired today and
    failed (a failed run is not retried every minute; an administrator re-runs it).
    """
    moment = (moment or now()).astimezone(PARIS)
    if not (CATCH_UP_FROM <= moment.time() <= CATCH_UP_UNTIL):
        return None
    today = moment.date()
    if queries.claimed(today) or queries.automatic_attempt(today):
        return None
    return today


# -- the run ---------------------------------------------------------------------------------------


def run_daily(
    run_on: date, *, trigger: str, user: User | None = None, note: str | None = None
) -> TaskExecution:
    """Run the automatic dematerialization for ``run_on`` once; commits and launches the job.

    Whoever runs it (the schedule, a person with ``user``, the command line) claims the day:
    its 19:00 run does not happen again. Returns the execution recorded: started (with its
    job), failed (with the reason, e.g. an empty cut-off: nothing selected, no report, no
    notification) or skipped (the day already ran: the message says when and by whom). A
    failed execution releases the day, so a run after the fix is not taken for a duplicate.
    ``note`` (e.g. why a future day was forced) is kept in the execution's message.
    """
    execution = executions.claim(
        DAILY_TASK,
        run_on,
        claim_key(run_on),
        trigger=trigger,
        skipped_message=_skip_message,
        user=user,
        message=note,
    )
    if execution.state == ExecutionState.SKIPPED:
        return execution

    execution_id = execution.id
    try:
        settings = chorus_settings.load()
        problem = None
        if settings.cutoff_date is None:
            problem = NO_CUTOFF
        elif not settings.enabled:
            problem = "dématérialisation désactivée"
        if problem is not None:
            return _fail(execution, problem[0].upper() + problem[1:] + ".")
        job = sending.start_send(
            queries.due_documents(run_on, settings), kind=JobKind.DAILY_SEND, user=user
        )
        job.options = {**(job.options or {}), "trigger": trigger}  # who ran it (B9)
        execution.job_id = job.id
        db.session.commit()
    except Exception as error:
        # Nothing was committed but the claim: record why and give the day back.
        log.exception("daily run of %s failed", run_on)
        db.session.rollback()
        claimed = db.session.get(TaskExecution, execution_id)
        if claimed is None:  # pragma: no cover  (the row was committed above)
            raise
        return _fail(claimed, f"Erreur interne du portail ({type(error).__name__}).")
    sending.launch(job)
    return execution


def _fail(execution: TaskExecution, message: str) -> TaskExecution:
    execution.state = ExecutionState.FAILED
    execution.message = f"{message} {execution.message}" if execution.message else message
    execution.claim_key = None
    db.session.commit()
    return execution


def _skip_message(holder: TaskExecution | None) -> str:
    # ``worker`` is ``host:pid:thread``: the process is all but the thread.
    same_process = holder is not None and (holder.worker or "").rsplit(":", 1)[0] == (
        process_name()
    )
    return skip_reason(holder, now(), same_process=same_process)
