"""Automatic retries of items that failed for a transient reason (Chorus down, 429, reset).

The policy is two administrator settings (Système tab): how many attempts a document gets
in all, and the delay before the second one; each further delay doubles. The defaults give
5 attempts over 15 minutes (1, 2, 4 and 8 minutes between them). A ``Retry-After`` longer
than the planned delay wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.settings import store

ATTEMPTS = "jobs.retry_attempts"
FIRST_DELAY_SECONDS = "jobs.retry_first_delay_seconds"
DEFAULT_ATTEMPTS = 5
DEFAULT_FIRST_DELAY_SECONDS = 60
MIN_ATTEMPTS, MAX_ATTEMPTS = 1, 10
MAX_FIRST_DELAY_SECONDS = 3600
# No planned delay grows past this, whatever the number of attempts.
MAX_DELAY_SECONDS = 6 * 3600


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = DEFAULT_ATTEMPTS
    first_delay_seconds: int = DEFAULT_FIRST_DELAY_SECONDS

    def delay_after(self, failed_attempts: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after ``failed_attempts`` transient failures; None: give up."""
        if failed_attempts >= self.attempts:
            return None
        planned = min(self.first_delay_seconds * 2 ** (failed_attempts - 1), MAX_DELAY_SECONDS)
        return max(float(planned), retry_after or 0.0)


def parse_attempts(raw: str) -> int:
    """The attempts setting typed by an admin; ValueError with a French message."""
    return _bounded(raw, MIN_ATTEMPTS, MAX_ATTEMPTS, "Nombre d'essais")


def parse_first_delay(raw: str) -> int:
    """The first-delay setting (seconds) typed by an admin; ValueError with a French message."""
    return _bounded(raw, 0, MAX_FIRST_DELAY_SECONDS, "Délai avant le deuxième essai")


def _bounded(raw: str, low: int, high: int, label: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not low <= int(text) <= high:
        raise ValueError(f"{label} : un nombre entier entre {low} et {high}.")
    return int(text)


def load_policy() -> RetryPolicy:
    """The stored policy; a missing or out-of-range value takes its default."""
    return RetryPolicy(
        attempts=_stored(ATTEMPTS, MIN_ATTEMPTS, MAX_ATTEMPTS, DEFAULT_ATTEMPTS),
        first_delay_seconds=_stored(
            FIRST_DELAY_SECONDS, 0, MAX_FIRST_DELAY_SECONDS, DEFAULT_FIRST_DELAY_SECONDS
        ),
    )


def _stored(key: str, low: int, high: int, default: int) -> int:
    try:
        value = store.get_int(key)
    except ValueError:
        return default
    return value if value is not None and low <= value <= high else default
