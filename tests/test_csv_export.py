"""CSV for French Excel: BOM, semicolons, CRLF, French formats, no formula injection."""

from __future__ import annotations

import csv
import enum
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from portal.csv_export import format_cell, write_csv


def read_back(data: bytes) -> list[list[str]]:
    """What a CSV reader (Excel-style: ';', quoted fields) sees."""
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_the_file_starts_with_a_bom_uses_semicolons_and_crlf() -> None:
    data = write_csv(["Numéro", "Montant"], [["Q1", Decimal("12.50")], ["Q2", None]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == "Numéro;Montant\r\nQ1;12,50\r\nQ2;\r\n"


def test_an_empty_report_still_has_its_header() -> None:
    assert write_csv(["A", "B"], []) == "\ufeffA;B\r\n".encode()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (date(2021, 12, 31), "31/12/2021"),
        (datetime(2021, 12, 31, 18, 0, tzinfo=UTC), "31/12/2021 19:00"),  # winter: UTC+1
        (datetime(2022, 7, 1, 17, 0, tzinfo=UTC), "01/07/2022 19:00"),  # summer: UTC+2
        (Decimal("1234.56"), "1234,56"),
        (Decimal("1234567.80"), "1234567,80"),
        (Decimal("-1090.00"), "-1090,00"),
        (Decimal("0.00"), "0,00"),
        (Decimal("1E+3"), "1000"),
        (42, "42"),
        (-7, "-7"),
        (2.5, "2,5"),
        (True, "Oui"),
        (False, "Non"),
        ("Commune de Saint-Aubin", "Commune de Saint-Aubin"),
    ],
)
def test_values_are_written_in_french_formats(value: object, text: str) -> None:
    assert format_cell(value) == text


def test_a_naive_datetime_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_cell(datetime(2021, 12, 31, 19, 0))  # noqa: DTZ001  (the case under test)


def test_enums_are_written_as_their_value() -> None:
    class Colour(enum.StrEnum):
        RED = "rouge"

    assert format_cell(Colour.RED) == "rouge"


@pytest.mark.parametrize(
    "payload",
    [
        '=HYPERLINK("http://evil";"clic")',
        "=1+1",
        "+33 1 23 45 67 89",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralized(payload: str) -> None:
    assert format_cell(payload) == "'" + payload
    [_, row] = read_back(write_csv(["Client"], [[payload]]))
    assert row == ["'" + payload]


def test_harmless_text_is_left_alone() -> None:
    for text in ("Mairie", "a=b", "SIRET 21750001600019", " =espace devant", "€ 12"):
        assert format_cell(text) == text


def test_negative_numbers_stay_numbers_only_text_is_neutralized() -> None:
    [_, row] = read_back(write_csv(["a", "b", "c"], [[Decimal("-12.50"), -3, "-12,50"]]))
    assert row == ["-12,50", "-3", "'-12,50"]


def test_round_trip_keeps_separators_quotes_and_line_breaks_inside_cells() -> None:
    header = ["Type de document", "Message Chorus"]
    rows = [
        ["Quittance", 'Refus ; code "20104"\nLigne 2'],
        ["Facture d'honoraires", "Accents : é à ç œ €"],
        ["Quittance", None],
    ]
    assert read_back(write_csv(header, rows)) == [
        header,
        ["Quittance", 'Refus ; code "20104"\nLigne 2'],
        ["Facture d'honoraires", "Accents : é à ç œ €"],
        ["Quittance", ""],
    ]


def test_rows_may_be_any_iterable_of_sequences() -> None:
    rows = ((n, Decimal(n)) for n in range(3))
    assert read_back(write_csv(["n", "d"], rows))[1:] == [["0", "0"], ["1", "1"], ["2", "2"]]
