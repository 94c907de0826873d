"""S12/S16: the Saisie des paiements screen finds the debt by its N° Chorus, then the usual
payment and allocation; every refusal says why in French and saves nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.billing import services
from portal.billing.models import Allocation, Payment
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.billing.helpers import entry_form, post

URL = "/encaissements/saisie"


@pytest.fixture
def s1_on(app):
    store.put_bool(keys.CHORUS_ENABLED, True)
    db.session.commit()


def sent(document, chorus_id: int, status: str = "MISE_EN_PAIEMENT"):
    document.chorus_state = "sent"
    document.chorus_invoice_id = chorus_id
    document.chorus_status = status
    db.session.commit()
    return document


def form(document, **overrides: str) -> dict[str, str]:
    """The payment-entry form as filled here: a transfer from the DGFiP paying ``document``."""
    transfer = {"received_on": "2026-03-05", "method": "virement", "reference": "VIR DGFIP"}
    return entry_form(document, **transfer | overrides)


def saved() -> tuple[int, int]:
    payments = db.session.scalar(select(func.count()).select_from(Payment))
    allocations = db.session.scalar(select(func.count()).select_from(Allocation))
    return payments, allocations


def test_s16_a_chorus_number_finds_the_document_with_what_remains(as_gestionnaire, s1_on):
    receipt = sent(factories.make_receipt(number="Q-CPP"), 4242)
    partial = factories.make_payment(client=receipt.contract.client, amount=Decimal("90"))
    services.allocate(partial, [services.Part(receipt, Decimal("90"))])
    db.session.commit()

    html = as_gestionnaire.get(f"{URL}?numero=4242&chorus=1").get_data(as_text=True)

    assert 'data-testid="found-document"' in html
    assert "Q-CPP" in html and receipt.contract.client.name in html
    assert 'data-testid="chorus-number">4242' in html
    assert ">Mise en paiement<" in html  # its Chorus status
    assert "1\u202f090,00" in html and "90,00" in html  # total, already allocated
    assert 'data-testid="remaining">1\u202f000,00' in html
    assert 'value="1000,00"' in html  # amounts prefilled with the remaining
    assert 'id="lookup-chorus-box" checked' in html


def test_s16_paying_by_chorus_number_settles_the_document(as_gestionnaire, gestionnaire, s1_on):
    invoice = sent(factories.make_fee_invoice(number="F-CPP"), 5151)  # 600,00

    response = post(
        as_gestionnaire,
        f"{URL}?numero=5151&chorus=1",
        form(invoice, amount="600", allocation_amount="600"),
    )

    assert response.status_code == 302
    payment = db.session.scalar(select(Payment))
    assert (payment.amount, payment.client_id) == (Decimal("600.00"), invoice.client_id)
    assert payment.created_by_id == gestionnaire.id and not payment.is_automatic
    db.session.refresh(invoice)
    assert invoice.is_settled


def test_s16_a_partial_payment_leaves_the_rest_to_settle(as_gestionnaire, s1_on):
    receipt = sent(factories.make_receipt(), 77)
    post(as_gestionnaire, URL, form(receipt, amount="500", allocation_amount="500"))
    db.session.refresh(receipt)
    assert receipt.remaining_amount == Decimal("590.00") and not receipt.is_settled
    html = as_gestionnaire.get(f"{URL}?numero=77&chorus=1").get_data(as_text=True)
    assert 'data-testid="remaining">590,00' in html and 'data-testid="payment-form"' in html


def test_s16_an_unknown_chorus_number_says_so(as_gestionnaire, s1_on):
    factories.make_receipt(number="123")  # a portal number is not a Chorus number
    db.session.commit()
    html = as_gestionnaire.get(f"{URL}?numero=123&chorus=1").get_data(as_text=True)
    assert "Aucune quittance ni facture d'honoraires ne porte le n° Chorus Pro « 123 »." in html
    assert 'data-testid="payment-form"' not in html


def test_s16_a_chorus_number_is_digits_only(as_gestionnaire, s1_on):
    html = as_gestionnaire.get(f"{URL}?numero=Q-12&chorus=1").get_data(as_text=True)
    assert "Un n° Chorus Pro ne contient que des chiffres" in html


def test_s16_a_chorus_number_shared_by_two_documents_asks_which_one(as_gestionnaire, s1_on):
    receipt = sent(factories.make_receipt(number="Q-DUP"), 999)
    invoice = sent(factories.make_fee_invoice(number="F-DUP"), 999)

    html = as_gestionnaire.get(f"{URL}?numero=999&chorus=1").get_data(as_text=True)

    assert "Plusieurs documents correspondent : choisissez celui à régler." in html
    assert "Q-DUP" in html and "F-DUP" in html
    assert 'data-testid="payment-form"' not in html
    picked = as_gestionnaire.get(
        f"{URL}?numero=999&chorus=1&type=fee_invoice&id={invoice.id}"
    ).get_data(as_text=True)
    assert 'data-testid="payment-form"' in picked and "F-DUP" in picked
    assert receipt.id


def test_s16_an_already_settled_document_is_not_paid_again(as_gestionnaire, s1_on):
    receipt = sent(factories.make_receipt(), 31)
    payment = factories.make_payment(client=receipt.contract.client)
    services.allocate(payment, [services.Part(receipt, receipt.total)])
    db.session.commit()

    html = as_gestionnaire.get(f"{URL}?numero=31&chorus=1").get_data(as_text=True)
    assert 'data-testid="already-settled"' in html and 'data-testid="payment-form"' not in html

    response = post(as_gestionnaire, f"{URL}?numero=31&chorus=1", form(receipt))  # stale form
    assert response.status_code == 422
    assert "Ce document est déjà soldé" in response.get_data(as_text=True)
    assert saved() == (1, 1)


def test_s16_an_amount_above_what_remains_is_refused(as_gestionnaire, s1_on):
    receipt = sent(factories.make_receipt(), 32)

    response = post(
        as_gestionnaire,
        f"{URL}?numero=32&chorus=1",
        form(receipt, amount="2000", allocation_amount="1 090,01"),
    )

    html = response.get_data(as_text=True)
    assert "dépasse le reste à solder du document" in html
    assert 'value="32"' in html and 'id="lookup-chorus-box" checked' in html  # search kept
    assert saved() == (0, 0)


def test_s16_without_s1_the_checkbox_is_absent_and_ignored(as_gestionnaire):
    sent(factories.make_receipt(number="Q-OFF"), 4343)
    html = as_gestionnaire.get(f"{URL}?numero=4343&chorus=1").get_data(as_text=True)
    assert "n° interne CHORUS Pro" not in html
    assert "Aucune quittance ni facture" in html  # looked up as a portal number
    assert "Q-OFF" in as_gestionnaire.get(f"{URL}?numero=Q-OFF").get_data(as_text=True)
