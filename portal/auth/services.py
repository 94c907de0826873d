"""Checking a login attempt: throttling, the password check, the second factor's code, the
journal (issue 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.auth import login_events, second_factor, throttle
from portal.auth.models import LoginOutcome, User, check_password_of
from portal.extensions import db


@dataclass(frozen=True)
class LoginAttempt:
    """The user to log in, or None; ``wait_seconds`` > 0 when refused for too many tries;
    ``needs_second_factor``: the password was right, a code must follow (not logged in yet)."""

    user: User | None
    wait_seconds: int = 0
    needs_second_factor: bool = False


def _user_named(username: str) -> User | None:
    if len(username) > throttle.SUBJECT_MAX:  # no username is that long
        return None
    return db.session.scalar(select(User).where(User.username == username))


def authenticate(
    username: str,
    password: str,
    *,
    address: str | None,
    user_agent: str | None,
    now: datetime,
) -> LoginAttempt:
    """Check one attempt and journal it. Flushes; the caller commits whatever the answer.

    A throttled account or address is refused without checking the password (and the attempt
    counts as a failure). Otherwise an
    unknown user costs the same password check as a known one, and every refusal gets the
    same answer, so neither the time nor the message tells which usernames exist.
    """
    username = username.strip()
    keys = throttle.keys_for(username, address)
    user = _user_named(username)

    def journal(outcome: LoginOutcome) -> None:
        login_events.record(
            username=username,
            user=user,
            address=address,
            user_agent=user_agent,
            outcome=outcome,
            now=now,
        )

    wait = throttle.wait_seconds(keys, now)
    if wait:
        # Trying again before the wait is over counts as one more failure: hammering locks.
        throttle.record_failure(keys, now)
        journal(LoginOutcome.THROTTLED)
        db.session.flush()
        return LoginAttempt(user=None, wait_seconds=wait)
    password_ok = check_password_of(user, password)
    if user is not None and password_ok and user.is_enabled and user.has_second_factor:
        # The account's failures are forgotten only once the code is right too: knowing the
        # password must not reset the count of wrong codes.
        journal(LoginOutcome.SECOND_FACTOR_ASKED)
        db.session.flush()
        return LoginAttempt(user=user, needs_second_factor=True)
    if user is not None and password_ok and user.is_enabled:
        account_key = keys[0]
        throttle.clear(account_key)
        throttle.forget_stale(now)
        login_events.forget_old(now)
        journal(LoginOutcome.SUCCESS)
        db.session.flush()
        return LoginAttempt(user=user)
    throttle.record_failure(keys, now)
    journal(LoginOutcome.DISABLED if password_ok else LoginOutcome.BAD_CREDENTIALS)
    db.session.flush()
    return LoginAttempt(user=None)


def check_second_factor(
    user: User,
    code: str | None,
    *,
    address: str | None,
    user_agent: str | None,
    now: datetime,
) -> LoginAttempt:
    """Check the code of a login whose password was right, and journal it. Flushes; the
    caller commits whatever the answer.

    Wrong codes count as login failures of the account and the address, and a throttled
    account or address is refused without checking the code.
    """
    keys = throttle.keys_for(user.username, address)

    def journal(outcome: LoginOutcome) -> None:
        login_events.record(
            username=user.username,
            user=user,
            address=address,
            user_agent=user_agent,
            outcome=outcome,
            now=now,
        )

    wait = throttle.wait_seconds(keys, now)
    if wait:
        throttle.record_failure(keys, now)
        journal(LoginOutcome.THROTTLED)
        db.session.flush()
        return LoginAttempt(user=None, wait_seconds=wait)
    if user.is_enabled and second_factor.verify(user, code, now):
        throttle.clear(keys[0])
        throttle.forget_stale(now)
        login_events.forget_old(now)
        journal(LoginOutcome.SUCCESS)
        db.session.flush()
        return LoginAttempt(user=user)
    throttle.record_failure(keys, now)
    journal(LoginOutcome.BAD_SECOND_FACTOR)
    db.session.flush()
    return LoginAttempt(user=None)
