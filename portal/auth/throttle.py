"""Login throttling stored in the database, so every process and server shares it.

One row per account (the typed username, lower-cased, existing or not) and per client
address counts recent failures; ``portal.auth.rules`` turns them into a wait. Failures are
counted by single UPDATE statements (no read-modify-write), so concurrent attempts never
lose a count; a row is created by an INSERT that ignores a concurrent creation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from portal.auth import rules
from portal.auth.models import LoginThrottle, ThrottleKind
from portal.db_types import AwareDateTime
from portal.extensions import db

SUBJECT_MAX = 80  # usernames are at most 80 characters; addresses far less
UNKNOWN_ADDRESS = "inconnue"

Key = tuple[ThrottleKind, str]


def keys_for(username: str, address: str | None) -> list[Key]:
    """The account and the address a login attempt counts against."""
    return [
        (ThrottleKind.ACCOUNT, username.strip().lower()[:SUBJECT_MAX]),
        (ThrottleKind.ADDRESS, (address or UNKNOWN_ADDRESS)[:SUBJECT_MAX]),
    ]


def _matches(key: Key) -> ColumnElement[bool]:
    kind, subject = key
    return and_(LoginThrottle.kind == kind, LoginThrottle.subject == subject)


def wait_seconds(keys: list[Key], now: datetime) -> int:
    """Seconds before an attempt on ``keys`` is checked at all (0: check it now)."""
    rows = db.session.execute(
        select(
            LoginThrottle.kind,
            LoginThrottle.failures,
            LoginThrottle.last_failure_at,
            LoginThrottle.locked_until,
        ).where(or_(*(_matches(key) for key in keys)))
    )
    return max(
        (
            rules.wait_seconds(
                row.kind,
                failures=row.failures,
                last_failure_at=row.last_failure_at,
                locked_until=row.locked_until,
                now=now,
            )
            for row in rows
        ),
        default=0,
    )


def _insert_if_absent(key: Key) -> None:
    kind, subject = key
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(LoginThrottle.__table__)
        .values(kind=kind, subject=subject, failures=0)
        .on_conflict_do_nothing(index_elements=["kind", "subject"])
    )
    db.session.execute(statement)


def record_failure(keys: list[Key], now: datetime) -> None:
    """Count one failure on each key; lock a key that reaches its threshold. Race-safe."""
    for key in keys:
        _insert_if_absent(key)
        forgotten = or_(
            LoginThrottle.last_failure_at.is_(None),
            LoginThrottle.last_failure_at < now - rules.FAILURE_MEMORY,
        )
        failures = case((forgotten, 1), else_=LoginThrottle.failures + 1)
        lock_after = rules.THRESHOLDS[key[0]].lock_after
        not_locked = or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)
        locked_until = case(  # a running lock is not extended
            (
                and_(failures >= lock_after, not_locked),
                literal(now + rules.LOCK_DURATION, AwareDateTime()),
            ),
            else_=LoginThrottle.locked_until,
        )
        db.session.execute(
            update(LoginThrottle)
            .where(_matches(key))
            .values(failures=failures, last_failure_at=now, locked_until=locked_until)
            .execution_options(synchronize_session=False)
        )


def clear(key: Key) -> None:
    """Forget the failures of ``key`` (a successful login on that account)."""
    db.session.execute(
        delete(LoginThrottle).where(_matches(key)).execution_options(synchronize_session=False)
    )


def forget_stale(now: datetime) -> None:
    """Drop the rows nothing depends on any more (failures forgotten, no lock running)."""
    db.session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.last_failure_at < now - rules.FAILURE_MEMORY,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
        .execution_options(synchronize_session=False)
    )


LOCKED_SHOWN = 200


def locked(now: datetime) -> list[LoginThrottle]:
    """Accounts and addresses locked right now, the most recently locked first."""
    query = (
        select(LoginThrottle)
        .where(LoginThrottle.locked_until > now)
        .order_by(LoginThrottle.locked_until.desc(), LoginThrottle.id.desc())
        .limit(LOCKED_SHOWN)
    )
    return list(db.session.scalars(query))


def unlock(throttle_id: int) -> LoginThrottle | None:
    """Forget the failures of one account or address (an administrator's decision)."""
    row = db.session.get(LoginThrottle, throttle_id)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
    return row
