"""Settlement help (B2): documents Chorus Pro says are paid, settled in one step.

- ``to_settle_page`` lists receipts and fee invoices whose Chorus status is
  ``MISE_EN_PAIEMENT`` and that are not settled (the "À solder" page);
- ``settle`` records, in one transaction, one encaissement per client (and per direction:
  a refund is never netted with an invoice) with one affectation per document, each for
  the document's remaining amount;
- ``settle_automatically`` does the same for one document when the status arrives and the
  optional setting is on: the payment is marked automatic (``Payment.is_automatic``) and
  ``cancel_automatic`` removes it with its affectation.

A document is never settled twice: every document row is locked (``FOR UPDATE`` on
PostgreSQL) and its remaining amount read again under the lock before anything is written;
``allocate`` checks it once more. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, type_coerce
from sqlalchemy.orm import joinedload, selectinload

from portal.auth.models import User
from portal.billing import queries, services
from portal.billing.models import ZERO, Allocation, FeeInvoice, Payment, PaymentMethod, Receipt
from portal.chorus.statuses import PAID_STATUS
from portal.clock import to_paris, today
from portal.db_types import Money
from portal.extensions import db
from portal.formatting import fr_money
from portal.portfolio.models import Contract
from portal.validators import ValidationFailed

Document = Receipt | FeeInvoice
# The same kind of document comes back (a Receipt for a Receipt).
LockedDocument = TypeVar("LockedDocument", bound=Document)

AUTOMATIC_REFERENCE = "Chorus Pro {}"
MAX_REFERENCE = 120


# -- what is left to settle ----------------------------------------------------------------------


def _to_settle(model: Any) -> Select[Any]:
    return select(model).where(model.chorus_status == PAID_STATUS, ~model.is_settled)


def _oldest_to_settle(
    model: type[LockedDocument], load: Sequence[Any], limit: int
) -> list[LockedDocument]:
    """The ``limit`` documents of ``model`` to settle entered first, loaded with ``load``."""
    statement = _to_settle(model).options(*load).order_by(model.entered_on, model.id)
    return list(db.session.scalars(statement.limit(limit)).unique())


def is_to_settle(document: Document) -> bool:
    """Chorus says it is paid, the portal says it is not settled."""
    return document.chorus_status == PAID_STATUS and not document.is_settled


@dataclass(frozen=True)
class ToSettle:
    """The "À solder" list: both document types, and their totals."""

    receipts: list[Receipt]
    fee_invoices: list[FeeInvoice]
    count: int
    remaining: Decimal

    @property
    def documents(self) -> list[Document]:
        rows: list[Document] = [*self.receipts, *self.fee_invoices]
        rows.sort(key=lambda d: (d.entered_on, d.kind_label, d.id))
        return rows


def to_settle(limit: int = 500) -> ToSettle:
    """Documents in ``MISE_EN_PAIEMENT`` not settled (at most ``limit`` of each type).

    The status column is indexed and the set is small by nature (documents leave it once
    settled): four statements whatever the size.
    """
    receipts = _oldest_to_settle(Receipt, queries.RECEIPT_LOAD, limit)
    invoices = _oldest_to_settle(FeeInvoice, queries.FEE_INVOICE_LOAD, limit)
    count = 0
    remaining = ZERO
    for model in (Receipt, FeeInvoice):
        number, amount = db.session.execute(
            select(
                func.count(),
                type_coerce(
                    func.coalesce(func.sum(model.total - model.allocated_amount), 0), Money
                ),
            ).where(model.chorus_status == PAID_STATUS, ~model.is_settled)
        ).one()
        count += number
        remaining += amount
    return ToSettle(receipts, invoices, count, remaining)


# -- settling ------------------------------------------------------------------------------------


def _lock(document: LockedDocument) -> LockedDocument:
    """The document re-read under a row lock (concurrent settlements queue up)."""
    model = type(document)
    return db.session.execute(
        select(model)
        .where(model.id == document.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _client_id(document: Document) -> int:
    return document.contract.client_id if isinstance(document, Receipt) else document.client_id


def _reference(documents: Sequence[Document]) -> str:
    ids = [str(d.chorus_invoice_id) for d in documents if d.chorus_invoice_id]
    text = AUTOMATIC_REFERENCE.format(", ".join(ids)) if ids else "Chorus Pro"
    return text if len(text) <= MAX_REFERENCE else text[: MAX_REFERENCE - 1] + "…"


def settle(
    chosen: Sequence[Document],
    *,
    received_on: date,
    user: User | None,
    method: PaymentMethod = PaymentMethod.VIREMENT,
) -> list[Payment]:
    """Settle the chosen documents in one step: payments and affectations, all or nothing.

    Each document must still be in ``MISE_EN_PAIEMENT`` and not settled (re-read under its
    row lock); otherwise ``ValidationFailed`` names it and nothing is written (the caller
    rolls back). One payment per client and direction, for the sum of the remaining amounts.
    """
    if not chosen:
        raise ValidationFailed("Sélectionnez au moins un document à solder.")
    locked: list[Document] = []
    problems: list[str] = []
    seen: set[tuple[type, int]] = set()
    # A fixed order: concurrent settlements lock rows in the same sequence (no deadlock),
    # and payments come out grouped the same way however the documents were listed.
    ordered = sorted(
        chosen, key=lambda d: (_client_id(d), d.chorus_invoice_id or 0, type(d).__name__, d.id)
    )
    for document in ordered:
        key = (type(document), document.id)
        if key in seen:
            continue
        seen.add(key)
        current = _lock(document)
        if current.is_settled:
            problems.append(f"{current.kind_label} {current.number} est déjà soldée.")
        elif current.chorus_status != PAID_STATUS:
            problems.append(
                f"{current.kind_label} {current.number} n'est plus au statut « Mise en "
                "paiement » dans Chorus Pro."
            )
        else:
            locked.append(current)
    if problems:
        raise ValidationFailed(" ".join(problems) + " Rien n'a été enregistré.")

    groups: dict[tuple[int, bool], list[Document]] = {}
    for document in locked:
        groups.setdefault((_client_id(document), document.total > ZERO), []).append(document)
    payments = []
    for (client_id, _positive), group in groups.items():
        amount = sum((d.remaining_amount for d in group), ZERO)
        payment = Payment(
            client_id=client_id,
            received_on=received_on,
            amount=amount,
            method=method,
            reference=_reference(group),
            created_by_id=user.id if user is not None else None,
        )
        db.session.add(payment)
        db.session.flush()
        services.allocate(payment, [services.Part(d, d.remaining_amount) for d in group])
        payments.append(payment)
    return payments


def settle_automatically(document: Document, *, status_at: datetime | None) -> Payment | None:
    """B2 automatic settlement of one document put in payment; None when nothing is owed.

    The payment is a virement received on the status date (never later than today),
    referenced "Chorus Pro <N° Chorus>" and marked automatic so it can be listed and
    cancelled.
    """
    current = _lock(document)
    if current.is_settled or current.remaining_amount == ZERO:
        return None
    received_on = today()
    if status_at is not None:
        received_on = min(to_paris(status_at).date(), received_on)
    payment = Payment(
        client_id=_client_id(current),
        received_on=received_on,
        amount=current.remaining_amount,
        method=PaymentMethod.VIREMENT,
        reference=_reference([current]),
        is_automatic=True,
    )
    db.session.add(payment)
    db.session.flush()
    services.allocate(payment, [services.Part(current, current.remaining_amount)])
    return payment


def cancel_automatic(payment: Payment) -> list[Document]:
    """Remove an automatic payment and its affectations; returns the documents reopened.

    Only automatic payments: a payment entered by someone is deleted from its own page.
    """
    if not payment.is_automatic:
        raise ValidationFailed(
            "Seuls les encaissements créés automatiquement peuvent être annulés ici."
        )
    reopened = [allocation.document for allocation in payment.allocations]
    services.delete_payment(payment)
    return reopened


# -- automatic payments --------------------------------------------------------------------------


def automatic_payments_page(page: int, size: int = 25) -> queries.Page[Payment]:
    """Automatic payments, newest first, with their client and affectations."""
    query = (
        select(Payment)
        .where(Payment.is_automatic)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    return queries.paginate(
        query,
        page,
        size,
        options=(
            joinedload(Payment.client),
            selectinload(Payment.allocations)
            .joinedload(Allocation.receipt)
            .joinedload(Receipt.contract)
            .joinedload(Contract.client),
            selectinload(Payment.allocations).joinedload(Allocation.fee_invoice),
        ),
    )


def automatic_payment(payment_id: int) -> Payment | None:
    """One automatic payment with its affectations (None if absent or not automatic)."""
    payment = queries.payment(payment_id)
    return payment if payment is not None and payment.is_automatic else None


def describe(payments: Sequence[Payment]) -> str:
    """French summary of payments just recorded (flash message)."""
    total = sum((p.amount for p in payments), ZERO)
    documents = sum(len(p.allocations) for p in payments)
    return (
        f"{documents} document(s) soldé(s) : {len(payments)} encaissement(s) pour "
        f"{fr_money(total)}."
    )
