"""Notifications: the header bell, the list, marking read, downloading attached reports."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.access import personal_action
from portal.extensions import db
from portal.htmx import fragment, is_htmx, render
from portal.notifications import queries, reports, services
from portal.notifications.models import StoredReport
from portal.pagination import requested_page

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _local_url(target: str | None) -> str | None:
    """Only same-site relative paths are followed (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _bell_context() -> dict[str, Any]:
    return {
        "unread": queries.unread_count(current_user),
        "latest": queries.latest(current_user),
    }


@bp.route("/")
def index() -> Response:
    pagination = queries.page(current_user, requested_page(request.args.get("page")))
    return render(
        "notifications/index.html",
        "notifications/_list.html",
        pagination=pagination,
        unread=queries.unread_count(current_user),
    )


@bp.route("/cloche")
def bell() -> Response:
    """The bell element itself (it replaces itself every 30 s)."""
    return fragment("notifications/_bell.html", **_bell_context())


@bp.route("/<int:notification_id>/lue", methods=["POST"])
@personal_action
def mark_read(notification_id: int) -> Response:
    notification = queries.own_notification(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(notification)
    if is_htmx():
        return fragment(
            "notifications/_item_response.html",
            flashes=True,
            notification=notification,
            **_bell_context(),
        )
    target = _local_url(request.form.get("next")) or url_for("notifications.index")
    return redirect(target, code=303)


@bp.route("/tout-lire", methods=["POST"])
@personal_action
def mark_all_read() -> Response:
    count = services.mark_all_read(current_user)
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
    """A report attached to a notification (the access rule: ``reports.may_read``)."""
    return reports.download(db.session.get(StoredReport, report_id))
