"""What the benchmarks share: a throwaway portal on SQLite or on a temporary PostgreSQL schema.

    with bench_app("lists", args.database_url) as app:
        ...

Without a URL the database is a SQLite file in a temporary directory (also the instance
folder, for stored files); with a PostgreSQL URL, the tables go to a schema of their own,
dropped at the end, so the database given is left as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.auth.models import User
from portal.config import Config
from portal.extensions import db

ENCRYPTION_KEY = "x0QyUg2xV2I3zWJ7k0kQ3HG5Jp2b8G0C7Cq3cO1Nf3k="  # throwaway benchmark key
USERNAME = "bench"
PASSWORD = "bench-password"  # noqa: S105  (throwaway user of a temporary database)


@contextmanager
def bench_app(
    name: str,
    database_url: str | None = None,
    *,
    sqlite_file: Path | None = None,
    **config: Any,
) -> Iterator[Flask]:
    """A portal app with empty tables; ``config`` adds Flask config keys."""
    root = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    url = database_url or f"sqlite:///{sqlite_file or root / 'bench.db'}"
    schema = f"bench_{name}_{os.getpid()}_{int(time.time())}"
    postgres = url.startswith("postgresql")
    engine_options: dict[str, object] = {}
    if postgres:
        _run(url, f'CREATE SCHEMA "{schema}"')
        engine_options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(
        Config(
            instance_path=root,
            database_url=url,
            secret_key="bench",
            encryption_key=ENCRYPTION_KEY,
            extra={
                "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
                "INSTANCE_PATH": str(root),
                **config,
            },
        )
    )
    try:
        with app.app_context():
            db.create_all()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if postgres:
            _run(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(root, ignore_errors=True)


def current_rss_mb() -> float:
    """Resident set size of this process now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _run(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def add_user(role: str) -> None:
    """The benchmark's user (``login`` logs it in); flushes."""
    user = User(username=USERNAME, role=role)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.flush()


def login(client: Any) -> None:
    """Log the benchmark's user in through the real login form."""
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    response = client.post(
        "/connexion", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code == 302, response.status_code


def analyze() -> None:
    """Refresh the planner's statistics after bulk inserts (in the current app context)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
