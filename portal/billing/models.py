"""Receipts (quittances), fee invoices (factures d'honoraires), payments and allocations."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Computed,
    ForeignKey,
    Index,
    String,
    Text,
    case,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.db_types import AwareDateTime, EnumText, Money
from portal.extensions import db
from portal.models_base import ChorusTracked, StoredPdf
from portal.portfolio.models import Client, Company, Contract

ZERO = Decimal("0.00")


# One supplier numbering space in Chorus Pro, whatever the case: ``number_key`` is the number
# in lower case, computed by the database itself (it can never drift from ``number``, even
# when rows are written without the ORM) and unique per table. Across the two tables the
# billing services check it (``queries.number_taken``). SQLite lowers ASCII letters only,
# PostgreSQL every letter: the numbers Chorus Pro can take are ASCII (``chorus.limits``).
NUMBER_KEY = "lower(number)"


class SettlementMixin:
    """A document is *soldé* when its allocations reach its total (refunds: negative totals).

    ``allocated_amount`` is kept up to date by the allocation service in the same transaction,
    so lists can filter on settlement without aggregating allocations.
    """

    # Typed as the subclasses map them (a column on the class, a Decimal on a row), so the
    # hybrid's SQL expression type-checks; at run time the mixin declares nothing.
    if TYPE_CHECKING:
        total: Mapped[Decimal]
        allocated_amount: Mapped[Decimal]

    @property
    def remaining_amount(self) -> Decimal:
        return self.total - self.allocated_amount

    @hybrid_property
    def is_settled(self) -> bool:
        if self.total >= ZERO:
            return self.allocated_amount >= self.total
        return self.allocated_amount <= self.total

    @is_settled.inplace.expression
    @classmethod
    def _is_settled_expression(cls) -> ColumnElement[bool]:
        return case(
            (cls.total >= ZERO, cls.allocated_amount >= cls.total),
            else_=cls.allocated_amount <= cls.total,
        )


class Receipt(SettlementMixin, ChorusTracked, StoredPdf, db.Model):  # type: ignore[name-defined,misc]
    """Quittance: what the client owes for a period. Its PDF is the avis d'échéance."""

    __tablename__ = "receipts"
    __table_args__ = (
        Index("ix_receipts_contract_entered", "contract_id", "entered_on"),
        # The list's indexes are covering (measured with bench/lists.py on 100,000 rows):
        # the default order (entered_on, id) streams through ix_receipts_entered_on, and
        # filters on period, amount, settlement, corruption or contract are checked inside
        # the index without reading table rows; deep pages skip index entries only.
        Index(
            "ix_receipts_entered_on",
            "entered_on",
            "id",
            "period_start_on",
            "period_end_on",
            "contract_id",
            "total",
            "allocated_amount",
            "is_corrupted",
        ),
        Index("ix_receipts_period_start", "period_start_on", "period_end_on"),
        Index("ix_receipts_total", "total", "entered_on", "id"),
        # Daily run (S14): per Chorus contract, only the documents not yet sent and entered
        # after the cut-off; on SQLite 3-5x faster than (contract_id, entered_on), which
        # also reads the many already-sent rows (bench/daily.py, 200,000 receipts).
        Index("ix_receipts_contract_chorus_entered", "contract_id", "chorus_state", "entered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    number_key: Mapped[str] = mapped_column(String(40), Computed(NUMBER_KEY), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    period_start_on: Mapped[date] = mapped_column()
    period_end_on: Mapped[date] = mapped_column()
    entered_on: Mapped[date] = mapped_column()
    net_premium: Mapped[Decimal] = mapped_column(Money)
    taxes: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    allocated_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    is_corrupted: Mapped[bool] = mapped_column(default=False)
    corruption_reason: Mapped[str | None] = mapped_column(Text)
    # B10: a refund may reference the receipt it refunds.
    original_receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    # Re-issued under a new number after a Chorus REJETEE: the copy that replaces this one.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    contract: Mapped[Contract] = relationship()
    original_receipt: Mapped[Receipt | None] = relationship(
        remote_side=[id], foreign_keys=[original_receipt_id]
    )
    replaced_by: Mapped[Receipt | None] = relationship(
        remote_side=[id], foreign_keys=[replaced_by_id], back_populates="replaces"
    )
    replaces: Mapped[Receipt | None] = relationship(
        foreign_keys=[replaced_by_id], back_populates="replaced_by", uselist=False
    )

    @property
    def client(self) -> Client:
        return self.contract.client

    @property
    def is_refund(self) -> bool:
        return self.total < ZERO

    @property
    def kind_label(self) -> str:
        return "Quittance"


class FeeInvoice(SettlementMixin, ChorusTracked, StoredPdf, db.Model):  # type: ignore[name-defined,misc]
    """Facture d'honoraires: the broker's own fee, with VAT (0 % allowed)."""

    __tablename__ = "fee_invoices"
    __table_args__ = (
        Index("ix_fee_invoices_entered_on", "entered_on"),
        # Daily run (S14): not yet sent, entered in (cut-off, run date + delay] (bench/daily.py).
        Index("ix_fee_invoices_chorus_entered", "chorus_state", "entered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    number_key: Mapped[str] = mapped_column(String(40), Computed(NUMBER_KEY), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    # The issuing company (printed on the invoice); optional when the contract gives it.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="Honoraires de courtage")
    entered_on: Mapped[date] = mapped_column()
    amount_ht: Mapped[Decimal] = mapped_column(Money)
    # Percent with two decimals (20.00 = 20 %), stored like money as an exact fixed point.
    vat_rate: Mapped[Decimal] = mapped_column(Money)
    vat_amount: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money, index=True)
    allocated_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    is_corrupted: Mapped[bool] = mapped_column(default=False)
    corruption_reason: Mapped[str | None] = mapped_column(Text)
    # B10: a credit note (negative total) may reference the invoice it cancels.
    original_fee_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("fee_invoices.id"))
    # Re-issued under a new number after a Chorus REJETEE: the copy that replaces this one.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("fee_invoices.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    client: Mapped[Client] = relationship()
    contract: Mapped[Contract | None] = relationship()
    company: Mapped[Company | None] = relationship()
    original_fee_invoice: Mapped[FeeInvoice | None] = relationship(
        remote_side=[id], foreign_keys=[original_fee_invoice_id]
    )
    replaced_by: Mapped[FeeInvoice | None] = relationship(
        remote_side=[id], foreign_keys=[replaced_by_id], back_populates="replaces"
    )
    replaces: Mapped[FeeInvoice | None] = relationship(
        foreign_keys=[replaced_by_id], back_populates="replaced_by", uselist=False
    )

    @property
    def issuing_company(self) -> Company | None:
        """The company chosen on the invoice, else the contract's company."""
        if self.company is not None:
            return self.company
        return self.contract.company if self.contract is not None else None

    @property
    def is_refund(self) -> bool:
        return self.total < ZERO

    @property
    def kind_label(self) -> str:
        return "Facture d'honoraires"


class PaymentMethod(enum.StrEnum):
    VIREMENT = "virement"
    CHEQUE = "cheque"
    PRELEVEMENT = "prelevement"
    CARTE = "carte"
    ESPECES = "especes"

    @property
    def label(self) -> str:
        return PAYMENT_METHOD_LABELS[self]


PAYMENT_METHOD_LABELS = {
    PaymentMethod.VIREMENT: "Virement",
    PaymentMethod.CHEQUE: "Chèque",
    PaymentMethod.PRELEVEMENT: "Prélèvement",
    PaymentMethod.CARTE: "Carte bancaire",
    PaymentMethod.ESPECES: "Espèces",
}


class Payment(db.Model):  # type: ignore[name-defined,misc]
    """Encaissement: money received from a client, allocated to documents."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    received_on: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[PaymentMethod] = mapped_column(EnumText(PaymentMethod, 20))
    reference: Mapped[str] = mapped_column(String(120), default="")
    # B2: payments recorded automatically from a Chorus MISE_EN_PAIEMENT status.
    is_automatic: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    client: Mapped[Client] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )

    @property
    def allocated_amount(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)

    @property
    def unallocated_amount(self) -> Decimal:
        return self.amount - self.allocated_amount


class Allocation(db.Model):  # type: ignore[name-defined,misc]
    """Affectation: part of a payment assigned to exactly one receipt or fee invoice."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint(
            "(receipt_id IS NULL) <> (fee_invoice_id IS NULL)", name="exactly_one_document"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    fee_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("fee_invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    receipt: Mapped[Receipt | None] = relationship()
    fee_invoice: Mapped[FeeInvoice | None] = relationship()

    @property
    def document(self) -> Receipt | FeeInvoice:
        document = self.receipt or self.fee_invoice
        if document is None:  # excluded by the check constraint
            raise LookupError(f"allocation {self.id} has no document")
        return document
