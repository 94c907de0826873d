"""Pure billing rules: amounts that must add up, VAT computation, allocation limits.

No database, no request: every function takes values and returns values or French messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Protocol

from portal.db_types import to_money
from portal.formatting import fr_money, fr_number
from portal.models_base import ChorusState
from portal.validators import MAX_AMOUNT, InvalidValue, check_amount

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


# -- document input --------------------------------------------------------------------------------

NEGATIVE_ONLY_ON_REFUNDS = (
    "Montant négatif réservé aux remboursements (total TTC négatif) : saisissez un montant "
    "positif ou nul."
)
POSITIVE_ON_REFUND = (
    "Remboursement (total TTC négatif) : la prime nette et les taxes sont négatives ou nulles."
)


def amount_error(value: Decimal) -> str | None:
    """Why an amount cannot be stored as typed: more than 2 decimals, or beyond ``MAX_AMOUNT``.

    The forms refuse these first (``validators.clean_amount``); services check again, so no
    caller can have an amount silently rounded or overflow the database.
    """
    try:
        check_amount(value)
    except InvalidValue as error:
        return str(error)
    return None


def receipt_amount_errors(net_premium: Decimal, taxes: Decimal, total: Decimal) -> dict[str, str]:
    """French errors per field for a receipt's amounts.

    A refund (credit note, B10) has a negative total and no positive part; any other receipt
    has no negative part. The total is the net premium plus the taxes, to the cent.
    """
    errors: dict[str, str] = {}
    for name, value in (("net_premium", net_premium), ("taxes", taxes), ("total", total)):
        problem = amount_error(value)
        if problem:
            errors[name] = problem
    if errors:
        return errors
    for name, value in (("net_premium", net_premium), ("taxes", taxes)):
        if total > ZERO and value < ZERO:
            errors[name] = NEGATIVE_ONLY_ON_REFUNDS
        elif total < ZERO and value > ZERO:
            errors[name] = POSITIVE_ON_REFUND
    if total == ZERO:
        errors["total"] = "Le total TTC ne peut pas être nul."
    elif net_premium + taxes != total:
        errors["total"] = (
            f"Le total TTC doit être égal à la prime nette plus les taxes "
            f"({fr_money(net_premium + taxes)})."
        )
    return errors


def fee_invoice_amount_errors(amount_ht: Decimal, vat_rate: Decimal) -> dict[str, str]:
    """French errors per field for a fee invoice's HT amount and VAT rate."""
    errors: dict[str, str] = {}
    if amount_ht == ZERO:
        errors["amount_ht"] = "Le montant HT ne peut pas être nul."
    elif problem := amount_error(amount_ht):
        errors["amount_ht"] = problem
    elif abs(amount_ht + vat_of(amount_ht, min(max(vat_rate, ZERO), HUNDRED))) > MAX_AMOUNT:
        errors["amount_ht"] = (
            f"Montant hors limites : le total TTC dépasserait {fr_money(MAX_AMOUNT)}."
        )
    if vat_rate < ZERO or vat_rate > HUNDRED:
        errors["vat_rate"] = "Le taux de TVA doit être compris entre 0 et 100 %."
    elif vat_rate != to_money(vat_rate):
        errors["vat_rate"] = "Le taux de TVA comporte au plus deux décimales."
    return errors


def total_change_error(new_total: Decimal, allocated: Decimal) -> str | None:
    """Refuse a total that the allocations already recorded would exceed."""
    if allocated == ZERO:
        return None
    if (new_total > ZERO) != (allocated > ZERO) or abs(allocated) > abs(new_total):
        return (
            f"Le total ne peut pas être inférieur au montant déjà affecté "
            f"({fr_money(allocated)}) : supprimez d'abord des affectations."
        )
    return None


def edit_blocked_reason(chorus_state: ChorusState, kind_label: str) -> str | None:
    """Why a document can no longer be changed (it is, or is being, sent to Chorus Pro)."""
    if chorus_state == ChorusState.IN_PROGRESS:
        return f"{kind_label} en cours de dématérialisation : modification impossible."
    if chorus_state == ChorusState.SENT:
        return f"{kind_label} déjà transmise à Chorus Pro : modification impossible."
    return None


