"""Helpers for billing view tests: posting forms with their CSRF token, counting SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event

from portal.extensions import db
from tests import factories


def token(client: FlaskClient, url: str = "/quittances") -> str:
    return factories.csrf_token_from(client.get(url).get_data(as_text=True))


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST with a valid CSRF token (taken from a page's ``hx-headers``)."""
    payload = {"csrf_token": token(client), **(data or {})}
    return client.post(url, data=payload, **kw)


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """SQL statements executed by the engine inside the block."""
    statements: list[str] = []
    engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
