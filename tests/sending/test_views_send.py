"""« Dématérialiser dans Chorus Pro » for one document: screen, live budget, job (S9-S11)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.extensions import db
from portal.jobs.models import Job, JobKind
from portal.jobs.pool import get_runner
from portal.models_base import ChorusState
from portal.notifications.models import Notification
from tests import factories
from tests.sending.conftest import sendable_contract, sendable_receipt, submit_elsewhere
from tests.sending.view_helpers import (
    MB,
    enable_chorus,
    ged_file,
    job_count,
    load_attachment_types,
    post,
    wait_all,
)


def send_url(receipt) -> str:
    return f"/dematerialisation/quittances/{receipt.id}/envoyer"


def budget_url(receipt, *ids: int) -> str:
    query = "&".join(f"pieces={i}" for i in ids)
    return f"/dematerialisation/quittances/{receipt.id}/budget?{query}"


def text(response) -> str:
    return response.get_data(as_text=True)


def test_s10_the_screen_shows_the_fixed_main_attachment_and_checks_every_ged_file(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    receipt = sendable_receipt()
    client = receipt.client
    good = ged_file(client, "Attestation.pdf")
    too_big = ged_file(client, "Plans.pdf", size=11 * MB)
    wrong_type = ged_file(client, "macro.exe")
    long_name = ged_file(client, "Procès-verbal de réception des travaux de la salle des fêtes.pdf")

    response = as_gestionnaire.get(send_url(receipt))

    html = text(response)
    assert response.status_code == 200
    assert f"Avis_echeance_{receipt.number}.pdf" in html
    assert re.search(rf'value="{good.id}" id="piece-{good.id}"\s*>', html)  # enabled
    assert re.search(rf'value="{too_big.id}" id="piece-{too_big.id}"\s*disabled', html)
    assert "dépasse la limite de 10,0 Mo par fichier" in html
    assert re.search(rf'value="{wrong_type.id}" id="piece-{wrong_type.id}"\s*disabled', html)
    assert "type de fichier « .exe » refusé par Chorus Pro" in html
    assert f'id="piece-{long_name.id}"' in html and "sera renommé en « Proces-verbal" in html
    assert 'data-valid="oui"' in html  # the main attachment alone is fine


def test_s10_the_live_budget_counts_files_totals_and_refuses_more_than_120_mb(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    load_attachment_types()  # else no attachment can be typed, so none can be sent
    receipt = sendable_receipt()
    client = receipt.client
    small = ged_file(client, "Attestation.pdf")
    big = [ged_file(client, f"Plan {n}.pdf", size=9 * MB + 900 * 1024) for n in range(13)]

    ok = text(as_gestionnaire.get(budget_url(receipt, small.id)))
    assert 'id="send-budget"' in ok and "<html" not in ok
    assert "2 fichiers : la pièce principale et 1 pièce complémentaire" in ok
    assert 'data-valid="oui"' in ok
    assert re.search(r'data-testid="confirm-send">', ok)

    over = text(as_gestionnaire.get(budget_url(receipt, small.id, *(d.id for d in big))))
    assert "15 fichiers" in over
    assert "dépasse la limite de 120,0 Mo par facture" in over
    assert 'data-valid="non"' in over
    assert re.search(r'data-testid="confirm-send" disabled', over)
    assert "bg-danger" in over


def test_s10_a_post_breaking_a_limit_is_refused_in_french_and_starts_nothing(
    app: Flask, as_gestionnaire: FlaskClient
) -> None:
    enable_chorus()
    receipt = sendable_receipt()
    too_big = ged_file(receipt.client, "Plans.pdf", size=11 * MB)
    other_client = ged_file(factories.make_client(), "Autre.pdf")

    refused = post(as_gestionnaire, send_url(receipt), [("pieces", str(too_big.id))])
    stranger = post(as_gestionnaire, send_url(receipt), [("pieces", str(other_client.id))])

    assert refused.status_code == 422
    assert "Envoi refusé : rien n'a été envoyé à Chorus Pro." in text(refused)
    assert "Plans.pdf : 11,0 Mo : dépasse la limite de 10,0 Mo par fichier" in text(refused)
    assert stranger.status_code == 422
    assert "n&#39;appartient plus à la GED du client" in text(stranger)
    assert job_count() == 0
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT


def test_s9_a_post_for_an_ineligible_document_is_refused_with_the_reasons(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    receipt = factories.make_receipt()  # no due notice
    db.session.commit()

    page = as_gestionnaire.get(send_url(receipt))
    response = post(as_gestionnaire, send_url(receipt))

    assert 'data-testid="send-not-eligible"' in text(page)
    assert 'data-testid="confirm-send" disabled' in text(page)
    assert response.status_code == 422
    assert "L&#39;avis d&#39;échéance (PDF) de la quittance n&#39;existe pas." in text(response)
    assert job_count() == 0


def test_s11_confirming_starts_the_job_shows_progress_and_the_document_ends_sent(
    app: Flask, as_gestionnaire: FlaskClient, gestionnaire, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    first = ged_file(receipt.client, "Attestation d'assurance 2026.pdf")
    second = ged_file(receipt.client, "Bon de commande.pdf")

    response = post(
        as_gestionnaire,
        send_url(receipt),
        [("pieces", str(first.id)), ("pieces", str(second.id))],
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 204
    job = db.session.scalars(select(Job)).one()
    assert response.headers["HX-Redirect"] == f"/dematerialisation/envois/{job.id}"
    assert job.kind == JobKind.SINGLE_SEND
    assert job.created_by_id == gestionnaire.id
    assert sorted(job.options["secondary_document_ids"]) == [first.id, second.id]
    get_runner(app).wait(job.id, timeout=120)
    db.session.expire_all()
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.SENT
    stats = chorus.state.stats_snapshot()
    assert stats["submissions"] == {receipt.number: 1}
    assert stats["attachments"] == 3
    notes = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.level) for n in notes] == [(chorus_admin.id, "success")]

    progress = text(as_gestionnaire.get(f"/dematerialisation/envois/{job.id}"))
    assert f'id="job-progress-{job.id}"' in progress
    assert 'data-state="done"' in progress
    assert str(receipt.chorus_invoice_id) in progress
    assert f'href="/quittances/{receipt.id}"' in progress
    assert f'href="/taches/{job.id}/rapport"' in progress
    outcome = text(as_gestionnaire.get(f"/dematerialisation/envois/{job.id}/resultat"))
    assert "déposée dans Chorus Pro" in outcome and "<html" not in outcome
    detail = text(as_gestionnaire.get(f"/quittances/{receipt.id}"))
    assert str(receipt.chorus_invoice_id) in detail
    assert 'data-testid="chorus-send-action"' not in detail
    assert "Soumission de la facture" in detail  # B9


def test_s11_a_refused_send_explains_the_failure_and_leaves_the_document_sendable(
    app: Flask, as_gestionnaire: FlaskClient, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    submit_elsewhere(chorus, receipt)  # Chorus refuses the number as a duplicate

    response = post(as_gestionnaire, send_url(receipt))
    assert response.status_code == 303
    wait_all(app)

    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.NOT_SENT
    job = db.session.scalars(select(Job)).one()
    outcome = text(as_gestionnaire.get(f"/dematerialisation/envois/{job.id}"))
    assert "non dématérialisée" in outcome
    assert "Le document peut être renvoyé" in outcome
    note = db.session.scalars(select(Notification)).one()
    assert note.level == "danger" and note.report_id is not None
    detail = text(as_gestionnaire.get(f"/quittances/{receipt.id}"))
    assert 'data-testid="chorus-last-failure"' in detail
    assert "Que faire :" in detail  # B8
    assert 'data-testid="chorus-send-action"' in detail  # sendable again


def test_b3_a_send_stopped_by_the_recipient_check_says_why_on_the_document(
    app: Flask, as_gestionnaire: FlaskClient, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt(sendable_contract(chorus_service_code="INCONNU"))

    post(as_gestionnaire, send_url(receipt))
    wait_all(app)

    assert chorus.state.stats_snapshot()["submissions"] == {}
    detail = text(as_gestionnaire.get(f"/quittances/{receipt.id}"))
    assert "Dernier envoi ignoré" in detail
    assert "n&#39;existe pas dans la structure destinataire" in detail
    assert 'data-testid="chorus-send-action-disabled"' in detail


def test_b7_a_double_post_submits_once_and_says_so_in_french(
    app: Flask, as_gestionnaire: FlaskClient, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    chorus.state.faults.update(
        {"script": [{"kind": "late", "operation": "factures/soumettre", "seconds": 1}]}
    )

    first = post(as_gestionnaire, send_url(receipt))
    second = post(as_gestionnaire, send_url(receipt), follow_redirects=True)
    wait_all(app)

    assert first.status_code == 303
    assert job_count() == 1
    html = text(second)
    assert "déjà en cours" in html or "déjà dématérialisé" in html
    assert chorus.state.stats_snapshot()["submissions"] == {receipt.number: 1}


def test_b7_a_lock_lost_between_the_check_and_the_start_creates_no_useless_job(
    app: Flask, as_gestionnaire: FlaskClient, monkeypatch
) -> None:
    enable_chorus()
    receipt = sendable_receipt()
    receipt.chorus_state = ChorusState.IN_PROGRESS  # another browser holds it
    db.session.commit()
    from portal.sending import services as sending

    monkeypatch.setattr(
        sending, "plan", lambda documents, chorus_enabled: sending.SendPlan(to_send=[*documents])
    )

    response = post(as_gestionnaire, send_url(receipt), follow_redirects=True)

    assert "déjà en cours : il ne sera pas envoyé deux fois" in text(response)
    assert job_count() == 0


def test_a_reader_may_not_open_or_post_the_send_screen(as_lecteur: FlaskClient) -> None:
    enable_chorus()
    receipt = sendable_receipt()

    assert as_lecteur.get(send_url(receipt)).status_code == 403
    assert as_lecteur.get(budget_url(receipt)).status_code == 403
    assert post(as_lecteur, send_url(receipt)).status_code == 403
    assert job_count() == 0


def test_s1_off_the_send_screen_does_not_exist(as_gestionnaire: FlaskClient) -> None:
    enable_chorus(False)
    receipt = sendable_receipt()

    assert as_gestionnaire.get(send_url(receipt)).status_code == 404
    assert post(as_gestionnaire, send_url(receipt)).status_code == 404
    assert job_count() == 0
