"""The pure rules of logging in: throttling waits and session limits (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.auth import rules
from portal.auth.models import ThrottleKind

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
ACCOUNT = ThrottleKind.ACCOUNT


def wait(failures: int, *, ago: float = 0, locked_for: float | None = None) -> int:
    return rules.wait_seconds(
        ACCOUNT,
        failures=failures,
        last_failure_at=NOW - timedelta(seconds=ago),
        locked_until=None if locked_for is None else NOW + timedelta(seconds=locked_for),
        now=NOW,
    )


def test_the_first_failures_of_an_account_cost_no_wait() -> None:
    assert [wait(n) for n in (0, 1, 2)] == [0, 0, 0]


def test_the_wait_doubles_after_three_failures_up_to_a_minute() -> None:
    assert [wait(n) for n in (3, 4, 5, 6, 7, 8, 9, 30, 10**6)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_wait_counts_from_the_last_failure() -> None:
    assert wait(5, ago=3) == 1
    assert wait(5, ago=4) == 0


def test_a_lock_waits_until_its_end() -> None:
    assert wait(10, ago=120, locked_for=600) == 600
    assert wait(10, ago=120, locked_for=-1) == 0


def test_failures_older_than_the_memory_impose_nothing() -> None:
    old = rules.FAILURE_MEMORY.total_seconds() + 1
    assert wait(9, ago=old) == 0


def test_an_address_tolerates_more_failures_than_an_account() -> None:
    address = rules.THRESHOLDS[ThrottleKind.ADDRESS]
    account = rules.THRESHOLDS[ThrottleKind.ACCOUNT]
    assert address.delay_after > account.delay_after
    assert address.lock_after > account.lock_after


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        (1, "Trop de tentatives : réessayez dans 1 minute."),
        (60, "Trop de tentatives : réessayez dans 1 minute."),
        (61, "Trop de tentatives : réessayez dans 2 minutes."),
        (900, "Trop de tentatives : réessayez dans 15 minutes."),
    ],
)
def test_the_throttle_message_counts_whole_minutes_in_french(seconds: int, message: str) -> None:
    assert rules.throttle_message(seconds) == message


def expired(login_ago: float, seen_ago: float, **limits: timedelta | None) -> bool:
    now = NOW.timestamp()
    limits = {"idle": timedelta(minutes=60), "lifetime": timedelta(hours=12), **limits}
    return rules.session_expired(
        login_at=now - login_ago, seen_at=now - seen_ago, now=now, **limits
    )


def test_a_session_ends_after_an_hour_without_activity() -> None:
    assert not expired(3600, 3600)
    assert expired(3601, 3601)


def test_a_session_ends_twelve_hours_after_its_login_even_when_active() -> None:
    assert not expired(12 * 3600, 10)
    assert expired(12 * 3600 + 1, 10)


def test_a_limit_set_to_none_never_ends_a_session() -> None:
    assert not expired(10**7, 10**7, idle=None, lifetime=None)


def test_a_session_without_its_times_has_expired() -> None:
    assert rules.session_expired(
        login_at=None, seen_at=None, now=NOW.timestamp(), idle=None, lifetime=None
    )
