"""Every document reaches a final state by itself (issue 11, B7), with real processes.

A portal process is killed (SIGKILL) in the middle of a send: a gunicorn web worker running
a mass send started over HTTP (alone, or with its master), the command line, the scheduler
process during the daily run. Another portal process is alive: this test process, whose
runner sweeps every second with a 3-second lease. Nobody helps it: it looks up in Chorus the
submissions left without an answer (never resending them), adopts the orphaned job, sends
the rest and produces the job's notification and CSV report, once.

The fault run sends ~30 documents while Chorus answers 429, 503, timeouts and resets: every
document ends sent, none twice, and the retries show in the audit and on the items.

Processes work against the emulator of this test process and the test's database (SQLite
file or PostgreSQL schema). Nothing asserts on timing: the deadlines are only generous.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from portal import storage
from portal.billing.models import FeeInvoice, Receipt
from portal.clock import utcnow
from portal.dematerialization.models import ChorusExchange, ExchangeOutcome
from portal.extensions import db
from portal.jobs import retries
from portal.jobs.links import job_url
from portal.jobs.models import ItemState, Job, JobItem, JobKind, JobState
from portal.jobs.pool import JobRunner, get_runner
from portal.models_base import ChorusState
from portal.notifications.models import Notification, StoredReport
from portal.sending import services as sending
from portal.settings import chorus as keys
from portal.settings import store
from tests.conftest import PASSWORD, fresh_runner
from tests.daily.conftest import sendable_fee_invoice
from tests.factories import csrf_token_from
from tests.process_app import APP, ROOT, SCHEDULER_DAILY_FIRING, environment
from tests.sending.conftest import sendable_contract, sendable_receipt

LEASE_SECONDS = 3
SWEEP_SECONDS = 1
LATE_SECONDS = 1.5
# What every portal process of these tests runs with: the short lease and sweep, and a Chorus
# read timeout below the lease (as in production) but above the late answers below.
PROCESS_SETTINGS = {
    "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    "JOB_SWEEP_SECONDS": str(SWEEP_SECONDS),
    "CHORUS_READ_TIMEOUT": "2.5",
}
# Submissions answered slowly, half of them late (processed at once, answered 1.5 s later):
# the kill finds some in flight. A live worker keeps its items (late answer < lease).
MID_JOB_FAULTS = {
    "latency_ms": 100,
    "late_rate": 0.5,
    "late_seconds": LATE_SECONDS,
    "operations": ["factures/soumettre"],
    "seed": 11,
}
DEADLINE = 90  # seconds: generous bounds on waits, never a measure
LOOKUP = "factures/rechercher/fournisseur"
GUNICORN = Path(sys.executable).parent / "gunicorn"
FLASK = [sys.executable, "-m", "flask", "--app", APP]
SEND_ALL_ELIGIBLE = [*FLASK, "chorus", "send", "--all-eligible"]


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _own_runner(app: Flask) -> Iterator[None]:
    """Each test gets its own runner (and sweeper), stopped before the tables are emptied."""
    fresh_runner(app)
    yield
    fresh_runner(app)


@pytest.fixture
def other_process_alive(app: Flask, chorus: Any, monkeypatch: pytest.MonkeyPatch) -> JobRunner:
    """This test process as the portal process that stays alive: its runner sweeps."""
    monkeypatch.setitem(app.config, "JOB_LEASE_SECONDS", LEASE_SECONDS)
    monkeypatch.setitem(app.config, "JOB_SWEEP_SECONDS", SWEEP_SECONDS)
    runner = get_runner(app)
    runner.start_sweeping()
    assert runner.sweeper is not None
    return runner


@dataclass
class Portal:
    """Starts portal processes on the test's database and emulator, each in its own session
    and with its output in a log file."""

    app: Flask
    logs: Path
    started: list[subprocess.Popen[Any]] = field(default_factory=list)

    def start(self, command: list[str], name: str) -> tuple[subprocess.Popen[Any], Path]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment(self.app, 0, **PROCESS_SETTINGS),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process, log


@pytest.fixture
def portal(app: Flask, tmp_path: Path) -> Iterator[Portal]:
    """Portal processes started by the test, killed if still alive."""
    portal = Portal(app, tmp_path)
    yield portal
    for process in portal.started:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# -- helpers ------------------------------------------------------------------------------------


def _receipts(count: int) -> list[Receipt]:
    contract = sendable_contract()
    receipts = [sendable_receipt(contract) for _ in range(count)]
    db.session.commit()
    return receipts


def _release_session() -> None:
    """Nothing of this process stays open on the database while others work."""
    db.session.commit()
    db.session.remove()


def _within(condition: Callable[[], Any], timeout: float) -> bool:
    """Whether ``condition()`` gets truthy within ``timeout`` s (each read in a fresh
    transaction)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        db.session.commit()
        if value:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def _poll(condition: Callable[[], Any], what: str, timeout: float = DEADLINE) -> None:
    """Wait until ``condition()`` is truthy."""
    if not _within(condition, timeout):
        raise AssertionError(f"still waiting after {timeout} s: {what}")


