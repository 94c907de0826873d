"""Pure rules of logging in: how long a throttled login waits, when a session has expired."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.auth.models import ThrottleKind

# Answer to every refused login, whatever the reason (unknown user, wrong password, disabled
# account, throttled): it never tells whether the account exists.
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
SESSION_EXPIRED = "Session expirée, reconnectez-vous."
BAD_CODE = "Code incorrect ou déjà utilisé."
BAD_ENROLMENT_CODE = (
    "Code incorrect : saisissez le code à 6 chiffres que l'application affiche maintenant "
    "(il change toutes les 30 secondes)."
)
BAD_CURRENT_PASSWORD = "Mot de passe actuel incorrect."  # noqa: S105  (a message)
SECOND_FACTOR_TIMED_OUT = (
    "Délai dépassé pour saisir le code : saisissez à nouveau votre identifiant et votre "
    "mot de passe."
)
# Between the password and the code of a login with a second factor.
SECOND_FACTOR_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class Threshold:
    """After ``delay_after`` failures each attempt waits longer; ``lock_after`` locks."""

    delay_after: int
    lock_after: int


THRESHOLDS = {
    ThrottleKind.ACCOUNT: Threshold(delay_after=3, lock_after=10),
    # Several people may work behind one address (an office): it tolerates more.
    ThrottleKind.ADDRESS: Threshold(delay_after=10, lock_after=50),
}
MAX_DELAY = timedelta(seconds=60)
LOCK_DURATION = timedelta(minutes=15)
# Failures older than this are forgotten: the next one counts from 1 again.
FAILURE_MEMORY = timedelta(hours=1)


def policy() -> dict[str, object]:
    """The thresholds as the « Connexions » page explains them."""
    return {
        "account": THRESHOLDS[ThrottleKind.ACCOUNT],
        "address": THRESHOLDS[ThrottleKind.ADDRESS],
        "lock_minutes": int(LOCK_DURATION.total_seconds() // 60),
    }


def delay_after_failures(kind: ThrottleKind, failures: int) -> timedelta:
    """Wait imposed after the last of ``failures`` failures: 1 s, 2 s, 4 s … up to a minute."""
    extra = failures - THRESHOLDS[kind].delay_after
    if extra < 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(extra, 16)), MAX_DELAY)


def wait_seconds(
    kind: ThrottleKind,
    *,
    failures: int,
    last_failure_at: datetime | None,
    locked_until: datetime | None,
    now: datetime,
) -> int:
    """Seconds before the next attempt is even checked (0: it may be tried now)."""
    waits = [timedelta(0)]
    if locked_until is not None:
        waits.append(locked_until - now)
    if last_failure_at is not None and now - last_failure_at < FAILURE_MEMORY:
        waits.append(last_failure_at + delay_after_failures(kind, failures) - now)
    return math.ceil(max(waits).total_seconds())


def throttle_message(seconds: int) -> str:
    """« Trop de tentatives : réessayez dans N minutes » (at least one minute)."""
    minutes = max(math.ceil(seconds / 60), 1)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Trop de tentatives : réessayez dans {minutes} {unit}."


def session_expired(
    *,
    login_at: float | None,
    seen_at: float | None,
    now: float,
    idle: timedelta | None,
    lifetime: timedelta | None,
) -> bool:
    """True when a session (times in epoch seconds) is past its idle or absolute limit.

    ``idle``/``lifetime`` None: no such limit. A session without its times (opened before
    they existed) has expired.
    """
    if login_at is None or seen_at is None:
        return True
    if lifetime is not None and now - login_at > lifetime.total_seconds():
        return True
    return idle is not None and now - seen_at > idle.total_seconds()


def second_factor_expired(since: float | None, now: float) -> bool:
    """True when the password step (epoch seconds) is too old for its code to be typed."""
    if since is None:
        return True
    return not 0 <= now - since <= SECOND_FACTOR_DELAY.total_seconds()
