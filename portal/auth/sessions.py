"""Revocable sessions: a version per user, an idle timeout and an absolute lifetime.

The session cookie carries the user's ``session_version`` of the login, the login time and
the time of the last activity. On every request the user loader refuses a session whose
version is no longer the user's (log out, password reset, role change or disabling raised
it), and ``check_current`` ends a session idle or open too long, with a French message.

A login with a second factor goes through a « pending » session first: the password was
right, the user is not logged in yet, and the code must come within
``rules.SECOND_FACTOR_DELAY`` (``await_second_factor`` / ``awaiting_second_factor``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, request, session
from flask_login import current_user, login_user, logout_user

from portal.auth import rules
from portal.auth.models import User
from portal.clock import utcnow
from portal.extensions import db

VERSION = "auth_version"
LOGIN_AT = "auth_login_at"
SEEN_AT = "auth_seen_at"
PENDING_USER = "auth_pending_user"
PENDING_VERSION = "auth_pending_version"
PENDING_SINCE = "auth_pending_since"
PENDING_NEXT = "auth_pending_next"
# Requests a page makes by itself (the bell refreshes every 30 s): they do not keep an
# unattended session alive.
PASSIVE_ENDPOINTS = {"notifications.bell"}


def _now() -> float:
    return utcnow().timestamp()


def _new_session() -> None:
    """Drop everything the session held, Flask-WTF's CSRF seed included (and the token of
    this request made from it: a page rendered later in the request uses the next seed)."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def start(user: User) -> None:
    """Log ``user`` in on a brand-new session (no session fixation, a new CSRF seed)."""
    _new_session()
    login_user(user)
    now = _now()
    session[VERSION] = user.session_version
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def await_second_factor(user: User, next_url: str) -> None:
    """The password of ``user`` was right: a new session waits for the code (not logged in)."""
    _new_session()
    session[PENDING_USER] = user.id
    session[PENDING_VERSION] = user.session_version
    session[PENDING_SINCE] = _now()
    session[PENDING_NEXT] = next_url


def is_pending() -> bool:
    """This session went through the password step of a login with a second factor."""
    return PENDING_USER in session


def awaiting_second_factor() -> User | None:
    """The user whose code this session waits for, if still in time and still valid."""
    user_id = session.get(PENDING_USER)
    if user_id is None:
        return None
    if rules.second_factor_expired(session.get(PENDING_SINCE), _now()):
        _new_session()
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (
        user is None
        or not user.is_enabled
        or not user.has_second_factor
        or session.get(PENDING_VERSION) != user.session_version
    ):
        _new_session()
        return None
    return user


def pending_next() -> str | None:
    """Where to go once the code is accepted (checked when it was stored)."""
    target = session.get(PENDING_NEXT)
    return target if isinstance(target, str) else None


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: an enabled user whose sessions this one is still one of."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_enabled:
        return None
    return user if session.get(VERSION) == user.session_version else None


def keep_current(user: User) -> None:
    """After ``user.end_sessions()`` by ``user`` themself: this session goes on, the others end."""
    if current_user.is_authenticated and current_user.id == user.id:
        session[VERSION] = user.session_version


def end_current() -> None:
    """Log out of this session only."""
    _new_session()
    logout_user()


def _limit(key: str, unit: str) -> timedelta | None:
    amount = int(current_app.config.get(key) or 0)
    return timedelta(**{unit: amount}) if amount > 0 else None


def check_current() -> None:
    """End this request's session when revoked, idle or too old (``before_request``)."""
    if "_user_id" not in session:
        return
    now = _now()
    expired = not current_user.is_authenticated or rules.session_expired(
        login_at=session.get(LOGIN_AT),
        seen_at=session.get(SEEN_AT),
        now=now,
        idle=_limit("SESSION_IDLE_MINUTES", "minutes"),
        lifetime=_limit("SESSION_MAX_HOURS", "hours"),
    )
    if expired:
        end_current()
        flash(rules.SESSION_EXPIRED, "warning")
    elif request.endpoint not in PASSIVE_ENDPOINTS:
        session[SEEN_AT] = now
