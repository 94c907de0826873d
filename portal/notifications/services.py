"""Create notifications, attach stored reports, mark notifications read.

Services flush; the caller (request or job runner) commits. Notifications are meant to be
created after the work they report on is committed, so they never announce a rolled-back change.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update

from portal import storage
from portal.auth.models import User
from portal.clock import utcnow
from portal.extensions import db
from portal.notifications.models import Notification, StoredReport
from portal.settings import recipients as recipient_lists
from portal.sql import changed_rows

LEVELS = ("info", "success", "warning", "danger")


def _recipients(target: Iterable[User] | str) -> list[User]:
    if isinstance(target, str):
        return recipient_lists.members(target)
    unique: dict[int, User] = {}
    for user in target:
        unique.setdefault(user.id, user)
    return list(unique.values())


def notify(
    recipients: Iterable[User] | str,
    title: str,
    body: str = "",
    *,
    level: str = "info",
    link_url: str | None = None,
    report: StoredReport | None = None,
) -> list[Notification]:
    """One notification per recipient (a ``str`` is a recipient-list key such as
    ``"chorus_admins"``: its enabled members). Flushes; the caller commits."""
    if level not in LEVELS:
        raise ValueError(f"unknown notification level {level!r}")
    created = [
        Notification(
            user_id=user.id,
            title=title[:200],
            body=body,
            level=level,
            link_url=link_url,
            report_id=report.id if report is not None else None,
        )
        for user in _recipients(recipients)
    ]
    db.session.add_all(created)
    db.session.flush()
    return created


def store_report(
    filename: str, data: bytes, mime_type: str = "text/csv; charset=utf-8"
) -> StoredReport:
    """Save a generated file under ``storage.REPORTS`` and record it. Flushes."""
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else ""
    stored = storage.save_bytes(storage.REPORTS, data, suffix=suffix)
    report = StoredReport(
        filename=filename[:160],
        stored_name=stored.stored_name,
        mime_type=mime_type,
        size_bytes=stored.size,
    )
    db.session.add(report)
    db.session.flush()
    return report


def mark_read(notification: Notification) -> None:
    """Mark one notification read (idempotent). Flushes."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def mark_all_read(user: User) -> int:
    """Mark every unread notification of ``user`` read; returns how many. Flushes."""
    count = changed_rows(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    return count
