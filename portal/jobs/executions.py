"""Firings of scheduled tasks: claim one run across every process, or record the skip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.auth.models import User
from portal.extensions import db
from portal.jobs.models import ExecutionState, TaskExecution
from portal.jobs.runner import worker_name


def claim(
    task: str,
    run_on: date,
    claim_key: str | None,
    *,
    trigger: str,
    skipped_message: str | Callable[[TaskExecution | None], str],
    user: User | None = None,
    message: str | None = None,
) -> TaskExecution:
    """Start an execution of ``task``, once per ``claim_key`` whatever the number of processes.

    The unique ``claim_key`` row is the lock: the process that inserts it gets a *started*
    execution (carrying ``message``); any other gets a *skipped* one carrying
    ``skipped_message``, or what it says of the execution holding the key (None if that one
    gave the key back meanwhile). Both commit, recording ``user`` (who asked, B9).
    A ``claim_key`` of None (a run asked by hand) always starts.
    """

    def record(state: ExecutionState, text: str | None, key: str | None) -> TaskExecution:
        execution = TaskExecution(
            task=task,
            run_on=run_on,
            claim_key=key,
            trigger=trigger,
            state=state,
            worker=worker_name(),
            message=text,
            started_by_id=user.id if user is not None else None,
        )
        db.session.add(execution)
        db.session.commit()
        return execution

    try:
        return record(ExecutionState.STARTED, message, claim_key)
    except IntegrityError:
        db.session.rollback()
        if callable(skipped_message):
            skipped_message = skipped_message(holder(claim_key))
        return record(ExecutionState.SKIPPED, skipped_message, None)


def holder(claim_key: str | None) -> TaskExecution | None:
    """The execution holding ``claim_key`` (with its job and its person), if any."""
    if claim_key is None:
        return None
    return db.session.scalar(
        select(TaskExecution)
        .where(TaskExecution.claim_key == claim_key)
        .options(joinedload(TaskExecution.job), joinedload(TaskExecution.started_by))
    )
