"""The 19:00 schedule (S14): exists exactly when the settings allow it, follows them without a
restart, starts only in the process meant for it, catches up a missed evening once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app
from portal.daily import rules as daily_rules
from portal.daily import services as daily
from portal.extensions import db
from portal.jobs import scheduler
from portal.jobs.models import ExecutionState, TaskExecution
from portal.jobs.pool import get_runner
from portal.jobs.scheduler import SYNC_JOB, PortalScheduler
from portal.schedule import CATCH_UP_JOB, DAILY_JOB
from portal.settings import chorus as keys
from portal.settings import store
from tests.conftest import app_config
from tests.daily.conftest import at, travel
from tests.factories import csrf_token_from
from tests.sending.conftest import configure_chorus

DAY = date(2026, 3, 10)


def active_settings(**extra: str | None) -> None:
    """S1 on, automatic sending on, connection settings complete (no emulator needed)."""
    configure_chorus("http://127.0.0.1:9", **extra)
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    db.session.commit()


def has_daily_job(portal_scheduler: PortalScheduler) -> bool:
    return portal_scheduler.scheduler.get_job(DAILY_JOB) is not None


def record(day: date, trigger: str, state: ExecutionState, claimed: bool = False) -> None:
    db.session.add(
        TaskExecution(
            task=daily_rules.DAILY_TASK,
            run_on=day,
            claim_key=daily_rules.claim_key(day) if claimed else None,
            trigger=trigger,
            state=state,
        )
    )
    db.session.commit()


@pytest.fixture
def registered(app: Flask) -> Iterator[PortalScheduler]:
    """A scheduler registered as this process's, never started (jobs stay pending)."""
    portal_scheduler = PortalScheduler(app)
    app.extensions["portal.scheduler"] = portal_scheduler
    yield portal_scheduler
    app.extensions.pop("portal.scheduler", None)


# -- where the scheduler runs --------------------------------------------------------------------


def _scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "APScheduler" in t.name]


def test_create_app_never_starts_the_scheduler_even_when_it_is_enabled(tmp_path: Path) -> None:
    before = _scheduler_threads()
    application = create_app(app_config(tmp_path, scheduler_enabled=True))
    assert application.config["SCHEDULER_ENABLED"] is True
    result = application.test_cli_runner().invoke(args=["chorus", "run-daily", "--help"])
    assert result.exit_code == 0
    assert scheduler.current(application) is None
    assert _scheduler_threads() == before
    with application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("enabled", "testing", "reloader_child"),
    [(False, False, False), (True, True, False), (True, False, True)],
)
def test_the_scheduler_does_not_start_when_disabled_in_tests_or_in_a_reloader_child(
    app: Flask, monkeypatch, enabled: bool, testing: bool, reloader_child: bool
) -> None:
    monkeypatch.setitem(app.config, "SCHEDULER_ENABLED", enabled)
    monkeypatch.setitem(app.config, "TESTING", testing)
    if reloader_child:
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    started: list[PortalScheduler] = []
    monkeypatch.setattr(PortalScheduler, "start", lambda self: started.append(self))

    assert scheduler.start_if_enabled(app) is False
    assert started == []
    assert scheduler.current(app) is None


def test_the_process_meant_for_it_starts_one_scheduler_that_schedules_19_00(
    app: Flask, monkeypatch
) -> None:
    active_settings()
    monkeypatch.setitem(app.config, "SCHEDULER_ENABLED", True)
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    # The start-up recovery (runner, database) is covered elsewhere; keep this test to the clock.
    monkeypatch.setattr(PortalScheduler, "startup", lambda self: self.sync())
    try:
        with travel(at(DAY, 18, 30)):
            assert scheduler.start_if_enabled(app) is True
            running = scheduler.current(app)
            assert running is not None and running.scheduler.running
            assert scheduler.start_if_enabled(app) is True  # idempotent
            assert scheduler.current(app) is running
            running.sync()
            assert running.scheduler.get_job(SYNC_JOB) is not None
            assert running.next_run(DAILY_JOB) == at(DAY, 19)
    finally:
        portal_scheduler = app.extensions.pop("portal.scheduler", None)
        if portal_scheduler is not None:
            portal_scheduler.shutdown()


