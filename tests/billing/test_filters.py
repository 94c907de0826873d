"""Query-string filters: parsing, warnings, and round trip back to the URL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from werkzeug.datastructures import MultiDict

from portal.billing.filters import PaymentFilters, ReceiptFilters, parse_amount


def test_amounts_are_read_the_french_way():
    assert parse_amount("1 234,56") == Decimal("1234.56")
    assert parse_amount("1\u202f234,5 €") == Decimal("1234.5")
    assert parse_amount("-10") == Decimal("-10")
    assert parse_amount("") is None


def test_every_filter_survives_a_round_trip_through_the_url():
    args = MultiDict(
        {
            "numero": "Q2026",
            "client": "Sèvres",
            "client_id": "4",
            "contrat": "CT-1",
            "contrat_id": "9",
            "societe": "2",
            "periode_du": "2026-01-01",
            "periode_au": "2026-03-31",
            "saisie_du": "2025-12-01",
            "saisie_au": "2025-12-31",
            "soldee": "non",
            "montant_min": "10,5",
            "montant_max": "2000",
            "corrompue": "oui",
            "tri": "-total",
            "page": "3",
            "taille": "100",
        }
    )
    filters = ReceiptFilters.from_args(args)

    assert filters.period_from == date(2026, 1, 1)
    assert filters.settled is False
    assert filters.corrupted is True
    assert filters.amount_min == Decimal("10.5")
    assert filters.warnings == ()
    assert ReceiptFilters.from_args(MultiDict(filters.to_args())) == filters


def test_defaults_are_left_out_of_the_url():
    filters = ReceiptFilters.from_args(MultiDict())
    assert filters.sort == "-entered_on"
    assert filters.size == 25
    assert filters.to_args() == {}
    assert not filters.is_filtered


def test_invalid_values_are_ignored_with_a_french_warning():
    filters = ReceiptFilters.from_args(
        MultiDict(
            {
                "saisie_du": "31/02/2026",
                "montant_min": "abc",
                "client_id": "x",
                "taille": "1000",
                "tri": "drop table",
                "page": "-2",
            }
        )
    )
    assert filters.entered_from is None and filters.amount_min is None
    assert filters.client_id is None
    assert filters.size == 25 and filters.sort == "-entered_on" and filters.page == 1
    assert len(filters.warnings) == 3
    assert all("ignoré" in warning for warning in filters.warnings)


def test_french_dates_are_accepted_too():
    filters = ReceiptFilters.from_args(MultiDict({"saisie_du": "01/12/2025"}))
    assert filters.entered_from == date(2025, 12, 1)


def test_the_chorus_number_filter_is_read_only_when_dematerialization_is_on():
    args = MultiDict({"chorus": "123456"})
    assert ReceiptFilters.from_args(args).chorus_number is None
    assert ReceiptFilters.from_args(args, chorus_enabled=True).chorus_number == 123456


def test_criteria_leave_out_sort_page_and_size():
    filters = ReceiptFilters.from_args(MultiDict({"numero": "Q", "tri": "number", "page": "2"}))
    assert filters.criteria_args() == {"numero": "Q"}


def test_sort_toggle_flips_the_active_column_only():
    filters = ReceiptFilters.from_args(MultiDict({"tri": "number"}))
    assert filters.sort_toggle("number") == "-number"
    assert filters.sort_toggle("total") == "-total"
    assert filters.sort_toggle("client") == "client"


def test_payment_filters_round_trip():
    args = MultiDict({"client": "X", "du": "2026-01-01", "mode": "cheque", "non_affecte": "oui"})
    filters = PaymentFilters.from_args(args, methods=("cheque", "virement"))
    assert filters.method == "cheque" and filters.unallocated is True
    assert PaymentFilters.from_args(MultiDict(filters.to_args()), methods=("cheque",)) == filters


def test_the_selection_toolbar_criteria_read_back_as_filters():
    filters = ReceiptFilters.from_args(MultiDict({"numero": "Q", "soldee": "non", "page": "3"}))
    posted = {f"filtre-{key}": value for key, value in filters.criteria_args().items()}
    posted["csrf_token"] = "x"
    again = ReceiptFilters.from_selection_form(posted)
    assert again == filters.replace(page=1)
