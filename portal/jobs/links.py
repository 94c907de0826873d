"""Links to job pages that work outside a request (workers build notifications)."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for


def job_url(job_id: int) -> str:
    """Path of a job's detail page, from a request or a background thread."""
    if has_request_context():
        return url_for("jobs.detail", job_id=job_id)
    with current_app.test_request_context("/"):
        return url_for("jobs.detail", job_id=job_id)
