"""Encaissements and affectations: payment entry by number, allocation rules, deletions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.billing import queries, services
from portal.billing.models import Allocation, Payment
from portal.extensions import db
from portal.validators import ValidationFailed
from tests import factories
from tests.billing.helpers import (
    count,
    new_payment,
    post,
    post_allocation,
    post_payment_entry,
)

# -- lookup --


def test_lookup_finds_a_receipt_or_a_fee_invoice_by_number(app):
    receipt = factories.make_receipt(number="Q-1")
    invoice = factories.make_fee_invoice(number="F-1")
    assert queries.find_document_by_number(" Q-1 ").document is receipt
    assert queries.find_document_by_number("F-1").document is invoice
    assert queries.find_document_by_number("nope").status is queries.LookupStatus.NOT_FOUND


def test_lookup_reports_a_number_shared_by_two_documents_as_ambiguous(app):
    factories.make_receipt(number="SAME")
    factories.make_fee_invoice(number="SAME")  # legacy data: numbers are unique from now on
    lookup = queries.find_document_by_number("SAME")
    assert lookup.status is queries.LookupStatus.AMBIGUOUS
    assert len(lookup.documents) == 2 and lookup.document is None


def test_lookup_by_chorus_number_uses_the_chorus_invoice_id(app):
    receipt = factories.make_receipt(number="Q-9", chorus_invoice_id=4242)
    assert queries.find_document_by_number("4242", chorus=True).document is receipt
    assert queries.find_document_by_number("Q-9", chorus=True).status.value == "not_found"
    assert queries.find_document_by_number("4242").status.value == "not_found"


def test_the_entry_screen_shows_the_document_found_with_its_remaining(as_gestionnaire):
    receipt = factories.make_receipt(number="Q-ENTRY")
    payment = factories.make_payment(client=receipt.contract.client, amount=Decimal("90"))
    services.allocate(payment, [services.Part(receipt, Decimal("90"))])
    db.session.commit()

    html = as_gestionnaire.get("/encaissements/saisie?numero=Q-ENTRY").get_data(as_text=True)

    assert receipt.contract.client.name in html
    assert "1\u202f090,00" in html  # total
    assert "1\u202f000,00" in html  # remaining
    assert 'name="allocation_amount" type="text" value="1000,00"' in html or (
        'value="1000,00"' in html
    )


def test_the_entry_screen_answers_htmx_with_the_document_fragment(as_gestionnaire):
    factories.make_receipt(number="Q-HX")
    db.session.commit()
    response = as_gestionnaire.get(
        "/encaissements/saisie?numero=Q-HX", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="payment-entry-document">')
    assert "Q-HX" in html and "<html" not in html


def test_an_unknown_number_says_so(as_gestionnaire):
    html = as_gestionnaire.get("/encaissements/saisie?numero=ZZZ").get_data(as_text=True)
    assert "Aucune quittance ni facture" in html


def test_the_chorus_checkbox_shows_only_when_dematerialization_is_on(as_gestionnaire):
    from portal.settings import chorus, store

    assert "n° interne CHORUS Pro" not in as_gestionnaire.get("/encaissements/saisie").get_data(
        as_text=True
    )
    store.put_bool(chorus.CHORUS_ENABLED, True)
    receipt = factories.make_receipt(chorus_invoice_id=777)
    db.session.commit()
    html = as_gestionnaire.get("/encaissements/saisie?numero=777&chorus=1").get_data(as_text=True)
    assert "n° interne CHORUS Pro" in html
    assert receipt.number in html


# -- recording a payment with its allocation --


def test_recording_a_payment_allocates_it_and_settles_the_receipt(as_gestionnaire, gestionnaire):
    receipt = factories.make_receipt()
    db.session.commit()

    response = post_payment_entry(as_gestionnaire, receipt)

    assert response.status_code == 302
    payment = db.session.execute(db.select(Payment)).scalar_one()
    assert payment.amount == Decimal("1090.00")
    assert payment.method == "cheque" and payment.reference == "CHQ 123"
    assert payment.client_id == receipt.contract.client_id
    assert payment.created_by_id == gestionnaire.id
    db.session.refresh(receipt)
    assert receipt.allocated_amount == Decimal("1090.00")
    assert receipt.is_settled


def test_a_partial_allocation_leaves_the_rest_on_the_payment(as_gestionnaire):
    invoice = factories.make_fee_invoice()  # 600,00
    db.session.commit()

    post_payment_entry(as_gestionnaire, invoice, amount="1000", allocation_amount="600")

    payment = db.session.execute(db.select(Payment)).scalar_one()
    assert payment.unallocated_amount == Decimal("400.00")
    db.session.refresh(invoice)
    assert invoice.is_settled


def test_over_allocation_is_refused_and_nothing_is_saved(as_gestionnaire):
    receipt = factories.make_receipt()
    db.session.commit()

    response = post_payment_entry(
        as_gestionnaire, receipt, amount="2000", allocation_amount="1090,01"
    )

    assert "dépasse le reste à solder" in response.get_data(as_text=True)
    assert count(Payment) == 0
    db.session.refresh(receipt)
    assert receipt.allocated_amount == Decimal("0.00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"amount": "500", "allocation_amount": "600"},
            "dépasse le montant non affecté",
            id="allocating_more_than_the_payment_is_refused",
        ),
        pytest.param(
            {"amount": "0", "allocation_amount": "10"},
            "ne peut pas être nul",
            id="a_zero_payment_is_refused",
        ),
        pytest.param(
            {"allocation_amount": "   "},
            "Saisissez un montant.",
            id="a_payment_amount_of_blanks_only_is_refused_like_an_empty_one",
        ),
    ],
)
def test_a_payment_breaking_a_rule_is_refused_and_nothing_is_saved(
    as_gestionnaire, fields, message
):
    response = new_payment(as_gestionnaire, **fields)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(Payment) == 0


def test_a_refund_is_settled_by_a_negative_payment(as_gestionnaire):
    refund = factories.make_refund_receipt()
    db.session.commit()

    response = post_payment_entry(as_gestionnaire, refund, amount="-109", allocation_amount="-109")

    assert response.status_code == 302
    db.session.refresh(refund)
    assert refund.is_settled


# -- allocating an existing payment's remainder ----------------------------------------------------


def test_the_remainder_is_allocated_to_several_documents_of_the_client(as_gestionnaire):
    contract = factories.make_contract()
    first = factories.make_receipt(contract=contract)  # 1 090,00
    second = factories.make_fee_invoice(client=contract.client)  # 600,00
    payment = factories.make_payment(client=contract.client, amount=Decimal("2000"))
    db.session.commit()

    response = post_allocation(as_gestionnaire, payment, (first, "1 090"), (second, "600"))

    assert response.status_code == 302
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.is_settled and second.is_settled
    assert db.session.get(Payment, payment.id).unallocated_amount == Decimal("310.00")


def test_the_payment_page_lists_only_the_clients_open_documents(as_gestionnaire):
    contract = factories.make_contract()
    mine = factories.make_receipt(contract=contract, number="MINE")
    factories.make_receipt(number="NOT-MINE")
    settled = factories.make_receipt(
        contract=contract, number="SETTLED", allocated_amount=Decimal("1090")
    )
    payment = factories.make_payment(client=contract.client, amount=Decimal("50"))
    db.session.commit()

    html = as_gestionnaire.get(f"/encaissements/{payment.id}").get_data(as_text=True)

    assert f"part-receipt-{mine.id}" in html
    assert "NOT-MINE" not in html
    assert f"part-receipt-{settled.id}" not in html


def test_one_bad_part_saves_none_of_the_parts(as_gestionnaire):
    contract = factories.make_contract()
    first = factories.make_receipt(contract=contract)
    second = factories.make_receipt(contract=contract)
    payment = factories.make_payment(client=contract.client, amount=Decimal("1500"))
    db.session.commit()

    response = post_allocation(as_gestionnaire, payment, (first, "1000"), (second, "600"))

    assert "dépasse le montant non affecté" in response.get_data(as_text=True)
    assert count(Allocation) == 0
    db.session.refresh(first)
    assert first.allocated_amount == Decimal("0.00")


def test_allocating_to_another_clients_document_is_refused(app):
    receipt = factories.make_receipt()
    payment = factories.make_payment()  # another client
    with pytest.raises(ValidationFailed) as error:
        services.allocate(payment, [services.Part(receipt, Decimal("10"))])
    assert "client" in error.value.errors["allocation_amount"]


def test_the_same_document_cannot_be_over_allocated_across_payments(app):
    receipt = factories.make_receipt()
    client = receipt.contract.client
    services.allocate(
        factories.make_payment(client=client, amount=Decimal("1000")),
        [services.Part(receipt, Decimal("1000"))],
    )
    with pytest.raises(ValidationFailed):
        services.allocate(
            factories.make_payment(client=client, amount=Decimal("1000")),
            [services.Part(receipt, Decimal("90.01"))],
        )
    assert receipt.allocated_amount == Decimal("1000.00")


# -- deletions --


def test_deleting_an_allocation_restores_the_remaining(as_gestionnaire):
    receipt = factories.make_receipt()
    payment = factories.make_payment(client=receipt.contract.client)
    (allocation,) = services.allocate(payment, [services.Part(receipt, Decimal("1090"))])
    db.session.commit()

    response = post(
        as_gestionnaire, f"/affectations/{allocation.id}/supprimer", {"retour": "document"}
    )

    assert response.headers["Location"].endswith(f"/quittances/{receipt.id}")
    db.session.refresh(receipt)
    assert receipt.allocated_amount == Decimal("0.00") and not receipt.is_settled
    assert db.session.get(Payment, payment.id) is not None


def test_deleting_a_payment_removes_its_allocations(as_gestionnaire):
    contract = factories.make_contract()
    receipt = factories.make_receipt(contract=contract)
    invoice = factories.make_fee_invoice(client=contract.client)
    payment = factories.make_payment(client=contract.client, amount=Decimal("1690"))
    services.allocate(
        payment, [services.Part(receipt, Decimal("1090")), services.Part(invoice, Decimal("600"))]
    )
    db.session.commit()

    response = post(as_gestionnaire, f"/encaissements/{payment.id}/supprimer")

    assert response.status_code == 302
    assert count(Payment) == 0
    assert count(Allocation) == 0
    db.session.refresh(receipt)
    db.session.refresh(invoice)
    assert receipt.allocated_amount == invoice.allocated_amount == Decimal("0.00")


# -- list, detail, roles --


def test_payments_list_filters_by_client_method_and_unallocated(as_lecteur):
    sevres = factories.make_client(name="Commune de Sèvres")
    receipt = factories.make_receipt(contract=factories.make_contract(client=sevres))
    full = factories.make_payment(client=sevres, method="cheque", reference="FULL")
    services.allocate(full, [services.Part(receipt, Decimal("1090"))])
    factories.make_payment(method="virement", reference="OPEN")
    db.session.commit()

    def refs(query: str) -> list[str]:
        html = as_lecteur.get("/encaissements?" + query).get_data(as_text=True)
        return [ref for ref in ("FULL", "OPEN") if f"<td>{ref}</td>" in html]

    assert refs("") == ["FULL", "OPEN"]
    assert refs("client=s%C3%A8vres") == ["FULL"]
    assert refs("mode=virement") == ["OPEN"]
    assert refs("non_affecte=oui") == ["OPEN"]
    assert refs("non_affecte=non") == ["FULL"]


def test_a_lecteur_reads_payments_but_cannot_record_or_delete(as_lecteur):
    payment = factories.make_payment()
    db.session.commit()
    html = as_lecteur.get(f"/encaissements/{payment.id}").get_data(as_text=True)
    assert "Supprimer" not in html and "Affecter" not in html
    assert as_lecteur.get("/encaissements/saisie").status_code == 403
    assert post(as_lecteur, f"/encaissements/{payment.id}/supprimer").status_code == 403
