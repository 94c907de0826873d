"""The send screen gives each secondary attachment a type of Chorus's list, defaulting to the
administrator's choice, and refuses anything else (S10, issue 10 § 2, EVIDENCE.md § 2)."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.chorus.emulator.operations import ATTACHMENT_TYPES
from portal.extensions import db
from portal.jobs.models import Job
from portal.models_base import ChorusState
from portal.settings import chorus as keys
from portal.settings import reference_lists, store
from portal.settings.attachment_types import CHOOSE_A_TYPE, LIST_NOT_LOADED
from tests.chorus.emulator_fixtures import ATTACHMENT_TYPE
from tests.sending.conftest import configure_chorus, sendable_receipt
from tests.sending.view_helpers import enable_chorus, ged_file, job_count, post, wait_all

OPERATION = "transverses/recuperer/typespj"


def send_url(receipt) -> str:
    return f"/dematerialisation/quittances/{receipt.id}/envoyer"


def load_url(receipt) -> str:
    return f"/dematerialisation/quittances/{receipt.id}/types-de-pieces-jointes"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def forget_the_list() -> None:
    store.put("chorus.list." + reference_lists.ATTACHMENT_TYPES, None)
    db.session.commit()


def test_each_transmissible_ged_file_gets_a_type_select_with_the_default_preselected(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    receipt = sendable_receipt()
    good = ged_file(receipt.client, "Attestation.pdf")
    refused = ged_file(receipt.client, "macro.exe")

    html = text(as_gestionnaire.get(send_url(receipt)))

    select_html = html.split(f'name="type-{good.id}"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{ATTACHMENT_TYPE}" selected>' in select_html
    for code, label in ATTACHMENT_TYPES:
        assert f"{code} — {label}" in select_html
    assert "— Choisir un type —" not in select_html
    assert f'name="type-{refused.id}"' not in html
    assert 'data-testid="load-attachment-types"' not in html
    assert 'data-testid="attachment-types-no-default"' not in html


def test_the_type_chosen_for_each_attachment_reaches_chorus(
    app: Flask, as_gestionnaire: FlaskClient, chorus, chorus_admin
) -> None:
    receipt = sendable_receipt()
    order = ged_file(receipt.client, "Bon de commande.pdf")
    annex = ged_file(receipt.client, "Annexe.pdf")

    response = post(
        as_gestionnaire,
        send_url(receipt),
        [
            ("pieces", str(order.id)),
            ("pieces", str(annex.id)),
            (f"type-{order.id}", "BDC"),
            (f"type-{annex.id}", ""),  # left empty: the default
        ],
    )

    assert response.status_code == 303
    job = db.session.scalars(select(Job)).one()
    assert job.options["secondary_attachment_types"] == {
        str(order.id): "BDC",
        str(annex.id): ATTACHMENT_TYPE,
    }
    wait_all(app)
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.SENT
    body = chorus.state.invoices[receipt.chorus_invoice_id].body
    sent = {
        p["pieceJointeComplementaireDesignation"]: p["pieceJointeComplementaireType"]
        for p in body["pieceJointeComplementaire"]
    }
    assert sent == {"Bon de commande.pdf": "BDC", "Annexe.pdf": ATTACHMENT_TYPE}


def test_a_forged_type_is_refused_next_to_its_attachment_and_starts_nothing(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    receipt = sendable_receipt()
    piece = ged_file(receipt.client, "Attestation.pdf")

    for forged in ("AUTRE", "<script>alert(1)</script>", "B" * 50_000):
        response = post(
            as_gestionnaire,
            send_url(receipt),
            [("pieces", str(piece.id)), (f"type-{piece.id}", forged)],
        )
        raw = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "<script>alert" not in raw
        html = unescape(raw)
        assert "Attestation.pdf : le type « " in html
        assert "n'est pas dans la liste de Chorus Pro" in html
        row = html.split(f'name="type-{piece.id}"', 1)[1]
        assert 'data-testid="piece-type-error"' in row.split("</td>", 1)[0]
        assert re.search(
            rf'class="form-select form-select-sm piece-type-select is-invalid" '
            rf'name="type-{piece.id}"',
            html,
        )
    assert job_count() == 0


def test_without_a_default_each_attachment_needs_its_type_chosen(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    store.put(keys.DEFAULT_ATTACHMENT_TYPE, None)
    db.session.commit()
    receipt = sendable_receipt()
    piece = ged_file(receipt.client, "Attestation.pdf")

    page = text(as_gestionnaire.get(send_url(receipt)))
    assert "Aucun type de pièce jointe par défaut" in page
    assert "Administration › Paramètres › Système" in page
    assert '<option value="" selected>— Choisir un type —</option>' in page

    response = post(as_gestionnaire, send_url(receipt), [("pieces", str(piece.id))])
    assert response.status_code == 422
    assert f"Attestation.pdf : {CHOOSE_A_TYPE}" in text(response)
    assert job_count() == 0


def test_while_the_list_is_not_loaded_the_screen_blocks_attachments_and_offers_to_load_it(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    forget_the_list()
    receipt = sendable_receipt()
    piece = ged_file(receipt.client, "Attestation.pdf")

    page = text(as_gestionnaire.get(send_url(receipt)))
    assert 'data-testid="load-attachment-types"' in page
    assert f'action="{load_url(receipt)}"' in page
    assert f'name="type-{piece.id}"' not in page
    assert 'data-valid="oui"' in page  # the main attachment alone can still be sent
    budget = text(
        as_gestionnaire.get(f"/dematerialisation/quittances/{receipt.id}/budget?pieces={piece.id}")
    )
    assert 'data-valid="non"' in budget and LIST_NOT_LOADED in budget
    refused = post(as_gestionnaire, send_url(receipt), [("pieces", str(piece.id))])
    assert refused.status_code == 422 and LIST_NOT_LOADED in text(refused)
    assert job_count() == 0

    loaded = post(as_gestionnaire, load_url(receipt), follow_redirects=True)

    html = text(loaded)
    assert loaded.request.path == send_url(receipt)
    assert f"{len(ATTACHMENT_TYPES)} type(s) de pièces jointes chargé(s) depuis Chorus Pro" in html
    assert f'name="type-{piece.id}"' in html
    assert chorus.state.stats.calls[OPERATION] == 1
    stored = reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=chorus.base_url)
    assert stored.codes == {code for code, _label in ATTACHMENT_TYPES}


def test_loading_the_types_from_an_unreachable_chorus_says_so_in_french(
    app: Flask, as_gestionnaire: FlaskClient, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "CHORUS_CONNECT_TIMEOUT", 1.0)
    configure_chorus("http://127.0.0.1:9")
    forget_the_list()
    receipt = sendable_receipt()
    ged_file(receipt.client, "Attestation.pdf")

    html = text(post(as_gestionnaire, load_url(receipt), follow_redirects=True))

    assert "Types de pièces jointes non chargés" in html
    assert 'data-testid="load-attachment-types"' in html


def test_only_gestionnaires_load_the_types_and_only_while_s1_is_on(
    as_lecteur: FlaskClient, chorus
) -> None:
    receipt = sendable_receipt()
    assert post(as_lecteur, load_url(receipt)).status_code == 403
    enable_chorus(False)
    assert post(as_lecteur, load_url(receipt)).status_code in (403, 404)
    assert OPERATION not in chorus.state.stats.calls
