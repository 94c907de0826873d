"""``flask --app portal chorus run-daily [--date YYYY-MM-DD]``: the run's own entry point."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask
from sqlalchemy import select

from portal.daily import rules as daily_rules
from portal.extensions import db
from portal.jobs.models import TaskExecution
from tests.daily.conftest import set_cutoff, travel
from tests.sending.conftest import sendable_receipt


def invoke(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["chorus", "run-daily", *args])


def test_run_daily_runs_the_given_day_then_skips_it(app: Flask, chorus_on, chorus_admin) -> None:
    receipt = sendable_receipt(entered_on=date(2021, 11, 15), period_start_on=date(2022, 1, 1))

    early = invoke(app, "--date", "2021-12-31")
    assert early.exit_code == 0, early.output
    assert "Terminée : 0 envoyé(s)" in early.output

    result = invoke(app, "--date", "2022-01-01")
    assert result.exit_code == 0, result.output
    assert "Terminée : 1 envoyé(s), 0 ignoré(s), 0 refusé(s) ou en échec." in result.output
    assert "Rapport : " in result.output and "Détail : " in result.output

    again = invoke(app, "--date", "2022-01-01")
    assert again.exit_code == 0
    assert "Ignoré (envoi du 01/01/2022) : Déjà exécutée aujourd'hui à " in again.output
    ran = db.session.scalars(select(TaskExecution).where(TaskExecution.claim_key.is_not(None)))
    job_id = max(execution.job_id for execution in ran)
    assert f"par la ligne de commande (tâche n° {job_id})." in again.output
    assert "autre processus" not in again.output
    assert chorus_on.state.stats_snapshot()["submissions"] == {receipt.number: 1}


def test_run_daily_defaults_to_today_in_paris(app: Flask, chorus_on, chorus_admin) -> None:
    with travel(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)):  # 00:30 on 1 January in Paris
        result = invoke(app)
    assert result.exit_code == 0, result.output
    execution = db.session.scalars(select(TaskExecution)).one()
    assert (execution.run_on, execution.trigger) == (date(2026, 1, 1), daily_rules.COMMAND)


def test_run_daily_fails_loudly_without_a_cut_off(app: Flask, chorus_on) -> None:
    set_cutoff(None)
    result = invoke(app, "--date", "2026-01-01")
    assert result.exit_code == 1
    assert "Échec : Date de coupure non renseignée." in result.output


def test_run_daily_refuses_a_malformed_date(app: Flask) -> None:
    result = invoke(app, "--date", "01/01/2026")
    assert result.exit_code == 2
    assert db.session.scalars(select(TaskExecution)).all() == []
