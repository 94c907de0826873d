"""Pure billing rules: amounts that must add up, VAT computation, allocation limits.

No database, no request: every function takes values and returns values or French messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Protocol

from portal.db_types import to_money
from portal.formatting import fr_money, fr_number

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


class ReceiptAmounts(Protocol):
    net_premium: Decimal
    taxes: Decimal
    total: Decimal


class FeeInvoiceAmounts(Protocol):
    amount_ht: Decimal
    vat_rate: Decimal
    vat_amount: Decimal
    total: Decimal


def vat_of(amount_ht: Decimal, vat_rate: Decimal) -> Decimal:
    """VAT of an amount excluding tax, rounded to the cent half-up (rate in percent)."""
    return to_money(Decimal(amount_ht) * Decimal(vat_rate) / HUNDRED)


def fee_invoice_amounts(amount_ht: Decimal, vat_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(VAT amount, total TTC) computed from HT and the rate."""
    ht = to_money(amount_ht)
    vat = vat_of(ht, vat_rate)
    return vat, ht + vat


def amount_inconsistencies(document: object) -> Iterator[str]:
    """French reasons why a document's stored amounts do not add up (none when sound)."""
    if hasattr(document, "net_premium"):
        yield from _receipt_inconsistencies(document)  # type: ignore[arg-type]
    else:
        yield from _fee_invoice_inconsistencies(document)  # type: ignore[arg-type]


def _receipt_inconsistencies(receipt: ReceiptAmounts) -> Iterator[str]:
    if receipt.net_premium + receipt.taxes != receipt.total:
        yield (
            f"Montants incohérents : prime nette {fr_money(receipt.net_premium)} + taxes "
            f"{fr_money(receipt.taxes)} ≠ total TTC {fr_money(receipt.total)}."
        )


def _fee_invoice_inconsistencies(invoice: FeeInvoiceAmounts) -> Iterator[str]:
    expected_vat = vat_of(invoice.amount_ht, invoice.vat_rate)
    if expected_vat != invoice.vat_amount:
        yield (
            f"TVA incohérente : {fr_money(invoice.amount_ht)} HT à {fr_number(invoice.vat_rate)} % "
            f"donne {fr_money(expected_vat)} et non {fr_money(invoice.vat_amount)}."
        )
    if invoice.amount_ht + invoice.vat_amount != invoice.total:
        yield (
            f"Montants incohérents : {fr_money(invoice.amount_ht)} HT + "
            f"{fr_money(invoice.vat_amount)} de TVA ≠ total TTC {fr_money(invoice.total)}."
        )
