"""Notification lists for one user (bell, list page); who reads a report: ``reports``."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import case, func, select

from portal.auth.models import User
from portal.extensions import db
from portal.notifications.models import Notification

PER_PAGE = 20
BELL_SIZE = 5


def unread_count(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def latest(user: User, limit: int = BELL_SIZE) -> list[Notification]:
    """The most recent notifications of ``user`` (read or not)."""
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def page(user: User, number: int, per_page: int = PER_PAGE) -> Pagination:
    """Unread first, then newest first."""
    unread_first = case((Notification.read_at.is_(None), 0), else_=1)
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(unread_first, Notification.created_at.desc(), Notification.id.desc())
    )
    return db.paginate(query, page=number, per_page=per_page, error_out=False)


def own_notification(user: User, notification_id: int) -> Notification | None:
    """The notification when it belongs to ``user``, else None."""
    return db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
