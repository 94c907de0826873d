"""Follow-up screens and entry points (B1): the document's status box, the Tâches button,
the schedule (claimed once per slot), the command line."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from portal.clock import now
from portal.extensions import db
from portal.followup import services
from portal.jobs.models import ExecutionState, Job, TaskExecution
from portal.jobs.pool import get_runner
from portal.jobs.scheduler import PortalScheduler
from portal.schedule import STATUS_SYNC_JOB
from portal.settings import chorus as keys
from portal.settings import store
from tests.billing.helpers import post
from tests.followup.conftest import (
    COMMENTS,
    HX,
    SIRET_PAID,
    SIRET_REJECTED,
    advance,
    frozen,
    paris,
    receipt_for,
    send,
    wait,
)
from tests.sending.conftest import configure_chorus


def status_url(receipt) -> str:
    return f"/suivi-chorus/quittances/{receipt.id}/statut"


def test_b1_the_status_box_shows_badge_timeline_and_the_refresh_button(
    app: Flask, chorus, as_gestionnaire
) -> None:
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)

    html = as_gestionnaire.get(status_url(receipt)).get_data(as_text=True)

    assert html.lstrip().startswith(f'<div id="chorus-status-receipt-{receipt.id}"')
    assert 'data-status="DEPOSEE"' in html and ">Déposée<" in html
    assert 'data-testid="status-timeline"' in html
    assert "Actualiser le statut" in html
    assert "hx-trigger" not in html  # nothing running: no polling


def test_b1_refreshing_a_document_polls_until_its_new_status_shows(
    app: Flask, chorus, chorus_admin, as_gestionnaire
) -> None:
    receipt = receipt_for(SIRET_REJECTED)
    send(app, receipt)
    advance(chorus, 48)
    url = f"/suivi-chorus/quittances/{receipt.id}/actualiser"

    response = post(as_gestionnaire, url, headers=HX)

    assert response.status_code == 200
    job_id = db.session.scalar(select(Job.id).order_by(Job.id.desc()))
    get_runner(app).wait(job_id, timeout=60)
    html = as_gestionnaire.get(status_url(receipt), headers=HX).get_data(as_text=True)
    assert 'data-status="REJETEE"' in html and "hx-trigger" not in html
    assert COMMENTS[SIRET_REJECTED] in html  # the recipient's comment
    assert "nouveau numéro" in html  # and what to do (B8)
    assert "définitif" in html
    # Without JavaScript the button posts and comes back to the document.
    plain = post(as_gestionnaire, url)
    assert plain.status_code == 303 and plain.headers["Location"] == f"/quittances/{receipt.id}"
    get_runner(app).wait_idle(timeout=60)


def test_b1_the_status_box_polls_while_a_refresh_runs(app: Flask, chorus, as_gestionnaire) -> None:
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)
    job = services.start_status_sync(trigger=services.DOCUMENT, only=[receipt])
    db.session.commit()  # not launched: still pending

    html = as_gestionnaire.get(status_url(receipt), headers=HX).get_data(as_text=True)

    assert 'hx-trigger="every 1s"' in html and "Actualisation en cours" in html
    assert "Actualiser le statut" not in html
    assert job is not None


def test_b1_read_only_users_see_the_status_without_the_button(
    app: Flask, chorus, as_lecteur
) -> None:
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)
    html = as_lecteur.get(status_url(receipt)).get_data(as_text=True)
    assert "Déposée" in html and "Actualiser le statut" not in html
    url = f"/suivi-chorus/quittances/{receipt.id}/actualiser"
    assert post(as_lecteur, url).status_code == 403


def test_b1_unsent_documents_and_disabled_dematerialization_answer_404(
    app: Flask, chorus, as_gestionnaire
) -> None:
    receipt = receipt_for(SIRET_PAID)
    assert as_gestionnaire.get(status_url(receipt)).get_data(as_text=True).strip() == ""
    assert (
        post(as_gestionnaire, f"/suivi-chorus/quittances/{receipt.id}/actualiser").status_code
        == 404
    )
    assert as_gestionnaire.get("/suivi-chorus/inconnu/1/statut").status_code == 404
    store.put_bool(keys.CHORUS_ENABLED, False)
    db.session.commit()
    assert as_gestionnaire.get(status_url(receipt)).status_code == 404
    assert "Actualiser les statuts Chorus" not in as_gestionnaire.get("/taches/").get_data(
        as_text=True
    )


def test_b1_the_tasks_page_button_reads_every_non_final_document(
    app: Flask, chorus, as_gestionnaire
) -> None:
    first = receipt_for(SIRET_PAID)
    second = receipt_for(SIRET_PAID)
    send(app, first, second)
    assert "Actualiser les statuts Chorus" in as_gestionnaire.get("/taches/").get_data(as_text=True)

    response = post(as_gestionnaire, "/suivi-chorus/actualiser")

    assert response.status_code == 303
    job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    job = wait(app, db.session.get(Job, job_id))
    assert job.options == {"trigger": "manuelle"}
    assert sorted(i.document_id for i in job.items) == sorted([first.id, second.id])
    execution = db.session.scalar(select(TaskExecution).where(TaskExecution.job_id == job_id))
    assert execution.trigger == "manuelle" and execution.claim_key is None


def test_b1_the_button_says_so_when_nothing_needs_reading(as_gestionnaire, chorus) -> None:
    response = post(as_gestionnaire, "/suivi-chorus/actualiser")
    assert response.headers["Location"] == "/taches/"
    html = as_gestionnaire.get("/taches/").get_data(as_text=True)
    assert "Aucun document envoyé n&#39;attend de nouveau statut." in html


def test_b1_a_scheduled_slot_runs_once_however_many_processes_fire(app: Flask, chorus) -> None:
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)
    with frozen(paris(2026, 11, 27, 9, 0)):
        first = services.run_status_sync(trigger=services.SCHEDULED, claim=services.slot_key(now()))
        second = services.run_status_sync(
            trigger=services.SCHEDULED, claim=services.slot_key(now())
        )
    assert first.claim_key == "suivi_statuts:2026-11-27T09"
    assert first.state == ExecutionState.STARTED and first.job_id is not None
    assert second.state == ExecutionState.SKIPPED and second.job_id is None
    wait(app, db.session.get(Job, first.job_id))
    with frozen(paris(2026, 11, 27, 11, 0)):
        later = services.run_status_sync(trigger=services.SCHEDULED, claim=services.slot_key(now()))
    assert later.state == ExecutionState.STARTED
    wait(app, db.session.get(Job, later.job_id))


def test_b1_a_run_without_connection_settings_fails_with_the_reason(app: Flask) -> None:
    store.put_bool(keys.CHORUS_ENABLED, True)
    db.session.commit()
    execution = services.run_status_sync(trigger=services.COMMAND)
    assert execution.state == ExecutionState.FAILED
    assert "paramètres de connexion incomplets" in execution.message
    assert execution.job_id is None


def test_b1_the_schedule_exists_exactly_while_s1_is_on_and_the_connection_complete(
    app: Flask,
) -> None:
    portal_scheduler = PortalScheduler(app)
    portal_scheduler.sync()
    assert portal_scheduler.scheduler.get_job(STATUS_SYNC_JOB) is None
    configure_chorus("http://127.0.0.1:9")
    portal_scheduler.sync()
    job = portal_scheduler.scheduler.get_job(STATUS_SYNC_JOB)
    assert job is not None and job.coalesce and job.max_instances == 1
    for day in (paris(2026, 1, 15, 0, 0), paris(2026, 7, 15, 0, 0)):  # winter and summer
        fires, moment = [], day
        while (moment := job.trigger.get_next_fire_time(None, moment)) < day + timedelta(days=1):
            fires.append(moment)
            moment = moment + timedelta(seconds=1)
        assert [(f.hour, f.minute) for f in fires] == [
            (h, 0) for h in (7, 9, 11, 13, 15, 17, 19, 21)
        ]
    store.put_bool(keys.CHORUS_ENABLED, False)
    db.session.commit()
    portal_scheduler.sync()
    assert portal_scheduler.scheduler.get_job(STATUS_SYNC_JOB) is None


def test_b1_the_command_reads_the_statuses_and_reports(app: Flask, chorus) -> None:
    receipt = receipt_for(SIRET_REJECTED)
    send(app, receipt)
    advance(chorus, 48)

    result = app.test_cli_runner().invoke(args=["chorus", "sync-statuses"])

    assert result.exit_code == 0, result.output
    assert f"{receipt.number} : Nouveau statut : Rejetée" in result.output
    assert "Terminée : 1 consulté(s), 0 en échec, 0 ignoré(s)." in result.output
    again = app.test_cli_runner().invoke(args=["chorus", "sync-statuses"])
    assert "Aucun document envoyé n'attend de nouveau statut." in again.output
