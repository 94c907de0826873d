"""Quittances: creation and edition with French errors, detail, PDF actions, integrity, roles."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
import time_machine

from portal import storage
from portal.billing import services
from portal.billing.models import Receipt
from portal.extensions import db
from tests import factories
from tests.billing.helpers import count, edit_receipt, new_receipt, post, post_receipt


def only_receipt() -> Receipt:
    return db.session.execute(db.select(Receipt)).scalar_one()


def test_a_gestionnaire_creates_a_receipt_and_its_due_notice(as_gestionnaire):
    response = new_receipt(as_gestionnaire)

    assert response.status_code == 302
    receipt = only_receipt()
    assert response.headers["Location"].endswith(f"/quittances/{receipt.id}")
    assert receipt.total == Decimal("1090.00")
    assert receipt.pdf_source == "generated"
    assert storage.read_bytes(storage.PDF, receipt.pdf_stored_name).startswith(b"%PDF-")
    assert b"Q2026-100" in storage.read_bytes(storage.PDF, receipt.pdf_stored_name)
    assert receipt.is_corrupted is False


@time_machine.travel("2026-03-15 10:00 +01:00", tick=False)
def test_the_date_de_saisie_defaults_to_today(as_gestionnaire):
    page = as_gestionnaire.get("/quittances/nouvelle").get_data(as_text=True)
    assert 'value="2026-03-15"' in page


def test_the_form_prefills_the_contract_from_the_query_string(as_gestionnaire):
    page = as_gestionnaire.get("/quittances/nouvelle?contrat=CT-42").get_data(as_text=True)
    assert 'value="CT-42"' in page


def test_a_duplicate_receipt_number_is_refused_next_to_the_field(as_gestionnaire):
    existing = factories.make_receipt(number="Q-DUP")
    db.session.commit()

    response = post_receipt(as_gestionnaire, existing.contract.number, number="Q-DUP")

    assert response.status_code == 422
    assert "déjà utilisé par une quittance" in response.get_data(as_text=True)
    assert count(Receipt) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"number": "N-1"},
            "déjà utilisé par une facture d&#39;honoraires",
            id="a_number_already_used_by_a_fee_invoice_is_refused",
        ),
        pytest.param(
            {"period_start_on": "2026-06-01", "period_end_on": "2026-05-31"},
            "postérieure ou égale au début de période",
            id="a_period_ending_before_it_starts_is_refused",
        ),
        pytest.param(
            {"total": "1 100,00"},
            "prime nette plus les taxes",
            id="amounts_that_do_not_add_up_are_refused",
        ),
        pytest.param(
            {"taxes": " € "},
            "Saisissez un montant.",
            id="an_amount_of_blanks_only_is_refused_like_an_empty_one",
        ),
    ],
)
def test_a_receipt_breaking_a_rule_is_shown_again_with_the_reason_and_not_saved(
    as_gestionnaire, fields, message
):
    factories.make_fee_invoice(number="N-1")  # the number a fee invoice already holds

    response = new_receipt(as_gestionnaire, **fields)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "is-invalid" in html
    assert count(Receipt) == 0


def test_unknown_contract_and_bad_amounts_get_french_messages(as_gestionnaire):
    response = post_receipt(as_gestionnaire, "NOPE", taxes="douze", number="")

    html = response.get_data(as_text=True)
    assert "Saisissez le numéro." in html
    assert "Montant invalide" in html
    assert count(Receipt) == 0


def test_a_negative_refund_receipt_is_accepted(as_gestionnaire):
    response = new_receipt(as_gestionnaire, net_premium="-100", taxes="-9", total="-109")

    assert response.status_code == 302
    assert only_receipt().is_refund


def test_editing_a_receipt_regenerates_its_due_notice(as_gestionnaire):
    receipt = factories.make_receipt(number="Q-EDIT")
    services.store_generated_pdf(receipt)
    db.session.commit()
    old_name = receipt.pdf_stored_name

    response = edit_receipt(
        as_gestionnaire, receipt, number="Q-EDIT", net_premium="2000", taxes="180", total="2180"
    )

    assert response.status_code == 302
    db.session.refresh(receipt)
    assert receipt.total == Decimal("2180.00")
    assert receipt.pdf_stored_name != old_name
    assert not storage.exists(storage.PDF, old_name)
    assert "2\xa0180,00" in storage.read_bytes(storage.PDF, receipt.pdf_stored_name).decode(
        "cp1252"
    )


def test_editing_keeps_its_own_number_but_refuses_another_receipts(as_gestionnaire):
    receipt = factories.make_receipt(number="Q-A")
    factories.make_receipt(number="Q-B")
    db.session.commit()

    same = edit_receipt(as_gestionnaire, receipt, number="Q-A")
    other = edit_receipt(as_gestionnaire, receipt, number="Q-B")

    assert same.status_code == 302
    assert "déjà utilisé" in other.get_data(as_text=True)


def test_a_total_below_what_is_already_allocated_is_refused(as_gestionnaire):
    receipt = factories.make_receipt()
    payment = factories.make_payment(client=receipt.contract.client)
    services.allocate(payment, [services.Part(receipt, Decimal("1090.00"))])
    db.session.commit()

    response = edit_receipt(
        as_gestionnaire, receipt, number=receipt.number, net_premium="900", taxes="90", total="990"
    )

    assert "déjà affecté" in response.get_data(as_text=True)
    db.session.refresh(receipt)
    assert receipt.total == Decimal("1090.00")


def test_a_receipt_sent_to_chorus_can_no_longer_be_edited(as_gestionnaire):
    receipt = factories.make_receipt(chorus_state="sent")
    db.session.commit()

    response = edit_receipt(as_gestionnaire, receipt, number=receipt.number)

    assert "transmise à Chorus Pro" in response.get_data(as_text=True)


def test_the_detail_page_shows_parties_amounts_settlement_and_pdf(as_gestionnaire):
    receipt = factories.make_receipt(number="Q-SHOW")
    services.store_generated_pdf(receipt)
    payment = factories.make_payment(client=receipt.contract.client, reference="CHQ-77")
    services.allocate(payment, [services.Part(receipt, Decimal("90.00"))])
    db.session.commit()

    html = unescape(as_gestionnaire.get(f"/quittances/{receipt.id}").get_data(as_text=True))

    for expected in (
        "Q-SHOW",
        receipt.contract.client.name,
        receipt.contract.number,
        receipt.contract.company.name,
        factories.VALID_SIRET,
        "1\u202f090,00",
        "CHQ-77",
        "Partiellement soldée",
        "1\u202f000,00",
        "Avis d'échéance",
        'id="receipt-chorus"',
        "Vérifier l'intégrité",
        "Régénérer",
    ):
        assert expected in html, expected


def test_the_due_notice_downloads_as_a_pdf(as_lecteur):
    receipt = factories.make_receipt(number="Q/2026 01")
    services.store_generated_pdf(receipt)
    db.session.commit()

    response = as_lecteur.get(f"/quittances/{receipt.id}/avis-echeance.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert "avis-echeance-Q_2026_01.pdf" in response.headers["Content-Disposition"]
    response.close()


def test_regenerating_replaces_the_pdf_and_clears_a_tampering(as_gestionnaire):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    storage.path_of(storage.PDF, receipt.pdf_stored_name).write_bytes(b"%PDF-tampered")
    services.refresh_integrity(receipt)
    db.session.commit()
    assert receipt.is_corrupted

    response = post(as_gestionnaire, f"/quittances/{receipt.id}/pdf/regenerer")

    assert response.status_code == 302
    db.session.refresh(receipt)
    assert receipt.is_corrupted is False


def test_checking_integrity_flags_a_modified_file_with_its_reason(as_gestionnaire):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    db.session.commit()
    path = storage.path_of(storage.PDF, receipt.pdf_stored_name)
    path.write_bytes(path.read_bytes() + b"\n% appended")

    post(as_gestionnaire, f"/quittances/{receipt.id}/integrite")

    html = as_gestionnaire.get(f"/quittances/{receipt.id}").get_data(as_text=True)
    assert "Corrompue" in html
    assert "empreinte SHA-256 différente" in html
    db.session.refresh(receipt)
    assert receipt.is_corrupted


def test_uploading_a_pdf_replaces_the_generated_one(as_gestionnaire):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    db.session.commit()
    old = receipt.pdf_stored_name
    content = b"%PDF-1.4\n% a scanned due notice\n%%EOF\n"

    response = post(
        as_gestionnaire,
        f"/quittances/{receipt.id}/pdf",
        {"pdf": (io.BytesIO(content), "avis.pdf")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    db.session.refresh(receipt)
    assert receipt.pdf_source == "uploaded"
    assert storage.read_bytes(storage.PDF, receipt.pdf_stored_name) == content
    assert not storage.exists(storage.PDF, old)
    assert receipt.is_corrupted is False


def test_uploading_something_that_is_not_a_pdf_is_refused(as_gestionnaire):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    db.session.commit()
    name = receipt.pdf_stored_name

    response = post(
        as_gestionnaire,
        f"/quittances/{receipt.id}/pdf",
        {"pdf": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "avis.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    assert "seuls les fichiers PDF" in response.get_data(as_text=True)
    db.session.refresh(receipt)
    assert receipt.pdf_stored_name == name


def test_uploading_a_pdf_above_the_size_limit_is_refused(app, as_gestionnaire):
    receipt = factories.make_receipt()
    db.session.commit()
    big = b"%PDF-1.4\n" + b"0" * app.config["UPLOAD_MAX_BYTES"]
    pdf_dir = storage.path_of(storage.PDF, "x").parent
    before = set(pdf_dir.iterdir())

    response = post(
        as_gestionnaire,
        f"/quittances/{receipt.id}/pdf",
        {"pdf": (io.BytesIO(big), "gros.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    assert "taille maximale" in response.get_data(as_text=True)
    db.session.refresh(receipt)
    assert receipt.pdf_stored_name is None
    assert set(pdf_dir.iterdir()) == before


def test_a_lecteur_sees_no_action_buttons_and_cannot_post(as_lecteur):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    db.session.commit()

    html = as_lecteur.get(f"/quittances/{receipt.id}").get_data(as_text=True)
    listing = as_lecteur.get("/quittances").get_data(as_text=True)

    assert "Modifier" not in html and "Régénérer" not in html and "Remplacer le PDF" not in html
    assert "Nouvelle quittance" not in listing
    assert as_lecteur.get("/quittances/nouvelle").status_code == 403
    assert post(as_lecteur, f"/quittances/{receipt.id}/integrite").status_code == 403
    assert post(as_lecteur, "/quittances/nouvelle", {}).status_code == 403


def test_unknown_receipt_is_a_404(as_lecteur):
    assert as_lecteur.get("/quittances/999999").status_code == 404


def test_period_dates_are_stored_as_typed(as_gestionnaire):
    new_receipt(as_gestionnaire, period_start_on="2026-04-01", period_end_on="2026-04-01")
    receipt = only_receipt()
    assert (receipt.period_start_on, receipt.period_end_on) == (date(2026, 4, 1), date(2026, 4, 1))


def test_contract_numbers_are_suggested_while_typing(as_gestionnaire):
    factories.make_contract(number="CT-777", client=factories.make_client(name="Mairie X"))
    factories.make_contract(number="ZZ-1")
    db.session.commit()

    html = as_gestionnaire.get(
        "/quittances/contrats?contract_number=ct-7", headers={"HX-Request": "true"}
    ).get_data(as_text=True)

    assert '<option value="CT-777">Mairie X' in html
    assert "ZZ-1" not in html
    assert 'list="contract-options"' in as_gestionnaire.get("/quittances/nouvelle").get_data(
        as_text=True
    )
