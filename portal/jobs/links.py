"""Links to job pages that work outside a request (workers build notifications)."""

from __future__ import annotations

from portal.links import path_for


def job_url(job_id: int) -> str:
    """Path of a job's detail page, from a request or a background thread."""
    return path_for("jobs.detail", job_id=job_id)
