"""Pure billing rules: amounts, VAT, allocation limits (no database)."""

from __future__ import annotations

from decimal import Decimal as D

from portal.billing import rules


def test_receipt_amounts_must_add_up():
    assert rules.receipt_amount_errors(D("100"), D("9"), D("109")) == {}
    errors = rules.receipt_amount_errors(D("100"), D("9"), D("110"))
    assert "prime nette plus les taxes" in errors["total"]


def test_a_refund_receipt_may_be_negative_but_not_zero():
    assert rules.receipt_amount_errors(D("-100"), D("-9"), D("-109")) == {}
    assert "nul" in rules.receipt_amount_errors(D("0"), D("0"), D("0"))["total"]


def test_vat_is_rounded_half_up_to_the_cent():
    assert rules.vat_of(D("10.05"), D("5.5")) == D("0.55")  # 0.55275
    assert rules.vat_of(D("0.25"), D("10")) == D("0.03")  # 0.025 → 0.03 (half up)
    assert rules.fee_invoice_amounts(D("500"), D("20")) == (D("100.00"), D("600.00"))
    assert rules.fee_invoice_amounts(D("500"), D("0")) == (D("0.00"), D("500.00"))


def test_vat_rate_must_be_between_0_and_100():
    assert rules.fee_invoice_amount_errors(D("100"), D("0")) == {}
    assert rules.fee_invoice_amount_errors(D("100"), D("100")) == {}
    assert "entre 0 et 100" in rules.fee_invoice_amount_errors(D("100"), D("100.01"))["vat_rate"]
    assert "entre 0 et 100" in rules.fee_invoice_amount_errors(D("100"), D("-1"))["vat_rate"]
    assert "nul" in rules.fee_invoice_amount_errors(D("0"), D("20"))["amount_ht"]


def _allocation(
    amount: str,
    total: str = "100",
    remaining: str = "100",
    unallocated: str = "100",
    same_client: bool = True,
) -> list[str]:
    return rules.allocation_errors(
        D(amount),
        document_total=D(total),
        document_remaining=D(remaining),
        payment_unallocated=D(unallocated),
        same_client=same_client,
    )


def test_an_allocation_within_both_limits_is_accepted():
    assert _allocation("60", remaining="60", unallocated="80") == []


def test_over_allocating_a_document_is_refused():
    assert any("reste à solder" in e for e in _allocation("60.01", remaining="60"))


def test_allocating_more_than_the_payment_has_left_is_refused():
    assert any("non affecté" in e for e in _allocation("50", unallocated="49.99"))


def test_an_allocation_must_be_non_zero_and_carry_the_document_sign():
    assert any("nul" in e for e in _allocation("0"))
    assert any("même signe" in e for e in _allocation("-10"))
    refund = _allocation("-10", total="-100", remaining="-100", unallocated="-50")
    assert refund == []


def test_an_allocation_to_another_clients_document_is_refused():
    assert any("client" in e for e in _allocation("10", same_client=False))


def test_a_total_cannot_drop_below_what_is_already_allocated():
    assert rules.total_change_error(D("100"), D("100")) is None
    assert rules.total_change_error(D("50"), D("0")) is None
    assert "déjà affecté" in rules.total_change_error(D("99.99"), D("100"))
    assert "déjà affecté" in rules.total_change_error(D("-100"), D("100"))
