"""Small SQL helpers shared by the services."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.sql.dml import Delete, Update

from portal.extensions import db


def changed_rows(statement: Update | Delete, params: Mapping[str, Any] | None = None) -> int:
    """Execute an UPDATE/DELETE in the current session and return how many rows it changed.

    This is the compare-and-set primitive: ``UPDATE … WHERE state = 'x'`` changed 1 row only
    for the caller that won. ``params`` binds a statement's parameters.
    """
    result = cast(CursorResult[Any], db.session.execute(statement, params))
    return result.rowcount


_sqlite_writes = threading.Lock()


def serialized_writes() -> AbstractContextManager[object]:
    """Queue this process's short write transactions on SQLite (a no-op elsewhere).

    SQLite has one writer at a time; threads that collide are put to sleep by its busy
    handler for milliseconds at a time. Waiting on a lock in the process hands over at once.
    Other processes still rely on the busy timeout.
    """
    if db.engine.dialect.name == "sqlite":
        return _sqlite_writes
    return nullcontext()
