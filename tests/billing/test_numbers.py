"""Document numbers: one numbering space for receipts and fee invoices, whatever the case
(Chorus Pro numbers are unique per supplier), kept by the services and by the database; and
fee-invoice credit notes linked to the invoice they cancel (B10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.billing import services
from portal.billing.models import FeeInvoice, Receipt
from portal.extensions import db
from portal.portfolio.models import Client, Company, Contract
from portal.validators import ValidationFailed
from tests import factories
from tests.billing.helpers import edit_receipt, invoice_form, post, post_fee_invoice, post_receipt
from tests.concurrency import while_this_session_holds_its_locks
from tests.conftest import is_postgres

# -- case-insensitive uniqueness ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "typed", "message"),
    [
        ("receipt", "q2026-100", "Ce numéro est déjà utilisé par une quittance."),
        (
            "fee_invoice",
            "Q2026-100",
            "Ce numéro est déjà utilisé par une facture d&#39;honoraires.",
        ),
    ],
)
def test_a_receipt_number_differing_only_by_its_case_is_refused(
    as_gestionnaire, existing, typed, message
) -> None:
    contract = factories.make_contract()
    if existing == "receipt":
        factories.make_receipt(number="Q2026-100")
    else:
        factories.make_fee_invoice(number="q2026-100")
    db.session.commit()

    response = post_receipt(as_gestionnaire, contract.number, number=typed)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Receipt).where(Receipt.contract_id == contract.id)) is None


def test_a_fee_invoice_number_differing_only_by_its_case_from_a_receipt_is_refused(
    as_gestionnaire,
) -> None:
    factories.make_receipt(number="FH-2026-1")
    company = factories.make_company()
    client = factories.make_client()
    db.session.commit()
    response = post_fee_invoice(
        as_gestionnaire, client.id, number="fh-2026-1", company_id=str(company.id)
    )
    assert "Ce numéro est déjà utilisé par une quittance." in response.get_data(as_text=True)
    assert db.session.scalar(select(FeeInvoice)) is None


def test_a_document_keeps_its_own_number_when_only_its_case_changes(as_gestionnaire) -> None:
    receipt = factories.make_receipt(number="Q-CASE")
    db.session.commit()
    response = edit_receipt(
        as_gestionnaire, receipt, number="q-case", net_premium="1000", taxes="90", total="1090"
    )
    assert response.status_code == 302
    db.session.refresh(receipt)
    assert receipt.number == "q-case"


@pytest.mark.parametrize("model", ["receipt", "fee_invoice"])
def test_the_database_refuses_two_numbers_equal_but_for_their_case(app, model) -> None:
    make = factories.make_receipt if model == "receipt" else factories.make_fee_invoice
    make(number="ABC-1")
    db.session.commit()
    with pytest.raises(IntegrityError):
        make(number="abc-1")
    db.session.rollback()


def test_the_number_key_follows_every_change_of_the_number(app) -> None:
    receipt = factories.make_receipt(number="Key-1")
    db.session.commit()
    assert receipt.number_key == "key-1"
    db.session.execute(
        Receipt.__table__.update().where(Receipt.id == receipt.id).values(number="KEY-2")
    )
    db.session.commit()
    db.session.refresh(receipt)
    assert receipt.number_key == "key-2"


# -- fee-invoice credit notes (B10) ---------------------------------------------------------------


def credit_note_form(client_id: int, company_id: int, **overrides: str) -> dict[str, object]:
    values = {"number": "AV-2026-1", "company_id": str(company_id), "amount_ht": "-500"}
    return invoice_form(client_id, **{**values, **overrides})


def test_b10_the_fee_invoice_form_links_a_credit_note_to_the_invoice_it_cancels(
    as_gestionnaire,
) -> None:
    original = factories.make_fee_invoice(number="FH-ORIG", company=factories.make_company())
    db.session.commit()

    response = post(
        as_gestionnaire,
        "/factures/nouvelle",
        credit_note_form(
            original.client_id, original.company_id, original_fee_invoice_number="fh-orig"
        ),
    )

    assert response.status_code == 302
    credit_note = db.session.scalar(select(FeeInvoice).where(FeeInvoice.number == "AV-2026-1"))
    assert credit_note.original_fee_invoice_id == original.id
    assert credit_note.total == Decimal("-600.00")
    detail = as_gestionnaire.get(f"/factures/{credit_note.id}").get_data(as_text=True)
    assert "Annule" in detail and "FH-ORIG" in detail and "Avoir" in detail
    edit = as_gestionnaire.get(f"/factures/{credit_note.id}/modifier").get_data(as_text=True)
    assert 'name="original_fee_invoice_number"' in edit and 'value="FH-ORIG"' in edit
    # Unlinking is emptying the field.
    post(
        as_gestionnaire,
        f"/factures/{credit_note.id}/modifier",
        credit_note_form(original.client_id, original.company_id),
    )
    db.session.refresh(credit_note)
    assert credit_note.original_fee_invoice_id is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"original_fee_invoice_number": "FH-NONE"}, "Aucune facture ne porte ce numéro."),
        (
            {"original_fee_invoice_number": "FH-ORIG", "amount_ht": "500"},
            "Seul un remboursement (total TTC négatif)",
        ),
        ({"original_fee_invoice_number": "AV-OLD"}, "pas un remboursement"),
        ({"original_fee_invoice_number": "FH-OTHER"}, "même contrat ou du même client"),
        ({"original_fee_invoice_number": "X" * 41}, "40 caractères"),
    ],
)
def test_b10_the_credit_note_link_is_checked(as_gestionnaire, overrides, message) -> None:
    company = factories.make_company()
    original = factories.make_fee_invoice(number="FH-ORIG", company=company)
    factories.make_credit_note(
        number="AV-OLD",
        client=original.client,
        company=company,
        amount_ht="-1",
    )
    factories.make_fee_invoice(number="FH-OTHER", company=company)  # another client
    db.session.commit()

    response = post(
        as_gestionnaire,
        "/factures/nouvelle",
        credit_note_form(original.client_id, company.id, **overrides),
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(FeeInvoice).where(FeeInvoice.number == "AV-2026-1")) is None


def test_b10_a_fee_invoice_cannot_cancel_itself(as_gestionnaire) -> None:
    company = factories.make_company()
    invoice = factories.make_credit_note(
        number="AV-SELF",
        company=company,
    )
    db.session.commit()
    response = post(
        as_gestionnaire,
        f"/factures/{invoice.id}/modifier",
        credit_note_form(
            invoice.client_id, company.id, number="AV-SELF", original_fee_invoice_number="AV-SELF"
        ),
    )
    assert "sa propre facture d&#39;origine" in response.get_data(as_text=True)


@pytest.mark.skipif(not is_postgres(), reason="the advisory lock is PostgreSQL's")
def test_a_receipt_and_a_fee_invoice_saved_at_once_under_one_number_cannot_both_pass(
    app,
) -> None:
    contract = factories.make_contract()
    company = factories.make_company()
    db.session.commit()
    contract_id, client_id, company_id = contract.id, contract.client_id, company.id

    def other_user() -> object:
        return services.save_fee_invoice(
            services.FeeInvoiceInput(
                number="a-race-1",
                client=db.session.get(Client, client_id),
                contract=None,
                company=db.session.get(Company, company_id),
                label="Honoraires",
                entered_on=date(2026, 1, 15),
                amount_ht=Decimal("100"),
                vat_rate=Decimal("20"),
            )
        )

    services.save_receipt(  # holds the number's lock until commit
        services.ReceiptInput(
            number="A-RACE-1",
            contract=db.session.get(Contract, contract_id),
            period_start_on=date(2026, 1, 1),
            period_end_on=date(2026, 12, 31),
            entered_on=date(2026, 1, 1),
            net_premium=Decimal("100"),
            taxes=Decimal("9"),
            total=Decimal("109"),
        )
    )
    refused = while_this_session_holds_its_locks(app, other_user, "the fee invoice")

    assert isinstance(refused, ValidationFailed), refused
    assert refused.errors["number"] == "Ce numéro est déjà utilisé par une quittance."
    assert db.session.scalar(select(FeeInvoice)) is None
