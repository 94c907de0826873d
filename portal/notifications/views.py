"""Notifications: the header bell, the list, marking read, downloading attached reports."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import storage
from portal.auth.access import personal_action
from portal.extensions import db
from portal.htmx import is_htmx, render
from portal.notifications import queries, services

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _local_url(target: str | None) -> str | None:
    """Only same-site relative paths are followed (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _bell_context() -> dict[str, object]:
    return {
        "unread": queries.unread_count(current_user),
        "latest": queries.latest(current_user),
    }


@bp.route("/")
def index() -> Response:
    number = request.args.get("page", 1, type=int) or 1
    pagination = queries.page(current_user, max(number, 1))
    return render(
        "notifications/index.html",
        "notifications/_list.html",
        pagination=pagination,
        unread=queries.unread_count(current_user),
    )


@bp.route("/cloche")
def bell() -> Response:
    """The bell element itself (it replaces itself every 30 s)."""
    return render("notifications/_bell.html", **_bell_context())


@bp.route("/<int:notification_id>/lue", methods=["POST"])
@personal_action
def mark_read(notification_id: int) -> Response:
    notification = queries.own_notification(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(notification)
    db.session.commit()
    if is_htmx():
        return render(
            "notifications/_item_response.html",
            "notifications/_item_response.html",
            notification=notification,
            **_bell_context(),
        )
    target = _local_url(request.form.get("next")) or url_for("notifications.index")
    return redirect(target, code=303)


@bp.route("/tout-lire", methods=["POST"])
@personal_action
def mark_all_read() -> Response:
    count = services.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(
            "Toutes les notifications sont marquées comme lues."
            if count > 1
            else "La notification est marquée comme lue.",
            "success",
        )
    return redirect(url_for("notifications.index"), code=303)


@bp.route("/rapports/<int:report_id>")
def download_report(report_id: int) -> Response:
    """Only a recipient of a notification carrying the report may download it."""
    report = queries.report_for_recipient(current_user, report_id)
    if report is None or not storage.exists(storage.REPORTS, report.stored_name):
        abort(404)
    # Reports are small CSV files: sent from memory, so no file handle outlives the request.
    return send_file(
        io.BytesIO(storage.read_bytes(storage.REPORTS, report.stored_name)),
        mimetype=report.mime_type,
        as_attachment=True,
        download_name=report.filename,
    )
