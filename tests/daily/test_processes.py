"""Exactly one daily run per day across processes (S14, B7): two real processes, one database.

Both run ``flask chorus run-daily`` for the same day at the same instant against the emulator
of this test process. On PostgreSQL and on SQLite alike the day is claimed by a unique row:
one process runs, the other records that it skipped, and every document is submitted once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date

from flask import Flask
from sqlalchemy import select

from portal.billing.models import FeeInvoice, Receipt
from portal.daily import rules as daily_rules
from portal.extensions import db
from portal.jobs.models import ExecutionState, ItemState, Job, TaskExecution
from portal.models_base import ChorusState
from tests.daily.conftest import sendable_fee_invoice
from tests.process_app import APP, ROOT, environment
from tests.sending.conftest import sendable_contract, sendable_receipt

DAY = date(2026, 1, 5)


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

    env = environment(app, start_at=time.time() + 6)
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        APP,
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
    skipped = "Ignoré (envoi du 05/01/2026) : Exécutée au même moment par un autre processus : "
    assert sum(skipped in text for text in texts) == 1, texts
    assert sum("par la ligne de commande" in text for text in texts) == 1, texts

    executions = db.session.scalars(select(TaskExecution).order_by(TaskExecution.id)).all()
    assert sorted(e.state for e in executions) == [
        ExecutionState.SKIPPED,
        ExecutionState.STARTED,
    ]
    assert all(e.trigger == daily_rules.COMMAND and e.run_on == DAY for e in executions)
    assert len({e.worker.split(":")[1] for e in executions if e.worker}) == 2  # two PIDs
    job = db.session.scalars(select(Job)).one()
    assert sorted(item.state for item in job.items) == [ItemState.SUCCEEDED] * 5
    assert sorted(item.document_number for item in job.items) == numbers
    assert chorus.state.stats_snapshot()["submissions"] == dict.fromkeys(numbers, 1)
    for model in (Receipt, FeeInvoice):
        states = db.session.scalars(select(model.chorus_state)).all()
        assert set(states) == {ChorusState.SENT}
