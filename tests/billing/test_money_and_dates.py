"""Money and dates as typed (issue 12, item 8): never rounded silently, plausible bounds, signs.

Amounts have at most 2 decimals and stay below 1 000 000 000 € in absolute value; negative
amounts belong to credit notes (B10: a refund receipt, a fee-invoice credit note, the payment
settling one); dates lie between 01/01/1990 and 31/12/2100, periods in order. Document numbers
are one numbering whatever the case (« q2025000001 » is « Q2025000001 »).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.billing import rules
from portal.billing.filters import ReceiptFilters
from portal.billing.models import FeeInvoice, Payment, Receipt
from portal.extensions import db
from portal.pagination import MAX_PAGE
from portal.validators import (
    AMOUNT_DECIMALS_MESSAGE,
    AMOUNT_RANGE_MESSAGE,
    DATE_RANGE_MESSAGE,
    MAX_AMOUNT,
    InvalidValue,
    check_plausible_date,
    clean_amount,
)
from tests import factories
from tests.billing.helpers import (
    count,
    new_fee_invoice,
    new_payment,
    new_receipt,
    page_text,
    post_allocation,
    post_fee_invoice,
    post_receipt,
)

# -- the amount as typed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("100,05", Decimal("100.05")),
        ("1 234,5 €", Decimal("1234.5")),
        ("-10", Decimal("-10")),
        ("999 999 999,99", MAX_AMOUNT),
        ("-999999999,99", -MAX_AMOUNT),
        ("", None),
    ],
)
def test_an_amount_with_at_most_two_decimals_and_below_a_billion_is_read_as_typed(
    typed: str, expected: Decimal | None
) -> None:
    assert clean_amount(typed) == expected


@pytest.mark.parametrize("typed", ["100,005", "100,001", "0,001", "100,000", "-1,999"])
def test_more_than_two_decimals_is_refused_never_rounded(typed: str) -> None:
    with pytest.raises(InvalidValue, match=AMOUNT_DECIMALS_MESSAGE):
        clean_amount(typed)


@pytest.mark.parametrize("typed", ["1 000 000 000", "-1000000000", "1" + "0" * 30, "9" * 400])
def test_an_amount_of_a_billion_or_more_is_out_of_bounds(typed: str) -> None:
    with pytest.raises(InvalidValue, match="hors limites"):
        clean_amount(typed)


def test_the_bound_is_said_in_french() -> None:
    assert AMOUNT_RANGE_MESSAGE == (
        "Montant hors limites : 999\u202f999\u202f999,99\u00a0€ au plus en valeur absolue."
    )


@pytest.mark.parametrize("typed", ["abc", "1e309", "12,34,56", "²", "--1"])
def test_what_is_not_an_amount_is_refused(typed: str) -> None:
    with pytest.raises(InvalidValue, match="Montant invalide"):
        clean_amount(typed)


# -- receipts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["100,005", "100,001"])
def test_a_receipt_amount_with_three_decimals_is_a_field_error_and_nothing_is_saved(
    as_gestionnaire, typed: str
) -> None:
    response = new_receipt(as_gestionnaire, net_premium=typed, taxes="0", total="100,01")

    assert response.status_code == 422
    assert AMOUNT_DECIMALS_MESSAGE in page_text(response)
    assert f'value="{typed}"' in response.get_data(as_text=True)  # kept as typed
    assert count(Receipt) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"total": "1" + "0" * 30},
            "Montant hors limites",
            id="a_receipt_amount_of_31_digits_is_a_field_error",
        ),
        pytest.param(
            {"net_premium": "1 100", "taxes": "-10", "total": "1 090"},
            rules.NEGATIVE_ONLY_ON_REFUNDS,
            id="a_negative_part_of_a_positive_receipt_is_refused",
        ),
        pytest.param(
            {"net_premium": "-100", "taxes": "9", "total": "-91"},
            rules.POSITIVE_ON_REFUND,
            id="a_refund_receipt_has_no_positive_part",
        ),
        *(
            pytest.param(
                {field: typed},
                DATE_RANGE_MESSAGE,
                id=f"a_receipt_date_outside_1990_2100_is_a_field_error-{field}",
            )
            for field, typed in [
                ("period_start_on", "1989-12-31"),
                ("period_end_on", "2101-01-01"),
                ("entered_on", "0202-01-01"),
            ]
        ),
        pytest.param(
            {"period_start_on": "2026-02-01", "period_end_on": "2026-01-31"},
            "La fin de période doit être postérieure",
            id="a_period_ending_before_it_starts_is_refused",
        ),
    ],
)
def test_a_receipt_amount_or_date_out_of_bounds_is_a_field_error_and_nothing_is_saved(
    as_gestionnaire, fields: dict[str, str], message: str
) -> None:
    """Amounts below a billion, signs as B10 says, dates between 1990 and 2100, in order."""
    response = new_receipt(as_gestionnaire, **fields)

    assert response.status_code == 422
    assert message in page_text(response)
    assert count(Receipt) == 0


def test_b10_a_refund_receipt_with_negative_amounts_is_saved(as_gestionnaire) -> None:
    response = new_receipt(as_gestionnaire, net_premium="-100", taxes="-9", total="-109")

    assert response.status_code == 302
    assert db.session.execute(db.select(Receipt.total)).scalar_one() == Decimal("-109.00")


def test_the_date_bounds_are_inclusive() -> None:
    assert check_plausible_date(date(1990, 1, 1)) == date(1990, 1, 1)
    assert check_plausible_date(date(2100, 12, 31)) == date(2100, 12, 31)
    with pytest.raises(InvalidValue, match="entre le 01/01/1990 et le 31/12/2100"):
        check_plausible_date(date(2101, 1, 1))


# -- fee invoices and payments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"amount_ht": "1" + "0" * 30},
            "Montant hors limites",
            id="a_fee_invoice_with_a_31_digit_ht_amount_is_a_field_error",
        ),
        pytest.param(
            {"amount_ht": "900 000 000"},
            "le total TTC dépasserait",
            id="a_fee_invoice_whose_ttc_would_pass_the_bound_is_refused",
        ),
        pytest.param(
            {"amount_ht": "100,005"},
            AMOUNT_DECIMALS_MESSAGE,
            id="a_fee_invoice_ht_amount_with_three_decimals_is_refused",
        ),
    ],
)
def test_a_fee_invoice_amount_out_of_bounds_is_a_field_error_and_nothing_is_saved(
    as_gestionnaire, fields: dict[str, str], message: str
) -> None:
    response = new_fee_invoice(as_gestionnaire, **fields)

    assert response.status_code == 422
    assert message in page_text(response)
    assert count(FeeInvoice) == 0


def test_the_service_refuses_an_amount_beyond_the_bound_without_computing_it(app) -> None:
    """Callers other than the form (CLI, jobs) get a French error too, never an overflow."""
    from portal.billing import services
    from portal.validators import ValidationFailed

    client = factories.make_client()
    company = factories.make_company()
    data = services.FeeInvoiceInput(
        number="FH-HUGE",
        client=client,
        contract=None,
        company=company,
        label="Honoraires",
        entered_on=date(2026, 1, 15),
        amount_ht=Decimal(10**30),
        vat_rate=Decimal(20),
    )

    with pytest.raises(ValidationFailed) as refused:
        services.save_fee_invoice(data)

    assert "hors limites" in refused.value.errors["amount_ht"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"amount": "-1090", "allocation_amount": "-1090"},
            "Montant négatif réservé au remboursement d'un avoir",
            id="a_negative_payment_for_a_positive_document_is_refused",
        ),
        pytest.param(
            {"amount": "1 090,001"},
            AMOUNT_DECIMALS_MESSAGE,
            id="a_payment_amount_with_three_decimals_is_refused",
        ),
        pytest.param(
            {"received_on": "2200-01-20"}, DATE_RANGE_MESSAGE, id="a_payment_dated_2200_is_refused"
        ),
    ],
)
def test_a_payment_amount_or_date_out_of_bounds_is_refused_and_nothing_is_saved(
    as_gestionnaire, fields: dict[str, str], message: str
) -> None:
    response = new_payment(as_gestionnaire, **fields)

    assert message in page_text(response)
    assert count(Payment) == 0


def test_an_allocated_part_with_three_decimals_is_refused_next_to_it(as_gestionnaire) -> None:
    receipt = factories.make_receipt()
    payment = factories.make_payment(client=receipt.contract.client)
    db.session.commit()

    response = post_allocation(as_gestionnaire, payment, (receipt, "10,005"))

    assert AMOUNT_DECIMALS_MESSAGE in page_text(response)
    db.session.refresh(receipt)
    assert receipt.allocated_amount == Decimal("0.00")


# -- list filters ----------------------------------------------------------------------------------


def test_an_amount_filter_out_of_bounds_is_ignored_with_a_message(as_lecteur) -> None:
    factories.make_receipt()
    db.session.commit()

    response = as_lecteur.get("/quittances?montant_min=" + "9" * 31)

    assert response.status_code == 200
    assert "Filtre « montant minimum » ignoré : montant hors limites" in page_text(response)


def test_filters_out_of_range_are_ignored_each_with_its_reason() -> None:
    filters = ReceiptFilters.from_args(
        {
            "client_id": str(10**30),
            "societe": "2147483648",
            "contrat_id": "²",
            "montant_max": "10,005",
            "saisie_du": "1900-01-01",
            "periode_au": "2025-02-30",
            "page": "9" * 40,
        }
    )

    assert (filters.client_id, filters.company_id, filters.contract_id) == (None, None, None)
    assert (filters.amount_max, filters.entered_from, filters.period_to) == (None, None, None)
    assert filters.page == MAX_PAGE  # past the end: the list shows its last page
    assert set(filters.warnings) == {
        "Filtre « client » ignoré : valeur hors limites.",
        "Filtre « société » ignoré : valeur hors limites.",
        "Filtre « contrat » ignoré : valeur invalide.",
        "Filtre « montant maximum » ignoré : 2 décimales au plus.",
        "Filtre « saisie du » ignoré : date hors limites : entre le 01/01/1990 et le 31/12/2100.",
        "Filtre « période au » ignoré : date invalide.",
    }


# -- one numbering whatever the case ---------------------------------------------------------------


def test_a_number_differing_only_by_case_is_refused_next_to_the_field(as_gestionnaire) -> None:
    existing = factories.make_receipt(number="Q2025000001")
    db.session.commit()

    response = post_receipt(as_gestionnaire, existing.contract.number, number="q2025000001")

    assert response.status_code == 422
    assert "Ce numéro est déjà utilisé par une quittance." in page_text(response)
    assert count(Receipt) == 1


def test_a_fee_invoice_cannot_take_a_receipt_number_in_another_case(as_gestionnaire) -> None:
    receipt = factories.make_receipt(number="Q2025000001")
    db.session.commit()

    response = post_fee_invoice(
        as_gestionnaire,
        receipt.contract.client_id,
        number="q2025000001",
        contract_number=receipt.contract.number,
    )

    assert "Ce numéro est déjà utilisé par une quittance." in page_text(response)
    assert count(FeeInvoice) == 0


def test_payment_entry_finds_a_document_by_its_number_in_any_case(as_gestionnaire) -> None:
    receipt = factories.make_receipt(number="Q2025000001")
    db.session.commit()

    html = as_gestionnaire.get("/encaissements/saisie?numero=q2025000001").get_data(as_text=True)

    assert f'name="document_id" type="hidden" value="{receipt.id}"' in html


def test_the_number_filter_of_the_lists_ignores_the_case(as_lecteur) -> None:
    factories.make_receipt(number="Qa2025000001")
    factories.make_receipt(number="QB2025000002")
    db.session.commit()

    html = as_lecteur.get("/quittances?numero=qA2025").get_data(as_text=True)

    assert "Qa2025000001" in html
    assert "QB2025000002" not in html
