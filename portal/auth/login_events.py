"""The journal of login attempts (successes and failures) shown to administrators."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, select

from portal.auth.models import LoginEvent, LoginOutcome, User
from portal.extensions import db

PER_PAGE = 50
KEPT_FOR = timedelta(days=365)
USERNAME_MAX = 80
ADDRESS_MAX = 64
USER_AGENT_MAX = 255


def record(
    *,
    username: str,
    user: User | None,
    address: str | None,
    user_agent: str | None,
    outcome: LoginOutcome,
    now: datetime,
) -> None:
    """Journal one attempt; what the client sent is cut to the columns' sizes."""
    db.session.add(
        LoginEvent(
            created_at=now,
            username=username.strip()[:USERNAME_MAX],
            user_id=user.id if user is not None else None,
            address=(address or "")[:ADDRESS_MAX],
            user_agent=(user_agent or "")[:USER_AGENT_MAX],
            outcome=outcome,
        )
    )


def forget_old(now: datetime) -> None:
    """Drop the attempts older than a year."""
    db.session.execute(
        delete(LoginEvent)
        .where(LoginEvent.created_at < now - KEPT_FOR)
        .execution_options(synchronize_session=False)
    )


def page(number: int, per_page: int = PER_PAGE) -> Pagination:
    """The most recent attempts first."""
    query = select(LoginEvent).order_by(LoginEvent.created_at.desc(), LoginEvent.id.desc())
    return db.paginate(query, page=number, per_page=per_page, error_out=False)
