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
    user = _user_named(username)
    step = _Step(throttle.keys_for(username, address), username, user, address, user_agent, now)
    wait = throttle.wait_seconds(step.keys, now)
    if wait:
        return step.throttled(wait)
    password_ok = check_password_of(user, password)
    if user is not None and password_ok and user.is_enabled and user.has_second_factor:
        # The account's failures are forgotten only once the code is right too: knowing the
        # password must not reset the count of wrong codes.
        step.journal(LoginOutcome.SECOND_FACTOR_ASKED)
        db.session.flush()
        return LoginAttempt(user=user, needs_second_factor=True)
    if user is not None and password_ok and user.is_enabled:
        return step.succeeded(user)
    return step.failed(LoginOutcome.DISABLED if password_ok else LoginOutcome.BAD_CREDENTIALS)


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
    step = _Step(
        throttle.keys_for(user.username, address), user.username, user, address, user_agent, now
    )
    wait = throttle.wait_seconds(step.keys, now)
    if wait:
        return step.throttled(wait)
    if user.is_enabled and second_factor.verify(user, code, now):
        return step.succeeded(user)
    return step.failed(LoginOutcome.BAD_SECOND_FACTOR)


@dataclass
class _Step:
    """One step of a login (password or code): its throttle keys and its journal entry."""

    keys: list[throttle.Key]
    username: str
    user: User | None
    address: str | None
    user_agent: str | None
    now: datetime

    def journal(self, outcome: LoginOutcome) -> None:
        login_events.record(
            username=self.username,
            user=self.user,
            address=self.address,
            user_agent=self.user_agent,
            outcome=outcome,
            now=self.now,
        )

    def throttled(self, wait: int) -> LoginAttempt:
        """Refused unchecked; trying before the wait is over counts as one more failure."""
        throttle.record_failure(self.keys, self.now)
        self.journal(LoginOutcome.THROTTLED)
        db.session.flush()
        return LoginAttempt(user=None, wait_seconds=wait)

    def succeeded(self, user: User) -> LoginAttempt:
        throttle.clear(self.keys[0])  # the account's failures; the address keeps its own
        throttle.forget_stale(self.now)
        login_events.forget_old(self.now)
        self.journal(LoginOutcome.SUCCESS)
        db.session.flush()
        return LoginAttempt(user=user)

    def failed(self, outcome: LoginOutcome) -> LoginAttempt:
        throttle.record_failure(self.keys, self.now)
        self.journal(outcome)
        db.session.flush()
        return LoginAttempt(user=None)
