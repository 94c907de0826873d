"""A minimum interval between runs of an action that calls Chorus Pro many times.

PISTE throttles per application and publishes no figures (API notes §1): a button that
makes a dozen calls must not be pressed in a loop. The last start is a settings row claimed
by a compare-and-set whose row count is checked, so the interval holds across threads,
processes and servers. The caller commits the claim *before* calling Chorus (no transaction
stays open across HTTP calls).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.extensions import db
from portal.settings.models import Setting

PREFIX = "chorus.throttle."


def _stamp(moment: datetime) -> str:
    """A fixed-width UTC timestamp: stored values compare as text in SQL."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def claim(name: str, interval: timedelta, now: datetime | None = None) -> int | None:
    """Start action ``name`` now: None when claimed, else the seconds left to wait. Flushes.

    Call it with nothing else pending in the session: losing the race for the very first
    row rolls the session back.
    """
    now = now or clock.utcnow()
    key = PREFIX + name
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=_stamp(now)))
        try:
            db.session.flush()
        except IntegrityError:  # another process claimed it first (the very first run)
            db.session.rollback()
            return math.ceil(interval.total_seconds())
        return None
    threshold = _stamp(now - interval)
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]  # an UPDATE
        update(Setting)
        .where(Setting.key == key, Setting.value.is_(None) | (Setting.value <= threshold))
        .values(value=_stamp(now), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    if result.rowcount:
        return None
    return seconds_left(db.session.get(Setting, key), interval, now)


def seconds_left(row: Setting | None, interval: timedelta, now: datetime) -> int:
    """Whole seconds until the interval since the stored start is over (at least 1)."""
    try:
        started = datetime.fromisoformat(row.value) if row is not None and row.value else None
    except ValueError:
        started = None
    if started is None:
        return 1
    return max(math.ceil((started + interval - now).total_seconds()), 1)
