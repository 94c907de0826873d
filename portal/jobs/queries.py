"""Job lists for the Tâches pages: the jobs, a job's items page by page, its items in flight."""

from __future__ import annotations

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.jobs.models import UNFINISHED_ITEM_STATES, ItemState, Job, JobItem
from portal.pagination import Page, clamp, page_count

PAGE_SIZE = 25
ITEMS_PAGE_SIZE = 50


def jobs_page(page: int) -> tuple[list[Job], int]:
    """One page of jobs, newest first, and the total count."""
    total = db.session.scalar(select(func.count()).select_from(Job)) or 0
    query: Select[tuple[Job]] = (
        select(Job)
        .options(selectinload(Job.created_by), selectinload(Job.report))
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    return list(db.session.scalars(query)), total


def items_page(
    job: Job, state: str | None, page: int, size: int = ITEMS_PAGE_SIZE
) -> Page[JobItem]:
    """One page of the job's items in order; only those in ``state`` when one is given (none
    for an unknown one). A page past the end shows the last page."""
    condition = JobItem.job_id == job.id
    if state:
        try:
            condition = and_(condition, JobItem.state == ItemState(state))
        except ValueError:  # a state typed in the address: no item is in it
            return Page(items=[], total=0, page=1, size=size)
    total = db.session.scalar(select(func.count()).select_from(JobItem).where(condition)) or 0
    page = clamp(page, page_count(total, size))
    query = select(JobItem).where(condition).order_by(JobItem.id)
    items = list(db.session.scalars(query.limit(size).offset((page - 1) * size)))
    return Page(items=items, total=total, page=page, size=size)


def items_in_flight(job: Job) -> list[JobItem]:
    """The items the progress component shows while the job runs: those at a step now and
    those waiting for an automatic retry (finished items are never read by the poll)."""
    query = (
        select(JobItem)
        .where(
            JobItem.job_id == job.id,
            JobItem.state.in_(UNFINISHED_ITEM_STATES),
            or_(
                JobItem.step.is_not(None),
                and_(JobItem.state == ItemState.PENDING, JobItem.retry_at.is_not(None)),
            ),
        )
        .order_by(JobItem.id)
    )
    return list(db.session.scalars(query))