# -- the job follows the settings ----------------------------------------------------------------


def test_the_daily_job_exists_exactly_when_s1_auto_send_and_connection_settings_allow_it(
    app: Flask,
) -> None:
    portal_scheduler = PortalScheduler(app)
    portal_scheduler.sync()
    assert not has_daily_job(portal_scheduler)  # nothing configured

    active_settings()
    portal_scheduler.sync()
    assert has_daily_job(portal_scheduler)
    portal_scheduler.sync()  # idempotent
    assert [j.id for j in portal_scheduler.scheduler.get_jobs()].count(DAILY_JOB) == 1

    store.put_bool(keys.AUTO_SEND_ENABLED, False)
    db.session.commit()
    portal_scheduler.sync()
    assert not has_daily_job(portal_scheduler)

    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    portal_scheduler.sync()
    assert not has_daily_job(portal_scheduler)
    assert daily_rules.trigger_problems(keys.load()) == [
        "paramètres de connexion incomplets : Identifiant fournisseur"
    ]

    store.put(keys.SUPPLIER_ID, "25000001")
    store.put_bool(keys.CHORUS_ENABLED, False)
    db.session.commit()
    portal_scheduler.sync()
    assert not has_daily_job(portal_scheduler)


def test_an_empty_cut_off_keeps_the_job_so_the_failure_is_recorded(app: Flask) -> None:
    active_settings(cutoff=None)
    portal_scheduler = PortalScheduler(app)
    portal_scheduler.sync()
    assert has_daily_job(portal_scheduler)


@pytest.mark.parametrize("day", [date(2026, 1, 15), date(2026, 7, 15)], ids=["hiver", "été"])
def test_the_daily_job_fires_at_19_00_europe_paris_in_winter_and_summer(
    app: Flask, day: date
) -> None:
    active_settings()
    portal_scheduler = PortalScheduler(app)
    portal_scheduler.sync()
    job = portal_scheduler.scheduler.get_job(DAILY_JOB)
    fire = job.trigger.get_next_fire_time(None, at(day, 8))
    assert fire == at(day, 19)
    assert fire.utcoffset() == timedelta(hours=1 if day.month == 1 else 2)
    assert job.misfire_grace_time == scheduler.MISFIRE_GRACE_SECONDS
    assert job.coalesce and job.max_instances == 1


def _form(**changes: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {
        "environment": "emulator",
        "client_id": "demo-client",
        "tech_login": "TECH_1_80283822726464@cpro.fr",
        "supplier_id": "25000001",
        "auto_send_enabled": "y",
        "delay_receipts": "",
        "delay_fee_invoices": "",
        "cutoff_date": "2021-01-01",
        # The stored addresses (``active_settings``), as the form shows them: another address
        # would need the secrets typed again.
        "oauth_url": "http://127.0.0.1:9/api/oauth/token",
        "api_url": "http://127.0.0.1:9",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_saving_the_settings_adds_or_removes_the_job_without_a_restart(
    as_admin: FlaskClient, registered: PortalScheduler
) -> None:
    active_settings()
    url = "/administration/parametres/systeme"
    token = csrf_token_from(as_admin.get(url).get_data(as_text=True))
    assert not has_daily_job(registered)

    response = as_admin.post(url, data={"csrf_token": token, **_form()})
    assert response.status_code == 303
    assert has_daily_job(registered)

    response = as_admin.post(url, data={"csrf_token": token, **_form(auto_send_enabled=None)})
    assert response.status_code == 303
    assert not has_daily_job(registered)

    as_admin.post(url, data={"csrf_token": token, **_form()})
    assert has_daily_job(registered)
    response = as_admin.post("/administration/parametres", data={"csrf_token": token})
    assert response.status_code == 303
    assert not keys.is_chorus_enabled()
    assert not has_daily_job(registered)


def test_a_firing_after_the_settings_were_switched_off_elsewhere_does_nothing(
    app: Flask,
) -> None:
    active_settings()
    store.put_bool(keys.AUTO_SEND_ENABLED, False)
    db.session.commit()
    PortalScheduler(app).fire(DAILY_JOB)
    assert db.session.scalars(select(TaskExecution)).all() == []


# -- catch-up after downtime ---------------------------------------------------------------------


def _catch_up_after_sync(app: Flask, moment: datetime) -> date | None:
    portal_scheduler = PortalScheduler(app)
    with travel(moment):
        portal_scheduler.sync()
    job = portal_scheduler.scheduler.get_job(CATCH_UP_JOB)
    return job.args[0] if job is not None else None


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(18, 59, None), (19, 0, None), (19, 1, DAY), (21, 30, DAY), (23, 30, DAY), (23, 31, None)],
)
def test_the_portal_back_the_same_evening_catches_up_within_the_window_only(
    app: Flask, hour: int, minute: int, expected: date | None
) -> None:
    active_settings()
    assert _catch_up_after_sync(app, at(DAY, hour, minute)) == expected


