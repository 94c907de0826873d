"""Fast French formatting for long tables.

Same output as ``portal.formatting.fr_money`` / ``fr_date`` (a test compares them on many
values) without Babel's per-call cost (~90 µs per amount), which dominated the rendering
of a 100-row list.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from portal.clock import PARIS

CENT = Decimal("0.01")
GROUP = "\u202f"  # narrow no-break space, as Babel's fr_FR locale prints groups
BEFORE_CURRENCY = "\u00a0"


def money(value: Decimal | int | float | None) -> str:
    """1 234,56 €."""
    if value is None:
        return ""
    amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    text = f"{abs(amount):,.2f}".replace(",", GROUP).replace(".", ",")
    sign = "-" if amount.is_signed() else ""
    return f"{sign}{text}{BEFORE_CURRENCY}€"


def day(value: date | datetime | None) -> str:
    """31/12/2021."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date()
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
