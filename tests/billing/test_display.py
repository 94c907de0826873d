"""The fast table formatters print exactly what the shared Babel filters print."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

from portal.billing.display import day, money
from portal.formatting import fr_date, fr_money


def test_money_matches_babel_on_many_amounts():
    rng = random.Random(3)
    values = ["0", "-0.00", "0.01", "-0.01", "999.99", "1000", "-1234567.89", "1e9", "12.345"]
    values += [str(Decimal(rng.randint(-(10**12), 10**12)) / 100) for _ in range(500)]
    for value in values:
        assert money(Decimal(value)) == fr_money(Decimal(value)), value
    assert money(None) == fr_money(None) == ""


def test_day_matches_babel():
    for value in (
        date(2021, 12, 31),
        date(2026, 1, 1),
        datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
    ):  # 1 July in Paris
        assert day(value) == fr_date(value)
    assert day(None) == ""
