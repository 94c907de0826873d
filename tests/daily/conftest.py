"""Fixtures of the daily-run tests: the sending fixtures, plus settings and time helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask

from portal.billing.services import store_generated_pdf
from portal.clock import PARIS
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.pool import get_runner
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.browser.conftest import browser, live_server, page  # noqa: F401  (re-exported fixtures)
from tests.conftest import fresh_runner
from tests.sending.conftest import (  # noqa: F401  (fixtures used by name)
    chorus,
    chorus_admin,
    chorus_emulator,
    chorus_emulator_server,
    sendable_contract,
)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment of ``day`` in Europe/Paris."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def travel(moment: datetime) -> Any:
    """Time travel to ``moment`` (the clock keeps ticking so worker threads behave)."""
    return time_machine.travel(moment, tick=True)


def set_delays(receipts: int | None = None, fee_invoices: int | None = None) -> None:
    store.put(keys.DELAY_RECEIPTS, None if receipts is None else str(receipts))
    store.put(keys.DELAY_FEE_INVOICES, None if fee_invoices is None else str(fee_invoices))
    db.session.commit()


def set_cutoff(cutoff: date | None) -> None:
    if cutoff is None:
        store.put(keys.CUTOFF_DATE, None)
    else:
        store.put_date(keys.CUTOFF_DATE, cutoff)
    db.session.commit()


def sendable_fee_invoice(contract: Any = None, **kw: Any) -> Any:
    """A fee invoice with its PDF on a sendable contract (same client as the contract)."""
    contract = contract or sendable_contract()
    invoice = factories.make_fee_invoice(
        client=contract.client, contract=contract, company=contract.company, **kw
    )
    store_generated_pdf(invoice)
    db.session.commit()
    return invoice


def wait_for(app: Flask, job_id: int | None) -> Job:
    """Wait for the job of a run and return it fresh from the database."""
    assert job_id is not None
    get_runner(app).wait(job_id, timeout=120)
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job is not None
    return job


@pytest.fixture(autouse=True)
def _own_job_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test gets its own job threads, before and after.

    Worker threads keep per-thread state (HTTP session, the send handler's per-job memo);
    tests of other directories talk to another emulator with other settings, and ids restart
    in every test's emptied database, so no thread state should outlive a test.
    """
    if "app" not in request.fixturenames:
        yield
        return
    flask_app: Flask = request.getfixturevalue("app")
    fresh_runner(flask_app)
    yield
    fresh_runner(flask_app)


@pytest.fixture
def chorus_on(chorus: Any) -> Iterator[Any]:
    """The emulator with automatic sending on, cut-off 01/01/2021, no delays."""
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    set_cutoff(date(2021, 1, 1))
    yield chorus
