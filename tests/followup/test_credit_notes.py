"""B10: a refund linked to the receipt it refunds is sent as an AVOIR referencing it."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portal.billing.models import Receipt
from portal.billing.services import store_generated_pdf
from portal.extensions import db
from tests import factories
from tests.billing.helpers import edit_receipt, post_receipt
from tests.followup.conftest import SIRET_PAID, receipt_for, send

# The receipt form filled for a refund of 109,00 € (B10), linked to no receipt yet.
REFUND = {
    "number": "R-0001",
    "entered_on": "2026-03-01",
    "net_premium": "-100",
    "taxes": "-9",
    "total": "-109",
    "original_receipt_number": "",
}


def test_b10_the_receipt_form_links_a_refund_to_its_original(as_gestionnaire) -> None:
    original = factories.make_receipt(number="Q-ORIG")
    db.session.commit()

    response = post_receipt(
        as_gestionnaire, original.contract.number, **REFUND | {"original_receipt_number": "Q-ORIG"}
    )

    assert response.status_code == 302
    refund = db.session.scalar(select(Receipt).where(Receipt.number == "R-0001"))
    assert refund.original_receipt_id == original.id
    detail = as_gestionnaire.get(f"/quittances/{refund.id}").get_data(as_text=True)
    assert "Rembourse" in detail and "Q-ORIG" in detail
    edit = as_gestionnaire.get(f"/quittances/{refund.id}/modifier").get_data(as_text=True)
    assert 'name="original_receipt_number"' in edit and 'value="Q-ORIG"' in edit
    # Unlinking is emptying the field.
    edit_receipt(as_gestionnaire, refund, **REFUND)
    db.session.refresh(refund)
    assert refund.original_receipt_id is None


def test_b10_a_refund_of_another_client_s_receipt_is_refused(as_gestionnaire) -> None:
    factories.make_receipt(number="Q-OTHER")  # another contract and client
    contract = factories.make_contract()
    db.session.commit()
    response = post_receipt(
        as_gestionnaire, contract.number, **REFUND | {"original_receipt_number": "Q-OTHER"}
    )
    assert response.status_code == 422
    assert "même contrat ou du même client" in response.get_data(as_text=True)
    assert db.session.scalar(select(Receipt).where(Receipt.number == "R-0001")) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"original_receipt_number": "Q-NONE"}, "Aucune quittance ne porte ce numéro."),
        (
            {"net_premium": "100", "taxes": "9", "total": "109"},
            "Seul un remboursement (total TTC négatif)",
        ),
        ({"original_receipt_number": "R-OLD"}, "pas un remboursement"),
    ],
)
def test_b10_the_link_is_checked(as_gestionnaire, overrides, message) -> None:
    original = factories.make_receipt(number="Q-ORIG")
    factories.make_refund_receipt(
        number="R-OLD",
        contract=original.contract,
        net_premium="-1",
        taxes="0",
    )
    db.session.commit()
    fields = REFUND | {"original_receipt_number": "Q-ORIG"} | overrides

    response = post_receipt(as_gestionnaire, original.contract.number, **fields)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Receipt).where(Receipt.number == "R-0001")) is None


def test_b10_a_receipt_cannot_refund_itself(as_gestionnaire) -> None:
    refund = factories.make_refund_receipt(
        number="R-SELF",
        net_premium="-1",
        taxes="0",
    )
    db.session.commit()
    itself = {"number": "R-SELF", "net_premium": "-1", "taxes": "0", "total": "-1"}
    linked = {"original_receipt_number": "R-SELF"}
    response = edit_receipt(as_gestionnaire, refund, **REFUND | itself | linked)
    assert "sa propre quittance d&#39;origine" in response.get_data(as_text=True)


def test_b10_the_credit_note_reaches_chorus_as_an_avoir_referencing_the_original(
    app: Flask, chorus, chorus_admin
) -> None:
    original = receipt_for(SIRET_PAID, number="Q-2026-0100")
    send(app, original)
    refund = factories.make_refund_receipt(
        number="R-2026-0001",
        contract=original.contract,
        original_receipt=original,
    )
    store_generated_pdf(refund)
    db.session.commit()

    send(app, refund)

    db.session.refresh(refund)
    body = chorus.state.invoices[refund.chorus_invoice_id].body
    assert body["references"]["typeFacture"] == "AVOIR"
    assert body["references"]["numeroFactureOrigine"] == "Q-2026-0100"
    assert body["montantTotal"]["montantTtcTotal"] == 109.0  # positive amounts in an AVOIR


def test_b10_a_fee_invoice_credit_note_reaches_chorus_as_an_avoir_without_payment_mode(
    app: Flask, chorus, chorus_admin
) -> None:
    original = receipt_for(SIRET_PAID, number="Q-2026-0200")  # gives a sendable contract
    invoice = factories.make_fee_invoice(
        number="FH-2026-0100", client=original.contract.client, contract=original.contract
    )
    credit_note = factories.make_credit_note(
        number="AV-2026-0001",
        client=invoice.client,
        contract=invoice.contract,
        original_fee_invoice=invoice,
    )
    for document in (invoice, credit_note):
        store_generated_pdf(document)
    db.session.commit()

    send(app, invoice, credit_note)

    db.session.refresh(credit_note)
    body = chorus.state.invoices[credit_note.chorus_invoice_id].body
    assert body["references"]["typeFacture"] == "AVOIR"
    assert body["references"]["numeroFactureOrigine"] == "FH-2026-0100"
    assert "modePaiement" not in body["references"]
    assert body["montantTotal"]["montantTtcTotal"] == 600.0
