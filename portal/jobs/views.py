"""Tâches: background jobs with live progress (HTMX polling only while they run)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, request, send_file
from werkzeug.wrappers import Response

from portal import storage
from portal.extensions import db
from portal.htmx import render
from portal.jobs import queries
from portal.jobs.models import Job
from portal.pagination import page_count

bp = Blueprint("jobs", __name__, url_prefix="/taches")


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/")
def index() -> Response:
    page = request.args.get("page", 1, type=int) or 1
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
        items=queries.items_of(job, state),
        state_filter=state,
        item_state_labels=job.item_state_labels,
    )


@bp.route("/<int:job_id>/progression")
def progress(job_id: int) -> Response:
    """The self-replacing progress component of one job (row or detail header)."""
    job = _job_or_404(job_id)
    variant = "row" if request.args.get("vue") == "ligne" else "header"
    template = "jobs/_row.html" if variant == "row" else "jobs/_progress.html"
    items = queries.items_of(job) if variant == "header" else []
    return render(template, template, job=job, items=items)


@bp.route("/<int:job_id>/rapport")
def report(job_id: int) -> Response:
    """The job's CSV report (visible to whoever may see the job)."""
    job = _job_or_404(job_id)
    if job.report is None or not storage.exists(storage.REPORTS, job.report.stored_name):
        abort(404)
    return send_file(
        io.BytesIO(storage.read_bytes(storage.REPORTS, job.report.stored_name)),
        mimetype=job.report.mime_type,
        as_attachment=True,
        download_name=job.report.filename,
    )
