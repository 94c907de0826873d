"""French formatting: the hand-written money and date formats print exactly what Babel prints."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency

from portal.formatting import fr_date, fr_money


def test_money_matches_babel_on_many_amounts() -> None:
    rng = random.Random(3)
    values = ["0", "-0.00", "0.01", "-0.01", "999.99", "1000", "-1234567.89", "1e9", "12.345"]
    values += [str(Decimal(rng.randint(-(10**12), 10**12)) / 100) for _ in range(500)]
    for value in values:
        assert fr_money(Decimal(value)) == format_currency(Decimal(value), "EUR", locale="fr_FR")
    assert fr_money(None) == ""


def test_money_reads_as_in_the_specification() -> None:
    assert fr_money(Decimal("1234.56")) == "1\u202f234,56\u00a0€"


def test_dates_match_babel_and_are_shown_in_paris() -> None:
    for value in (date(2021, 12, 31), date(2026, 1, 1)):
        assert fr_date(value) == format_date(value, "dd/MM/yyyy", locale="fr_FR")
    assert fr_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "01/07/2026"
    assert fr_date(None) == ""
