"""Small SQL helpers shared by the services."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.sql.dml import Delete, Update

from portal.extensions import db


def changed_rows(statement: Update | Delete) -> int:
    """Execute an UPDATE/DELETE in the current session and return how many rows it changed.

    This is the compare-and-set primitive: ``UPDATE … WHERE state = 'x'`` changed 1 row only
    for the caller that won.
    """
    result = cast(CursorResult[Any], db.session.execute(statement))
    return result.rowcount
