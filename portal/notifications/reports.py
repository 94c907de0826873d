"""Stored CSV reports: the one rule saying who may read one, and their download.

A report is read by whoever may see what it reports on. Every report the portal writes is a
job's (S11, S13, S14), and every signed-in user sees every job — ``lecture`` included, the
Tâches pages show each job's documents and outcomes to every role and the CSV says nothing
more — so any signed-in user may read a job's report. A report attached to no job is read by
the recipients of a notification carrying it only.

Both URLs of a report answer through :func:`download`: ``/taches/<job>/rapport`` and
``/notifications/rapports/<report>``.
"""

from __future__ import annotations

import io

from flask import abort, send_file
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import storage
from portal.auth.models import User
from portal.extensions import db
from portal.jobs.models import Job
from portal.notifications.models import Notification, StoredReport


def may_read(user: User, report: StoredReport) -> bool:
    """The access rule for every report (see the module docstring)."""
    if not user.is_authenticated:
        return False
    is_job_report = select(Job.id).where(Job.report_id == report.id).exists()
    received = (
        select(Notification.id)
        .where(Notification.report_id == report.id, Notification.user_id == user.id)
        .exists()
    )
    return bool(db.session.scalar(select(is_job_report | received)))


def download(report: StoredReport | None) -> Response:
    """The report as a CSV attachment, or a 404 when it is missing or not for this user."""
    if (
        report is None
        or not may_read(current_user, report)
        or not storage.exists(storage.REPORTS, report.stored_name)
    ):
        abort(404)
    # Reports are small CSV files: sent from memory, so no file handle outlives the request.
    return send_file(
        io.BytesIO(storage.read_bytes(storage.REPORTS, report.stored_name)),
        mimetype=report.mime_type,
        as_attachment=True,
        download_name=report.filename,
    )
