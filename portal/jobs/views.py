"""Tâches: background jobs with live progress (HTMX polling only while they run)."""

from __future__ import annotations

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.htmx import fragment, render
from portal.jobs import queries, retries
from portal.jobs.models import Job
from portal.notifications import reports
from portal.pagination import page_count, requested_page

bp = Blueprint("jobs", __name__, url_prefix="/taches")


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/")
def index() -> Response:
    page = requested_page(request.args.get("page"))
    jobs, total = queries.jobs_page(page)
    pages = page_count(total, queries.PAGE_SIZE)
    return render(
        "jobs/index.html", "jobs/_table.html", jobs=jobs, page=page, pages=pages, total=total
    )


@bp.route("/<int:job_id>")
def detail(job_id: int) -> Response:
    job = _job_or_404(job_id)
    state = request.args.get("etat") or None
    return render(
        "jobs/detail.html",
        "jobs/_items.html",
        job=job,
        in_flight=queries.items_in_flight(job),
        items_page=queries.items_page(job, state, requested_page(request.args.get("page"))),
        state_filter=state,
        item_state_labels=job.item_state_labels,
        retry_attempts=retries.load_policy().attempts,
    )


@bp.route("/<int:job_id>/progression")
def progress(job_id: int) -> Response:
    """The self-replacing progress component of one job (row or detail header)."""
    job = _job_or_404(job_id)
    variant = "row" if request.args.get("vue") == "ligne" else "header"
    if variant == "row":
        return fragment("jobs/_row.html", flashes=True, job=job)
    return fragment(
        "jobs/_progress.html", flashes=True, job=job, in_flight=queries.items_in_flight(job)
    )


@bp.route("/<int:job_id>/rapport")
def report(job_id: int) -> Response:
    """The job's CSV report (the access rule: ``notifications.reports.may_read``)."""
    return reports.download(_job_or_404(job_id).report)
