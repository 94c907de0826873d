"""Run the portal in separate processes from a test (not a test module).

``flask --app "tests.process_app:create()" chorus …`` builds the portal from the environment
like production, but on the test's instance folder (its PDFs) and database schema, then
waits for a shared start instant so several processes really run at once.
``environment(app, start_at)`` is the environment such a process needs.
``python -c SCHEDULER_DAILY_FIRING`` is a scheduler process at 19:00 (``fire_daily_run``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from flask import Flask

from portal import create_app
from portal.config import Config

ROOT = Path(__file__).resolve().parents[1]
APP = "tests.process_app:create()"


def environment(app: Flask, start_at: float, **extra: str) -> dict[str, str]:
    """Environment of a subprocess sharing ``app``'s database, files and encryption key."""
    from tests.conftest import _pg_schema, is_postgres

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CHORUS_", "DATABASE_URL", "SCHEDULER_", "WERKZEUG_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY="test-secret",
        ENCRYPTION_KEY=app.config["ENCRYPTION_KEY"],
        PORTAL_TEST_INSTANCE=app.config["INSTANCE_PATH"],
        PORTAL_TEST_START_AT=f"{start_at:.3f}",
        JOB_WORKERS="2",
    )
    if is_postgres():
        env["PORTAL_TEST_PG_SCHEMA"] = _pg_schema()
    env.update(extra)
    return env


def create() -> Flask:
    instance = Path(os.environ["PORTAL_TEST_INSTANCE"])
    config = Config.from_env(instance)
    options: dict[str, object] = {}
    schema = os.environ.get("PORTAL_TEST_PG_SCHEMA")
    if schema:
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(
        dataclasses.replace(
            config,
            extra={"INSTANCE_PATH": str(instance), "SQLALCHEMY_ENGINE_OPTIONS": options},
        )
    )
    start_at = float(os.environ.get("PORTAL_TEST_START_AT", "0"))
    time.sleep(max(0.0, start_at - time.time()))
    return app


# A scheduler process firing the daily run (run with ``python -c``, like ``APP`` with flask).
SCHEDULER_DAILY_FIRING = "from tests.process_app import fire_daily_run; fire_daily_run()"


def fire_daily_run() -> None:
    """The scheduler's 19:00 firing in a process of its own, which then lives on as the
    scheduler process does (tests kill it; it ends by itself after two minutes)."""
    from portal.jobs.scheduler import PortalScheduler
    from portal.schedule import DAILY_JOB

    PortalScheduler(create()).fire(DAILY_JOB)
    time.sleep(120)
