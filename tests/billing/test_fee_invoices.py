"""Factures d'honoraires: VAT and TTC computed server-side, numbering, contract of the client."""

from __future__ import annotations

from decimal import Decimal

from portal import storage
from portal.billing import services
from portal.billing.models import FeeInvoice
from portal.extensions import db
from tests import factories
from tests.billing.helpers import count, edit_fee_invoice, new_fee_invoice, post, post_fee_invoice


def test_vat_and_ttc_are_computed_on_save_and_the_pdf_generated(as_gestionnaire):
    contract = factories.make_contract()
    db.session.commit()

    response = post_fee_invoice(
        as_gestionnaire, contract.client_id, contract_number=contract.number
    )

    assert response.status_code == 302
    invoice = db.session.execute(db.select(FeeInvoice)).scalar_one()
    assert invoice.vat_amount == Decimal("200.01")  # 200.010 rounded half up
    assert invoice.total == Decimal("1200.06")
    assert invoice.issuing_company == contract.company
    data = storage.read_bytes(storage.PDF, invoice.pdf_stored_name)
    assert b"FH-2026-1" in data and data.startswith(b"%PDF-")
    assert services.check_integrity(invoice) is None


def test_a_zero_rate_is_allowed(as_gestionnaire):
    new_fee_invoice(as_gestionnaire, vat_rate="0")

    invoice = db.session.execute(db.select(FeeInvoice)).scalar_one()
    assert (invoice.vat_amount, invoice.total) == (Decimal("0.00"), Decimal("1000.05"))


def test_a_rate_above_100_is_refused(as_gestionnaire):
    response = new_fee_invoice(as_gestionnaire, vat_rate="120")

    assert "entre 0 et 100" in response.get_data(as_text=True)
    assert count(FeeInvoice) == 0


def test_the_contract_must_belong_to_the_client(as_gestionnaire):
    client = factories.make_client()
    other_contract = factories.make_contract()
    db.session.commit()

    response = post_fee_invoice(as_gestionnaire, client.id, contract_number=other_contract.number)

    assert "n&#39;appartient pas au client" in response.get_data(as_text=True)
    assert count(FeeInvoice) == 0


def test_without_contract_the_issuing_company_is_required(as_gestionnaire):
    client = factories.make_client()
    db.session.commit()

    response = post_fee_invoice(as_gestionnaire, client.id)

    assert "société émettrice" in response.get_data(as_text=True)


def test_a_number_used_by_a_receipt_is_refused(as_gestionnaire):
    factories.make_receipt(number="SHARED-1")
    contract = factories.make_contract()
    db.session.commit()

    response = post_fee_invoice(
        as_gestionnaire, contract.client_id, contract_number=contract.number, number="SHARED-1"
    )

    assert "déjà utilisé par une quittance" in response.get_data(as_text=True)
    assert count(FeeInvoice) == 0


def test_a_duplicate_fee_invoice_number_is_refused(as_gestionnaire):
    existing = factories.make_fee_invoice(number="FH-DUP")
    company = factories.make_company()
    db.session.commit()

    response = post_fee_invoice(
        as_gestionnaire, existing.client_id, number="FH-DUP", company_id=str(company.id)
    )

    assert "déjà utilisé par une facture" in response.get_data(as_text=True)


def test_editing_recomputes_amounts_and_regenerates_the_pdf(as_gestionnaire):
    company = factories.make_company()
    invoice = factories.make_fee_invoice(number="FH-E", company=company)
    services.store_generated_pdf(invoice)
    db.session.commit()
    old = invoice.pdf_stored_name

    response = edit_fee_invoice(
        as_gestionnaire,
        invoice,
        number="FH-E",
        amount_ht="10",
        vat_rate="5,5",
        company_id=str(company.id),
    )

    assert response.status_code == 302
    db.session.refresh(invoice)
    assert (invoice.vat_amount, invoice.total) == (Decimal("0.55"), Decimal("10.55"))
    assert invoice.pdf_stored_name != old and not storage.exists(storage.PDF, old)


def test_the_edit_form_shows_the_current_values(as_gestionnaire):
    contract = factories.make_contract()
    invoice = factories.make_fee_invoice(client=contract.client, contract=contract)
    db.session.commit()

    html = as_gestionnaire.get(f"/factures/{invoice.id}/modifier").get_data(as_text=True)

    assert f'value="{contract.number}"' in html
    assert 'value="500,00"' in html
    assert f'<option selected value="{invoice.client_id}">' in html


def test_detail_shows_ht_vat_ttc_and_integrity(as_gestionnaire):
    invoice = factories.make_fee_invoice(company=factories.make_company(name="Courtage Ouest"))
    services.store_generated_pdf(invoice)
    db.session.commit()

    html = as_gestionnaire.get(f"/factures/{invoice.id}").get_data(as_text=True)

    for expected in (
        "500,00",
        "20,00 %",
        "100,00",
        "600,00",
        "Courtage Ouest",
        "Intègre",
        'id="fee-invoice-chorus"',
    ):
        assert expected in html, expected


def test_integrity_check_detects_a_deleted_pdf(as_gestionnaire):
    invoice = factories.make_fee_invoice(company=factories.make_company())
    services.store_generated_pdf(invoice)
    db.session.commit()
    storage.delete(storage.PDF, invoice.pdf_stored_name)

    post(as_gestionnaire, f"/factures/{invoice.id}/integrite")

    db.session.refresh(invoice)
    assert invoice.is_corrupted and "introuvable" in invoice.corruption_reason


def test_the_fee_invoice_pdf_downloads(as_lecteur):
    invoice = factories.make_fee_invoice(number="FH-DL", company=factories.make_company())
    services.store_generated_pdf(invoice)
    db.session.commit()

    response = as_lecteur.get(f"/factures/{invoice.id}/facture.pdf")

    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    response.close()


def test_a_lecteur_cannot_create_fee_invoices(as_lecteur):
    assert as_lecteur.get("/factures/nouvelle").status_code == 403
    assert "Nouvelle facture" not in as_lecteur.get("/factures").get_data(as_text=True)
