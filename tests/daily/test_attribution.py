"""The daily run cannot be consumed by mistake (S14, B9).

A future date is refused on the command line unless forced with a reason, kept in the
history; a run is attributed to whoever started it (a person, the command line, the
scheduler); the trigger panel and the preview say when today's run happened and by whom; a
skipped run says precisely why: « par un autre processus » only when it is true.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from portal.auth.models import User
from portal.daily import rules as daily_rules
from portal.daily import services as daily
from portal.dematerialization.models import ChorusExchange
from portal.extensions import db
from portal.jobs.models import ExecutionState, Job, TaskExecution
from portal.notifications.models import Notification
from tests.daily.conftest import at, travel, wait_for
from tests.daily.test_views import PREVIEW, RECIPIENTS, html_of, logged_in, text_of
from tests.factories import csrf_token_from
from tests.sending.conftest import sendable_receipt

DAY = date(2026, 3, 10)
TOMORROW = DAY + timedelta(days=1)


def invoke(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["chorus", "run-daily", *args])


def executions() -> list[TaskExecution]:
    return list(db.session.scalars(select(TaskExecution).order_by(TaskExecution.id)))


# -- the command line refuses a future date ------------------------------------------------------


def test_s14_the_command_line_refuses_a_future_date_and_records_nothing(
    app: Flask, chorus_on
) -> None:
    with travel(at(DAY, 10)):
        result = invoke(app, "--date", TOMORROW.isoformat())
    assert result.exit_code == 2, result.output
    assert "Le 11/03/2026 est dans le futur (nous sommes le 10/03/2026)" in result.output
    assert "son envoi de 19 h n'aurait plus lieu" in result.output
    assert '--force --reason "…"' in result.output
    assert executions() == []


def test_s14_the_paris_date_decides_what_is_future_near_midnight(
    app: Flask, chorus_on, chorus_admin
) -> None:
    with travel(datetime(2026, 3, 10, 23, 30, tzinfo=UTC)):  # 00:30 on 11 March in Paris
        result = invoke(app, "--date", TOMORROW.isoformat())
    assert result.exit_code == 0, result.output
    assert [(e.run_on, e.state) for e in executions()] == [(TOMORROW, "started")]


def test_s14_force_takes_a_reason_of_at_most_200_characters(app: Flask, chorus_on) -> None:
    future = TOMORROW.isoformat()
    cases = {
        ("--force",): "--force exige une raison",
        ("--force", "--reason", "   "): "--force exige une raison",
        ("--reason", "Fermeture"): "--reason ne s'emploie qu'avec --force",
        ("--force", "--reason", "x" * 201): "La raison ne doit pas dépasser 200 caractères",
    }
    with travel(at(DAY, 10)):
        for args, error in cases.items():
            result = invoke(app, "--date", future, *args)
            assert result.exit_code == 2, (args, result.output)
            assert error in result.output, (args, result.output)
    assert executions() == []


def test_s14_a_forced_future_day_keeps_its_reason_and_its_19_00_run_then_skips(
    app: Flask, chorus_on, chorus_admin, admin
) -> None:
    reason = "Cabinet fermé le 11/03 : envoi avancé à la demande de la direction"
    with travel(at(DAY, 10)):
        result = invoke(app, "--date", TOMORROW.isoformat(), "--force", "--reason", reason)
    assert result.exit_code == 0, result.output
    assert "Attention : l'envoi de 19 h du 11/03/2026 n'aura pas lieu" in result.output
    forced = executions()[0]
    assert (forced.run_on, forced.trigger, forced.state) == (
        TOMORROW,
        daily_rules.COMMAND,
        "started",
    )
    assert forced.message == f"Lancée en avance avec --force : {reason}"
    assert forced.started_by_id is None

    with travel(at(TOMORROW, 19)):
        skipped = daily.run_daily(TOMORROW, trigger=daily_rules.SCHEDULED)
        history = text_of(html_of(logged_in(app, admin).get(RECIPIENTS)))
    assert skipped.state == ExecutionState.SKIPPED
    assert skipped.message == (
        f"Déjà exécutée le 10/03/2026 à 10:00 par la ligne de commande (tâche n° {forced.job_id})."
    )
    assert reason in history
    assert "Déjà exécutée le 10/03/2026 à 10:00 par la ligne de commande" in history


def test_s14_a_forced_run_that_fails_keeps_both_the_failure_and_the_reason(
    app: Flask, chorus_on
) -> None:
    from tests.daily.conftest import set_cutoff

    set_cutoff(None)
    with travel(at(DAY, 10)):
        result = invoke(app, "--date", TOMORROW.isoformat(), "--force", "--reason", "Essai")
    assert result.exit_code == 1
    failed = executions()[0]
    assert failed.message == "Date de coupure non renseignée. Lancée en avance avec --force : Essai"
    assert failed.claim_key is None  # the day is given back


# -- attribution (B9) ----------------------------------------------------------------------------


def test_b9_a_run_started_from_the_screen_is_recorded_as_that_person_s(
    app: Flask, chorus_on, chorus_admin, admin
) -> None:
    admin.full_name = "Alice Martin"
    db.session.commit()
    receipt = sendable_receipt(entered_on=date(2021, 6, 1))
    client = logged_in(app, admin)
    token = csrf_token_from(html_of(client.get(RECIPIENTS)))
    assert client.post("/envoi-automatique/lancer", data={"csrf_token": token}).status_code == 303

    execution = executions()[0]
    assert (execution.trigger, execution.started_by_id) == (daily_rules.MANUAL, admin.id)
    job = wait_for(app, execution.job_id)
    assert job.created_by_id == admin.id and job.launched_by == "Alice Martin"
    exchanges = db.session.scalars(
        select(ChorusExchange).where(ChorusExchange.document_id == receipt.id)
    ).all()
    assert exchanges and {exchange.user_id for exchange in exchanges} == {admin.id}
    notification = db.session.scalars(select(Notification)).one()
    assert notification.body.endswith("Lancée par Alice Martin.")

    job_page = text_of(html_of(client.get(f"/taches/{job.id}")))
    assert "par Alice Martin" in job_page and "l'automate" not in job_page
    jobs_list = text_of(html_of(client.get("/taches/")))
    assert "Alice Martin" in jobs_list and "Automate" not in jobs_list
    panel = text_of(html_of(client.get(RECIPIENTS)))
    assert "Manuelle par Alice Martin" in panel
    assert "Envoi du jour déjà exécuté aujourd'hui à " in panel
    assert f"par Alice Martin — tâche n° {job.id}" in panel


def test_b9_the_command_line_and_the_scheduler_are_named_as_such(
    app: Flask, chorus_on, chorus_admin, admin
) -> None:
    with travel(at(date(2026, 1, 5), 19)):
        assert invoke(app).exit_code == 0
    with travel(at(date(2026, 1, 6), 19)):
        scheduled = daily.run_daily(date(2026, 1, 6), trigger=daily_rules.SCHEDULED)
        wait_for(app, scheduled.job_id)
    command, automatic = db.session.scalars(select(Job).order_by(Job.id)).all()
    assert command.launched_by == "la ligne de commande"
    assert automatic.launched_by == "l'automate"
    assert [e.started_by_id for e in executions()] == [None, None]
    bodies = [n.body for n in db.session.scalars(select(Notification).order_by(Notification.id))]
    assert bodies[0].endswith("Lancée par la ligne de commande.")
    assert bodies[1].endswith("Lancée par l'automate.")

    client = logged_in(app, admin)
    assert "par la ligne de commande" in text_of(html_of(client.get(f"/taches/{command.id}")))
    assert "par l'automate" in text_of(html_of(client.get(f"/taches/{automatic.id}")))
    jobs_list = text_of(html_of(client.get("/taches/")))
    assert "La ligne de commande" in jobs_list and "L'automate" in jobs_list


# -- the panel and the preview say when today's run happened -------------------------------------


def test_s14_the_panel_and_the_preview_say_when_today_s_run_happened_and_by_whom(
    app: Flask, chorus_on, chorus_admin, admin
) -> None:
    with travel(at(DAY, 10)):
        client = logged_in(app, admin)
        panel = html_of(client.get(RECIPIENTS))
        preview = html_of(client.get(PREVIEW))
    assert "Envoi du jour pas encore exécuté" in text_of(panel)
    assert 'data-testid="run-now">' in panel  # not disabled
    assert 'data-testid="preview-today-run"' not in preview

    with travel(at(DAY, 19)):
        execution = daily.run_daily(DAY, trigger=daily_rules.SCHEDULED)
        wait_for(app, execution.job_id)
    with travel(at(DAY, 20)):
        client = logged_in(app, admin)
        panel = html_of(client.get(RECIPIENTS))
        preview = html_of(client.get(PREVIEW))
    job_id = execution.job_id
    assert (
        f"Envoi du jour déjà exécuté aujourd'hui à 19:00 par l'automate — tâche n° {job_id}"
        in text_of(panel)
    )
    assert f'href="/taches/{job_id}"' in panel
    assert 'data-testid="run-now" disabled' in panel
    assert (
        "L'envoi du jour a déjà été exécuté aujourd'hui à 19:00 par l'automate "
        f"(tâche n° {job_id}) : cet aperçu est celui de l'envoi suivant."
    ) in text_of(preview).replace("( ", "(").replace(" )", ")")
    assert "Envoi du 11/03/2026 à 19 h" in text_of(preview)
    assert f'href="/taches/{job_id}"' in preview


# -- the wording of a skipped run ----------------------------------------------------------------


def _holder(hour: int, minute: int, *, day: date = DAY, **kw) -> TaskExecution:
    return TaskExecution(
        task=daily_rules.DAILY_TASK,
        run_on=DAY,
        trigger=kw.pop("trigger", daily_rules.SCHEDULED),
        state=ExecutionState.STARTED,
        started_at=at(day, hour, minute),
        **kw,
    )


def test_s14_another_process_is_named_only_when_it_ran_the_day_at_the_same_moment() -> None:
    same_moment = at(DAY, 19) + timedelta(seconds=2)
    assert daily_rules.skip_reason(_holder(19, 0, job_id=7), same_moment, same_process=False) == (
        "Exécutée au même moment par un autre processus : lancée aujourd'hui à 19:00 "
        "par l'automate (tâche n° 7)."
    )
    # The same process (two clicks at once), or another one hours earlier: when and by whom.
    alice = User(username="alice", full_name="Alice Martin")
    by_hand = _holder(15, 2, job_id=7, trigger=daily_rules.MANUAL, started_by=alice)
    assert daily_rules.skip_reason(by_hand, at(DAY, 15, 2), same_process=True) == (
        "Déjà exécutée aujourd'hui à 15:02 par Alice Martin (tâche n° 7)."
    )
    assert daily_rules.skip_reason(by_hand, at(DAY, 19), same_process=False) == (
        "Déjà exécutée aujourd'hui à 15:02 par Alice Martin (tâche n° 7)."
    )
    earlier = _holder(10, 0, day=DAY - timedelta(days=1), trigger=daily_rules.COMMAND)
    assert daily_rules.skip_reason(earlier, at(DAY, 19), same_process=False) == (
        "Déjà exécutée le 09/03/2026 à 10:00 par la ligne de commande."
    )
    gone = daily_rules.skip_reason(None, at(DAY, 19), same_process=False)
    assert "au même moment, a échoué entre-temps" in gone and "autre processus" not in gone


def test_s14_a_second_click_after_the_19_00_run_says_when_and_by_whom(
    app: Flask, chorus_on, chorus_admin, admin
) -> None:
    with travel(at(DAY, 19)):
        first = daily.run_daily(DAY, trigger=daily_rules.SCHEDULED)
        wait_for(app, first.job_id)
    with travel(at(DAY, 21, 30)):
        second = daily.run_daily(DAY, trigger=daily_rules.MANUAL, user=admin)
    assert second.state == ExecutionState.SKIPPED
    assert second.started_by_id == admin.id
    assert second.message == (
        f"Déjà exécutée aujourd'hui à 19:00 par l'automate (tâche n° {first.job_id})."
    )
