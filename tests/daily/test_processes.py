"""Exactly one daily run per day across processes (S14, B7): two real processes, one database.

Both run ``flask chorus run-daily`` for the same day at the same instant against the emulator
of this test process. On PostgreSQL and on SQLite alike the day is claimed by a unique row:
one process runs, the other records that it skipped, and every document is submitted once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from portal.billing.models import FeeInvoice, Receipt
from portal.dematerialization import daily
from portal.extensions import db
from portal.jobs.models import ExecutionState, ItemState, Job, TaskExecution
from portal.models_base import ChorusState
from tests.conftest import _pg_schema, is_postgres
from tests.daily.conftest import sendable_contract, sendable_fee_invoice, sendable_receipt

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 1, 5)


def _environment(app: Flask, start_at: float) -> dict[str, str]:
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
    return env


def test_s14_two_processes_running_the_same_day_at_once_run_it_once(
    app: Flask, chorus, chorus_admin
) -> None:
    contract = sendable_contract()
    documents = [
        *(sendable_receipt(contract, entered_on=date(2025, 6, 1)) for _ in range(4)),
        sendable_fee_invoice(contract, entered_on=date(2025, 12, 1)),
    ]
    db.session.commit()
    numbers = sorted(document.number for document in documents)
    db.session.remove()  # nothing of this process stays open on the database

    env = _environment(app, start_at=time.time() + 6)
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "tests.daily.process_app:create()",
        "chorus",
        "run-daily",
        "--date",
        DAY.isoformat(),
    ]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]

    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"{out}\n{err}"
    texts = [out for out, _ in outputs]
    assert sum("Terminée : 5 envoyé(s)" in text for text in texts) == 1, texts
    assert sum("Ignoré : Envoi du jour déjà exécuté" in text for text in texts) == 1, texts

    executions = db.session.scalars(select(TaskExecution).order_by(TaskExecution.id)).all()
    assert sorted(e.state for e in executions) == [
        ExecutionState.SKIPPED.value,
        ExecutionState.STARTED.value,
    ]
    assert all(e.trigger == daily.COMMAND and e.run_on == DAY for e in executions)
    assert len({e.worker.split(":")[1] for e in executions if e.worker}) == 2  # two PIDs
    job = db.session.scalars(select(Job)).one()
    assert sorted(item.state for item in job.items) == [ItemState.SUCCEEDED.value] * 5
    assert sorted(item.document_number for item in job.items) == numbers
    assert chorus.state.stats_snapshot()["submissions"] == dict.fromkeys(numbers, 1)
    for model in (Receipt, FeeInvoice):
        states = db.session.scalars(select(model.chorus_state)).all()
        assert set(states) == {ChorusState.SENT.value}
