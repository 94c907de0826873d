"""Job lists for the Tâches pages."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.jobs.models import Job, JobItem

PAGE_SIZE = 25


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


def items_of(job: Job, state: str | None = None) -> list[JobItem]:
    query = select(JobItem).where(JobItem.job_id == job.id).order_by(JobItem.id)
    if state:
        query = query.where(JobItem.state == state)
    return list(db.session.scalars(query))
