"""Mass send from the Quittances / Factures lists (S13): selection, confirmation, job."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import storage
from portal.billing.services import store_generated_pdf
from portal.extensions import db
from portal.jobs.models import Job, JobKind
from portal.models_base import ChorusState
from portal.notifications.models import Notification
from tests import factories
from tests.sending.conftest import sendable_contract, sendable_receipt
from tests.sending.view_helpers import enable_chorus, job_count, post, wait_all

CONFIRM = "/dematerialisation/quittances/masse"
START = "/dematerialisation/quittances/masse/lancer"


def text(response) -> str:
    return response.get_data(as_text=True)


def count(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, testid
    return match.group(1)


def a_mixed_selection():
    """3 sendable, 1 sent, 1 in progress, 2 not eligible (no due notice; Chorus off on contract)."""
    contract = sendable_contract()
    good = [sendable_receipt(contract) for _ in range(3)]
    sent = sendable_receipt(contract)
    sent.chorus_state = ChorusState.SENT
    sent.chorus_invoice_id = 77
    running = sendable_receipt(contract)
    running.chorus_state = ChorusState.IN_PROGRESS
    no_notice = factories.make_receipt(contract=contract)
    off = sendable_receipt(sendable_contract(client=contract.client, is_chorus_enabled=False))
    db.session.commit()
    return good, [sent, running, no_notice, off]


def test_s13_the_lists_offer_the_action_and_the_checkboxes_to_gestionnaires_only(
    client: FlaskClient, gestionnaire, lecteur
) -> None:
    from tests.conftest import login

    enable_chorus()
    sendable_receipt()
    factories.make_fee_invoice()
    db.session.commit()

    login(client, gestionnaire)
    for url, kind in (("/quittances", "quittances"), ("/factures", "factures")):
        html = text(client.get(url))
        assert "Dématérialisation Chorus Pro" in html
        assert f'formaction="/dematerialisation/{kind}/masse"' in html
        assert "data-select-all" in html and 'name="ids"' in html
    client.post("/deconnexion", data={"csrf_token": factories.csrf_token_from(html)})
    login(client, lecteur)
    assert "Dématérialisation Chorus Pro" not in text(client.get("/quittances"))
    assert post(client, CONFIRM, {"ids": "1"}).status_code == 403


def test_s13_the_confirmation_counts_what_will_be_sent_and_skipped_with_reasons(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    good, others = a_mixed_selection()

    response = post(as_gestionnaire, CONFIRM, [("ids", str(r.id)) for r in [*good, *others]])

    html = text(response)
    assert response.status_code == 200
    assert count(html, "mass-total") == "7"
    assert count(html, "mass-to-send") == "3"
    assert count(html, "mass-skipped") == "4"
    assert count(html, "mass-already-sent") == "1"
    assert count(html, "mass-in-progress") == "1"
    assert count(html, "mass-not-eligible") == "2"
    assert "L&#39;avis d&#39;échéance (PDF) de la quittance n&#39;existe pas." in html
    assert "Chorus Pro n&#39;est pas activé sur le contrat." in html
    assert "Confirmer l'envoi de 3 documents" in html
    assert job_count() == 0  # nothing started yet
    db.session.expire_all()
    assert all(r.chorus_state == ChorusState.NOT_SENT for r in good)


def test_s13_all_matching_the_filter_selects_by_criteria_and_cancel_keeps_them(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    mine = sendable_contract()
    kept = [sendable_receipt(mine) for _ in range(2)]
    sendable_receipt()  # another client's receipt, outside the filter
    db.session.commit()

    listing = text(as_gestionnaire.get(f"/quittances?client_id={mine.client_id}"))
    assert f'name="filtre-client_id" value="{mine.client_id}"' in listing
    response = post(
        as_gestionnaire, CONFIRM, {"tous": "1", "filtre-client_id": str(mine.client_id)}
    )

    html = text(response)
    assert count(html, "mass-total") == "2"
    assert count(html, "mass-to-send") == "2"
    assert "Tous les résultats du filtre" in html
    assert '<input type="hidden" name="tous" value="1">' in html
    assert f'href="/quittances?client_id={mine.client_id}" data-testid="mass-cancel"' in html
    assert len(kept) == 2


def test_s13_confirming_runs_one_job_that_reports_every_selected_document(
    app: Flask, as_gestionnaire: FlaskClient, chorus, chorus_admin
) -> None:
    good, others = a_mixed_selection()
    selection = [("ids", str(r.id)) for r in [*good, *others]]

    response = post(as_gestionnaire, START, selection)

    assert response.status_code == 303
    job = db.session.scalars(select(Job)).one()
    assert response.headers["Location"] == f"/taches/{job.id}"
    assert job.kind == JobKind.MASS_SEND and job.total == 7
    db.session.expire_all()
    assert all(db.session.get(type(r), r.id).chorus_state in ("in_progress", "sent") for r in good)
    again = post(as_gestionnaire, START, [("ids", str(good[0].id))], follow_redirects=True)
    assert "Aucun document à envoyer" in text(again)  # locked for the whole run
    wait_all(app)

    assert job_count() == 1
    job = db.session.get(Job, job.id)
    assert (job.succeeded, job.skipped, job.failed) == (3, 4, 0)
    assert chorus.state.stats_snapshot()["submissions"] == {r.number: 1 for r in good}
    report = storage.read_bytes(storage.REPORTS, job.report.stored_name).decode("utf-8-sig")
    for receipt in [*good, *others]:
        assert receipt.number in report
    note = db.session.scalars(select(Notification)).one()
    assert note.report_id == job.report_id


def test_s13_fee_invoices_are_mass_sent_the_same_way(
    app: Flask, as_gestionnaire: FlaskClient, chorus, chorus_admin
) -> None:
    contract = sendable_contract()
    invoice = factories.make_fee_invoice(client=contract.client, contract=contract)
    store_generated_pdf(invoice)
    db.session.commit()

    confirm = post(as_gestionnaire, "/dematerialisation/factures/masse", {"ids": str(invoice.id)})
    assert count(text(confirm), "mass-to-send") == "1"
    response = post(
        as_gestionnaire, "/dematerialisation/factures/masse/lancer", {"ids": str(invoice.id)}
    )
    assert response.status_code == 303
    wait_all(app)

    db.session.refresh(invoice)
    assert invoice.chorus_state == ChorusState.SENT


def test_s13_nothing_selected_or_nothing_sendable_starts_no_job(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    _good, others = a_mixed_selection()

    empty = post(as_gestionnaire, CONFIRM, {"filtre-numero": "Q"}, follow_redirects=True)
    assert "Aucun document sélectionné" in text(empty)
    confirm = text(post(as_gestionnaire, CONFIRM, [("ids", str(r.id)) for r in others]))
    assert 'data-testid="mass-confirm" disabled' in confirm
    start = post(as_gestionnaire, START, [("ids", str(r.id)) for r in others])
    assert start.status_code == 303 and start.headers["Location"] == "/quittances"
    assert job_count() == 0
    db.session.expire_all()
    assert db.session.get(type(others[2]), others[2].id).chorus_state == "not_sent"


def test_s1_off_no_mass_action_and_the_routes_are_404(as_gestionnaire: FlaskClient) -> None:
    enable_chorus(False)
    receipt = sendable_receipt()

    assert "Dématérialisation Chorus Pro" not in text(as_gestionnaire.get("/quittances"))
    assert post(as_gestionnaire, CONFIRM, {"ids": str(receipt.id)}).status_code == 404
    assert post(as_gestionnaire, START, {"ids": str(receipt.id)}).status_code == 404
    assert job_count() == 0
