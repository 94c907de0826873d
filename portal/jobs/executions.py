"""Firings of scheduled tasks: claim one run across every process, or record the skip."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.jobs.models import ExecutionState, TaskExecution
from portal.jobs.runner import worker_name


def claim(
    task: str, run_on: date, claim_key: str | None, *, trigger: str, skipped_message: str
) -> TaskExecution:
    """Start an execution of ``task``, once per ``claim_key`` whatever the number of processes.

    The unique ``claim_key`` row is the lock: the process that inserts it gets a *started*
    execution; any other gets a *skipped* one carrying ``skipped_message``. Both commit.
    A ``claim_key`` of None (a run asked by hand) always starts.
    """
    execution = TaskExecution(
        task=task,
        run_on=run_on,
        claim_key=claim_key,
        trigger=trigger,
        state=ExecutionState.STARTED.value,
        worker=worker_name(),
    )
    db.session.add(execution)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        execution = TaskExecution(
            task=task,
            run_on=run_on,
            trigger=trigger,
            state=ExecutionState.SKIPPED.value,
            worker=worker_name(),
            message=skipped_message,
        )
        db.session.add(execution)
        db.session.commit()
    return execution