def test_no_catch_up_when_the_day_already_ran_or_the_scheduled_attempt_failed(
    app: Flask,
) -> None:
    active_settings()
    record(DAY, daily_rules.MANUAL, ExecutionState.STARTED, claimed=True)
    assert _catch_up_after_sync(app, at(DAY, 20)) is None

    other = DAY + timedelta(days=1)
    record(other, daily_rules.SCHEDULED, ExecutionState.FAILED)  # e.g. empty cut-off at 19:00
    assert _catch_up_after_sync(app, at(other, 20)) is None


def test_a_failed_manual_run_does_not_prevent_the_evening_catch_up(app: Flask) -> None:
    active_settings()
    record(DAY, daily_rules.MANUAL, ExecutionState.FAILED)
    assert _catch_up_after_sync(app, at(DAY, 20)) == DAY


def test_no_catch_up_while_the_trigger_is_inactive(app: Flask) -> None:
    configure_chorus("http://127.0.0.1:9")  # automatic sending off
    assert _catch_up_after_sync(app, at(DAY, 20)) is None


def test_the_catch_up_runs_the_missed_day_once_with_its_own_trigger(
    app: Flask, chorus_on, chorus_admin
) -> None:
    portal_scheduler = PortalScheduler(app)
    with travel(at(DAY, 20)):
        portal_scheduler.fire(CATCH_UP_JOB, DAY)
        portal_scheduler.fire(CATCH_UP_JOB, DAY)
    get_runner(app).wait_idle(timeout=60)
    executions = db.session.scalars(select(TaskExecution).order_by(TaskExecution.id)).all()
    assert [(e.trigger, e.state, e.run_on) for e in executions] == [
        (daily_rules.CATCH_UP, "started", DAY),
        (daily_rules.CATCH_UP, "skipped", DAY),
    ]
    assert _catch_up_after_sync(app, at(DAY, 20, 5)) is None


# -- next run ------------------------------------------------------------------------------------


def test_the_next_run_is_today_at_19_until_it_ran_then_tomorrow(app: Flask) -> None:
    assert daily.next_run_on(at(DAY, 9)) == DAY
    assert daily.next_run_at(at(DAY, 9)) == at(DAY, 19)
    assert daily.next_run_on(at(DAY, 23, 45)) == DAY + timedelta(days=1)
    # 20:00 and nothing ran: the catch-up is due now.
    assert daily.next_run_at(at(DAY, 20)) == at(DAY, 20)

    record(DAY, daily_rules.SCHEDULED, ExecutionState.STARTED, claimed=True)
    assert daily.next_run_on(at(DAY, 9)) == DAY + timedelta(days=1)
    assert daily.next_run_at(at(DAY, 19, 30)) == at(DAY + timedelta(days=1), 19)


def test_after_a_failed_19_00_run_the_next_automatic_run_is_tomorrow(app: Flask) -> None:
    record(DAY, daily_rules.MANUAL, ExecutionState.FAILED)
    assert daily.next_run_on(at(DAY, 19, 30)) == DAY
    record(DAY, daily_rules.SCHEDULED, ExecutionState.FAILED)
    assert daily.next_run_on(at(DAY, 19, 30)) == DAY + timedelta(days=1)


def test_next_run_uses_the_paris_date_near_midnight(app: Flask) -> None:
    late_utc = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 00:30 on the 11th in Paris
    assert daily.next_run_on(late_utc) == date(2026, 3, 11)
    assert daily.next_run_at(late_utc) == at(date(2026, 3, 11), 19)