def _wait_for_submissions_in_flight(process: subprocess.Popen[Any], log: Path) -> None:
    """Until a submission answered late is in flight: the moment to kill the process.

    An item submitting for more than a third of a second got a late answer (the others take
    0.1 s): it stays in flight for one more second at least, so the kill finds it there.
    """

    def in_flight() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the process ended before the kill:\n{log.read_text()[-3000:]}")
        submitting_since = utcnow() + timedelta(seconds=LEASE_SECONDS - 0.35)
        return db.session.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(
                JobItem.state == ItemState.SUBMITTING,
                JobItem.lease_until < submitting_since,
            )
        )

    _poll(in_flight, "a submission answered late in flight", timeout=60)


def _kill_group(process: subprocess.Popen[Any]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _kill_mid_send(
    chorus: Any,
    process: subprocess.Popen[Any],
    log: Path,
    kill: Callable[[], None] | None = None,
) -> set[tuple[str, int]]:
    """Kill ``process``'s group (or as ``kill`` says) with submissions in flight, then let
    Chorus answer well again; returns what the dead process left without an answer."""
    _wait_for_submissions_in_flight(process, log)
    if kill is None:
        _kill_group(process)
    else:
        kill()
    left = _left_submitting()
    chorus.state.faults.reset()
    return left


def _left_submitting() -> set[tuple[str, int]]:
    """Documents the dead process left without an answer from Chorus (type, id)."""
    rows = db.session.execute(
        select(JobItem.document_type, JobItem.document_id).where(
            JobItem.state == ItemState.SUBMITTING
        )
    ).all()
    db.session.commit()
    return {(document_type, document_id) for document_type, document_id in rows}


def _only_job_id() -> int:
    job_id = db.session.scalars(select(Job.id)).one()
    db.session.commit()
    return job_id


def _wait_until_finished(job_id: int) -> Job:
    """Until the job is no longer running; this process's sweeper is the only help."""

    def finished() -> bool:
        state = db.session.scalar(select(Job.state).where(Job.id == job_id))
        return state not in (JobState.RUNNING, JobState.FINISHING)

    _poll(finished, f"job {job_id} finished by the sweeper")
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None
    return job


def _assert_every_document_sent_once(chorus: Any, job: Job, numbers: list[str]) -> None:
    assert job.state == JobState.DONE, job.error
    items = job.items
    assert [item.state for item in items] == [ItemState.SUCCEEDED] * len(numbers), [
        (item.document_number, item.state, item.error_message) for item in items
    ]
    assert sorted(item.document_number for item in items) == sorted(numbers)
    assert (job.succeeded, job.failed, job.skipped) == (len(numbers), 0, 0)
    stats = chorus.state.stats_snapshot()
    assert stats["duplicates"] == []
    assert stats["submissions"] == dict.fromkeys(sorted(numbers), 1)
    assert stats["invoices_created"] == dict.fromkeys(sorted(numbers), 1)
    for model in (Receipt, FeeInvoice):
        states = set(db.session.scalars(select(model.chorus_state)))
        assert states <= {ChorusState.SENT}, (model.__name__, states)


def _assert_reported_once(job: Job) -> None:
    """One notification (one Chorus administrator) carrying the job's one CSV report."""
    notifications = db.session.scalars(
        select(Notification).where(Notification.link_url == job_url(job.id))
    ).all()
    assert len(notifications) == 1, [n.title for n in notifications]
    assert job.report_id is not None
    assert notifications[0].report_id == job.report_id
    assert db.session.scalar(select(func.count()).select_from(StoredReport)) == 1
    report = db.session.get(StoredReport, job.report_id)
    assert report is not None
    assert storage.path_of(storage.REPORTS, report.stored_name).is_file()


def _assert_recovered(
    chorus: Any, job_id: int, numbers: list[str], left: set[tuple[str, int]]
) -> None:
    """The dead process's job, finished by another: nothing lost, nothing twice, one report."""
    assert left, "the kill found no submission in flight"
    job = _wait_until_finished(job_id)
    _assert_every_document_sent_once(chorus, job, numbers)
    assert job.resumed_count >= 1
    _assert_reported_once(job)
    # The submissions left without an answer were looked up in Chorus, not sent again.
    looked_up = {
        (document_type, document_id)
        for document_type, document_id in db.session.execute(
            select(ChorusExchange.document_type, ChorusExchange.document_id).where(
                ChorusExchange.operation == LOOKUP, ChorusExchange.job_id == job_id
            )
        )
    }
    assert left <= looked_up, (left, looked_up)


# -- a: a gunicorn web worker running a mass send started over HTTP -----------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _serve(portal: Portal) -> tuple[subprocess.Popen[Any], Path, str]:
    """gunicorn (one worker) on a free loopback port, answering; returns it, its log and its
    base URL."""
    port = _free_port()
    command = [
        str(GUNICORN),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
        "--timeout",
        "120",
        APP,
    ]
    master, log = portal.start(command, "gunicorn")
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if master.poll() is not None:
            raise AssertionError(f"gunicorn ended:\n{log.read_text()[-3000:]}")
        try:
            return requests.get(f"{base}/connexion", timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
            return False

    _poll(answering, "gunicorn answering", timeout=60)
    return master, log, base


def _hidden_form(page: str, action_suffix: str) -> tuple[str, list[tuple[str, str]]]:
    """The action and hidden fields of the page's form posting to ``…action_suffix``."""
    match = re.search(
        rf'<form[^>]*action="([^"]*{re.escape(action_suffix)})"(.*?)</form>', page, re.S
    )
    assert match, f"no form to {action_suffix}"
    fields = [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(2)
        )
    ]
    return html.unescape(match.group(1)), fields


def _mass_send_over_http(base: str, username: str, ids: list[int]) -> None:
    """What the browser does: log in, select documents, confirm the mass send."""
    browser = requests.Session()
    login_page = browser.get(f"{base}/connexion", timeout=10)
    logged_in = browser.post(
        f"{base}/connexion",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(login_page.text),
        },
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302, logged_in.text[:500]
    home = browser.get(urljoin(base, logged_in.headers["Location"]), timeout=10)
    confirmation = browser.post(
        f"{base}/dematerialisation/quittances/masse",
        data={"csrf_token": csrf_token_from(home.text), "ids": [str(i) for i in ids]},
        timeout=30,
    )
    assert confirmation.status_code == 200, confirmation.text[:500]
    action, fields = _hidden_form(confirmation.text, "/masse/lancer")
    started = browser.post(urljoin(base, action), data=fields, allow_redirects=False, timeout=30)
    assert started.status_code == 303, started.text[:500]
    assert "/taches/" in started.headers["Location"]


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")
@pytest.mark.parametrize("victim", ["worker", "master and worker"])
@pytest.mark.usefixtures("other_process_alive")
def test_b7_a_web_worker_killed_during_a_mass_send_leaves_its_job_to_a_live_process(
    chorus: Any, chorus_admin: Any, portal: Portal, victim: str
) -> None:
    receipts = _receipts(10)
    numbers = [r.number for r in receipts]
    ids = [r.id for r in receipts]
    username, user_id = chorus_admin.username, chorus_admin.id
    _release_session()
    master, log, base = _serve(portal)
    (worker,) = _children(master.pid)

    chorus.state.faults.update(MID_JOB_FAULTS)
    _mass_send_over_http(base, username, ids)
    if victim == "worker":  # the master lives on and forks a new worker
        left = _kill_mid_send(chorus, master, log, lambda: os.kill(worker, signal.SIGKILL))
    else:
        left = _kill_mid_send(chorus, master, log)

    _assert_recovered(chorus, _only_job_id(), numbers, left)
    job = db.session.scalars(select(Job)).one()
    assert job.kind == JobKind.MASS_SEND
    assert job.created_by_id == user_id


# -- b: the command line ------------------------------------------------------------------------


@pytest.mark.usefixtures("chorus_admin", "other_process_alive")
def test_b7_the_command_line_killed_during_a_send_leaves_its_job_to_a_live_process(
    chorus: Any, portal: Portal
) -> None:
    numbers = [r.number for r in _receipts(10)]
    _release_session()
    chorus.state.faults.update(MID_JOB_FAULTS)
    cli, log = portal.start(SEND_ALL_ELIGIBLE, "cli")
    left = _kill_mid_send(chorus, cli, log)

    _assert_recovered(chorus, _only_job_id(), numbers, left)


def _taken_over(job_id: int, left: set[tuple[str, int]]) -> bool:
    """Whether another process adopted the job and settled the submissions ``left`` in flight."""
    if not db.session.scalar(select(Job.resumed_count).where(Job.id == job_id)):
        return False
    return not left & _left_submitting()


@pytest.mark.usefixtures("chorus_admin", "other_process_alive")
def test_b7_a_frozen_command_line_loses_its_job_to_a_live_process_and_wakes_up_harmless(
    chorus: Any, portal: Portal
) -> None:
    """A process that stops (SIGSTOP: its pid lives on) is known dead by its heartbeat only;
    woken up after the takeover, it works on beside the new owner: still nothing twice."""
    numbers = [r.number for r in _receipts(16)]
    _release_session()
    chorus.state.faults.update(MID_JOB_FAULTS)
    cli, log = portal.start(SEND_ALL_ELIGIBLE, "cli")
    for _ in range(4):
        _wait_for_submissions_in_flight(cli, log)
        os.killpg(cli.pid, signal.SIGSTOP)
        left = _left_submitting()
        job_id = _only_job_id()
        if _within(lambda j=job_id, s=left: _taken_over(j, s), timeout=LEASE_SECONDS + 5):
            break
        # Frozen inside one of its transactions, it holds locks that keep every other
        # process out until it wakes up: thaw it and freeze it again later.
        os.killpg(cli.pid, signal.SIGCONT)
    else:
        raise AssertionError("the frozen process's job was never taken over")
    chorus.state.faults.reset()
    os.killpg(cli.pid, signal.SIGCONT)

    assert cli.wait(timeout=DEADLINE) == 0, log.read_text()[-3000:]
    _assert_recovered(chorus, job_id, numbers, left)
    assert f": {len(numbers)} envoyé(s), 0 ignoré(s), 0 refusé(s)" in log.read_text()


# -- c: the scheduler process during the daily run ----------------------------------------------


@pytest.mark.usefixtures("chorus_admin", "other_process_alive")
def test_b7_the_scheduler_killed_during_the_daily_run_leaves_its_job_to_a_live_process(
    chorus: Any, portal: Portal
) -> None:
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    store.put_date(keys.CUTOFF_DATE, date(2021, 1, 1))
    contract = sendable_contract()
    documents = [
        *(sendable_receipt(contract, entered_on=date(2025, 6, 1)) for _ in range(8)),
        *(sendable_fee_invoice(contract, entered_on=date(2025, 9, 1)) for _ in range(2)),
    ]
    numbers = [document.number for document in documents]
    _release_session()
    chorus.state.faults.update(MID_JOB_FAULTS)
    scheduler, log = portal.start([sys.executable, "-c", SCHEDULER_DAILY_FIRING], "scheduler")
    left = _kill_mid_send(chorus, scheduler, log)

    _assert_recovered(chorus, _only_job_id(), numbers, left)
    job = db.session.scalars(select(Job)).one()
    assert job.kind == JobKind.DAILY_SEND


# -- 2: transient failures retried inside the job -----------------------------------------------


def test_b7_under_429_503_timeouts_and_resets_every_document_ends_sent_once_by_itself(
    app: Flask, chorus: Any, chorus_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CHORUS_READ_TIMEOUT", 1.0)
    # A try fails about 40 % of the time here: with 5 tries, about one document in 100 would
    # give up (as designed) and a run of 32 often ends with one failed. With the 10 tries
    # allowed, under one run in 500 would; no planned delay keeps it quick (Retry-After of
    # the 429 and 503 answers still delays, so retries planned in the future are exercised).
    store.put(retries.ATTEMPTS, str(retries.MAX_ATTEMPTS))
    store.put(retries.FIRST_DELAY_SECONDS, "0")
    db.session.commit()
    receipts = _receipts(32)
    numbers = [r.number for r in receipts]
    chorus.state.faults.update(
        {
            "seed": 2026,
            "throttle_rate": 0.1,
            "retry_after": 1,
            "error_rate": 0.1,
            "error_statuses": [503],
            "timeout_rate": 0.1,
            "timeout_seconds": 1.5,
            "reset_rate": 0.1,
        }
    )
    job = sending.start_send(receipts, kind=JobKind.MASS_SEND, user=None)
    db.session.commit()
    job_id = job.id
    sending.launch(job)
    get_runner(app).wait(job_id, timeout=150)
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None

    _assert_every_document_sent_once(chorus, job, numbers)
    _assert_reported_once(job)
    faults = chorus.state.stats_snapshot()["faults"]
    for kind in ("throttle", "error", "timeout", "reset"):
        assert any(name.endswith(f":{kind}") for name in faults), faults
    # Retries: counted on the items, and every failed try is in the document's audit (B9) as
    # Chorus unavailable (or an unknown outcome), never as a refusal: nothing was refused.
    retried = {item.document_id: item.tries for item in job.items if item.tries}
    assert retried, "no document needed a retry"
    outcomes = db.session.execute(
        select(ChorusExchange.document_id, ChorusExchange.outcome, ChorusExchange.code_retour)
        .where(ChorusExchange.job_id == job_id)
        .order_by(ChorusExchange.id)
    ).all()
    refused = [row for row in outcomes if row.outcome == ExchangeOutcome.REFUSED]
    assert refused == [], refused
    transient = {ExchangeOutcome.UNAVAILABLE, ExchangeOutcome.UNKNOWN}
    for document_id, tries in retried.items():
        failed = [row for row in outcomes if row.document_id == document_id]
        assert sum(row.outcome in transient for row in failed) >= tries, (tries, failed)
