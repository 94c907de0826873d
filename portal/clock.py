"""The only place that reads the clock. Business dates are computed in Europe/Paris."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    """Current instant, timezone-aware, expressed in Europe/Paris."""
    return datetime.now(UTC).astimezone(PARIS)


def utcnow() -> datetime:
    """Current instant, timezone-aware, in UTC (for storage)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Europe/Paris."""
    return now().date()


def to_paris(moment: datetime) -> datetime:
    """Express an aware datetime in Europe/Paris."""
    return moment.astimezone(PARIS)
