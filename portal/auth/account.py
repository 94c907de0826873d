"""« Mon compte »: a user changes their own password and turns their second factor off.

Both ask for the current password; a wrong one counts as a login failure of the account (the
same throttle as the login form, so a stolen session cannot try passwords freely) and is
journalled. Nothing changes unless every check passes; the failure counted on a wrong
password stays, so the caller commits in both cases.
"""

from __future__ import annotations

from datetime import datetime

from portal.auth import login_events, rules, second_factor, throttle
from portal.auth.models import LoginOutcome, User
from portal.auth.password_policy import password_problem
from portal.extensions import db
from portal.validators import ValidationFailed

SAME_PASSWORD = "Le nouveau mot de passe doit être différent de l'actuel."  # noqa: S105  (a message)


def _fail(
    user: User,
    outcome: LoginOutcome,
    *,
    address: str | None,
    user_agent: str | None,
    now: datetime,
) -> None:
    """Count a failure on the account's login throttle and journal it."""
    throttle.record_failure(throttle.keys_for(user.username, address)[:1], now)
    login_events.record(
        username=user.username,
        user=user,
        address=address,
        user_agent=user_agent,
        outcome=outcome,
        now=now,
    )
    db.session.flush()


def _current_password_problem(
    user: User,
    password: str,
    *,
    address: str | None,
    user_agent: str | None,
    now: datetime,
) -> str | None:
    """None when ``password`` is the user's; otherwise the French reason (failure counted).

    A throttled account is refused without checking the password, as at login."""
    wait = throttle.wait_seconds(throttle.keys_for(user.username, address)[:1], now)
    if wait:
        _fail(user, LoginOutcome.THROTTLED, address=address, user_agent=user_agent, now=now)
        return rules.throttle_message(wait)
    if not user.check_password(password):
        outcome = LoginOutcome.BAD_CURRENT_PASSWORD
        _fail(user, outcome, address=address, user_agent=user_agent, now=now)
        return rules.BAD_CURRENT_PASSWORD
    return None


def change_password(
    user: User,
    *,
    current: str,
    new: str,
    address: str | None,
    user_agent: str | None,
    now: datetime,
) -> None:
    """Set ``new`` as the password of ``user`` and end their other sessions (the caller keeps
    this one: ``sessions.keep_current``). Raises ``ValidationFailed``. Flushes."""
    errors: dict[str, str] = {}
    if problem := _current_password_problem(
        user, current, address=address, user_agent=user_agent, now=now
    ):
        errors["current_password"] = problem
    if problem := password_problem(new, user.username):
        errors["password"] = problem
    elif "current_password" not in errors and user.check_password(new):
        errors["password"] = SAME_PASSWORD
    if errors:
        raise ValidationFailed(errors)
    user.set_password(new)
    user.end_sessions()
    db.session.flush()


def enable_second_factor(user: User, code: str | None, now: datetime) -> list[str]:
    """Confirm the enrolment with a code from the application; the recovery codes to show
    once. Ends the user's other sessions. Raises ``ValidationFailed``. Flushes."""
    codes = second_factor.confirm(user, code, now)
    if codes is None:
        raise ValidationFailed({"code": rules.BAD_ENROLMENT_CODE})
    user.end_sessions()
    db.session.flush()
    return codes


def disable_second_factor(
    user: User,
    *,
    password: str,
    code: str | None,
    address: str | None,
    user_agent: str | None,
    now: datetime,
) -> None:
    """Turn the second factor off: the password and a code (or a recovery code) are needed.
    Ends the user's other sessions. Raises ``ValidationFailed``. Flushes."""
    if problem := _current_password_problem(
        user, password, address=address, user_agent=user_agent, now=now
    ):
        raise ValidationFailed({"password": problem})
    if not second_factor.verify(user, code, now):
        outcome = LoginOutcome.BAD_SECOND_FACTOR
        _fail(user, outcome, address=address, user_agent=user_agent, now=now)
        raise ValidationFailed({"code": rules.BAD_CODE})
    second_factor.remove(user)
    user.end_sessions()
    db.session.flush()
