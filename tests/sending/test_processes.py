"""Never twice, never lost (B7) with real processes: concurrent mass sends, a killed worker.

The processes run ``flask chorus send`` against the emulator of this test process and the
test's database (SQLite file or PostgreSQL schema), like separate servers would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from flask import Flask
from sqlalchemy import func, select

from portal.billing.models import Receipt
from portal.dematerialization.models import ChorusExchange
from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobItem
from portal.jobs.pool import get_runner
from portal.models_base import ChorusState
from tests.process_app import APP, ROOT, environment
from tests.sending.conftest import sendable_contract, sendable_receipt


def _send_command(numbers: list[str]) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", APP, "chorus", "send", *numbers]


def _receipts(count: int) -> list[str]:
    contract = sendable_contract()
    numbers = [sendable_receipt(contract).number for _ in range(count)]
    db.session.commit()
    db.session.remove()  # nothing of this process stays open on the database
    return numbers


def test_b7_two_processes_mass_sending_the_same_documents_submit_each_once(
    app: Flask, chorus, chorus_admin
) -> None:
    numbers = _receipts(8)
    env = environment(app, start_at=time.time() + 6)
    processes = [
        subprocess.Popen(
            _send_command(numbers),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, f"{out}\n{err}"

    assert chorus.state.stats_snapshot()["submissions"] == dict.fromkeys(numbers, 1)
    items = db.session.scalars(select(JobItem)).all()
    sent = sorted(i.document_number for i in items if i.state == ItemState.SUCCEEDED)
    assert sent == sorted(numbers)  # each document sent by exactly one of the two jobs
    assert all(i.state == ItemState.SKIPPED for i in items if i.state != ItemState.SUCCEEDED)
    states = db.session.scalars(select(Receipt.chorus_state)).all()
    assert set(states) == {ChorusState.SENT}


def test_b7_a_worker_killed_mid_job_leaves_every_document_sent_or_sendable_none_twice(
    app: Flask, chorus, chorus_admin, monkeypatch
) -> None:
    numbers = _receipts(10)
    # Half the submissions are accepted by Chorus but answered late: the process dies while
    # waiting, so those documents are in Chorus although the portal never heard back.
    chorus.state.faults.update(
        {
            "latency_ms": 100,
            "late_rate": 0.5,
            "late_seconds": 6,
            "operations": ["factures/soumettre"],
        }
    )
    env = environment(app, start_at=0, JOB_LEASE_SECONDS="2", CHORUS_READ_TIMEOUT="30")
    worker = subprocess.Popen(
        _send_command(numbers),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        submitting = db.session.scalar(
            select(func.count()).select_from(JobItem).where(JobItem.state == ItemState.SUBMITTING)
        )
        db.session.commit()
        if submitting >= 2:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the worker never reached the submissions")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)

    chorus.state.faults.reset()
    time.sleep(2.5)  # the dead worker's leases expire
    monkeypatch.setitem(app.config, "JOB_LEASE_SECONDS", 2)
    runner = get_runner(app)
    runner.sweep()  # what a restarted process does first
    job_id = db.session.scalar(select(Job.id))
    runner.wait(job_id, timeout=120)
    db.session.expire_all()

    stats = chorus.state.stats_snapshot()
    assert stats["duplicates"] == []
    assert all(count == 1 for count in stats["submissions"].values()), stats["submissions"]
    for receipt in db.session.scalars(select(Receipt)):
        assert receipt.chorus_state in (ChorusState.SENT, ChorusState.NOT_SENT)
        created = stats["invoices_created"].get(receipt.number, 0)
        assert created == (1 if receipt.chorus_state == ChorusState.SENT else 0)
    job = db.session.get(Job, job_id)
    assert job is not None and job.state == "done"
    assert job.succeeded + job.failed + job.skipped == len(numbers)
    lookups = db.session.scalar(
        select(func.count())
        .select_from(ChorusExchange)
        .where(ChorusExchange.operation == "factures/rechercher/fournisseur")
    )
    assert lookups >= 2  # the submissions in flight at the kill were looked up, not resent
