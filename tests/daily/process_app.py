"""App factory for the subprocesses of ``test_processes.py`` (not a test module).

``flask --app "tests.daily.process_app:create()" chorus run-daily …`` builds the portal from
the environment like production, but on the test's instance folder (its PDFs) and database
schema, then waits for a shared start instant so the processes really run at once.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from flask import Flask

from portal import create_app
from portal.config import Config


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