# -- allocations -----------------------------------------------------------------------------------


def allocation_errors(
    amount: Decimal,
    *,
    document_total: Decimal,
    document_remaining: Decimal,
    payment_unallocated: Decimal,
    same_client: bool,
) -> list[str]:
    """French reasons to refuse allocating ``amount`` of a payment to a document.

    The amount carries the document's sign (a refund is settled by a negative allocation);
    it may not exceed what the document still owes nor what the payment has left.
    """
    errors: list[str] = []
    if not same_client:
        errors.append("Le document n'appartient pas au client de l'encaissement.")
    if amount == ZERO:
        errors.append("Le montant affecté ne peut pas être nul.")
        return errors
    if document_remaining == ZERO:
        errors.append("Ce document est déjà soldé : il ne reste rien à affecter.")
        return errors
    if (amount > ZERO) != (document_total > ZERO):
        errors.append(
            "Le montant affecté doit être du même signe que le total du document "
            f"({fr_money(document_total)})."
        )
        return errors
    if abs(amount) > abs(document_remaining):
        errors.append(
            f"Le montant affecté ({fr_money(amount)}) dépasse le reste à solder du document "
            f"({fr_money(document_remaining)})."
        )
    if (payment_unallocated > ZERO) != (amount > ZERO) or abs(amount) > abs(payment_unallocated):
        errors.append(
            f"Le montant affecté ({fr_money(amount)}) dépasse le montant non affecté de "
            f"l'encaissement ({fr_money(payment_unallocated)})."
        )
    return errors


def payment_amount_error(amount: Decimal, document_total: Decimal | None = None) -> str | None:
    """Why an encaissement's amount is refused; ``document_total``: the document it settles.

    A negative encaissement (money paid back) only settles a refund (negative total).
    """
    if amount == ZERO:
        return "Le montant de l'encaissement ne peut pas être nul."
    if problem := amount_error(amount):
        return problem
    if document_total is not None and amount < ZERO <= document_total:
        return (
            "Montant négatif réservé au remboursement d'un avoir (document à total négatif) : "
            "saisissez un montant positif."
        )
    return None


# -- credit notes (B10) ----------------------------------------------------------------------------


def refund_link_error(
    *,
    total: Decimal,
    original_total: Decimal,
    is_self: bool,
    same_contract: bool,
    same_client: bool,
    noun: str = "quittance",
) -> str | None:
    """Why a document may not be linked to this original (a refund refunds a positive one).

    The link makes the refund an ``AVOIR`` whose ``numeroFactureOrigine`` is the original's
    number in Chorus Pro, so it must point to a real premium (receipts) or invoice (fee
    invoices) of the same contract or client. ``noun``: ``quittance`` or ``facture``.
    """
    if is_self:
        return f"Une {noun} ne peut pas être sa propre {noun} d'origine."
    if total >= ZERO:
        return (
            f"Seul un remboursement (total TTC négatif) peut être rattaché à une {noun} d'origine."
        )
    if original_total <= ZERO:
        return f"La {noun} d'origine doit avoir un total positif : pas un remboursement."
    if not (same_contract or same_client):
        return f"La {noun} d'origine doit être du même contrat ou du même client."
    return None


# -- numbers and re-issue --------------------------------------------------------------------------

REISSUE_SUFFIX = re.compile(r"-R\d+$")
NOT_IN_CHORUS_NUMBERS = re.compile(r"[^A-Za-z0-9+_/-]+")  # see portal.chorus.limits


def reissue_number_candidates(number: str, *, max_length: int, count: int = 50) -> Iterator[str]:
    """New numbers to propose for the re-issue of ``number``: ``<base>-R1``, ``-R2``…

    ``base`` is the number without a previous ``-R<n>`` (a copy of a copy goes on counting)
    and with every run of characters Chorus Pro refuses made a ``-``, cut so that every
    candidate fits in ``max_length`` characters.
    """
    base = NOT_IN_CHORUS_NUMBERS.sub("-", REISSUE_SUFFIX.sub("", number) or number).strip("-")
    for index in range(1, count + 1):
        suffix = f"-R{index}"
        yield base[: max_length - len(suffix)] + suffix
