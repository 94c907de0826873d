"""SQL for the billing lists and lookups.

``receipts_query(filters)`` / ``fee_invoices_query(filters)`` return a ``Select`` of the
documents matching the filters, in list order. The same select serves the page (through
``paginate``) and, later, mass actions on "all N documents matching the filter"
(``select.with_only_columns(Receipt.id)``). Joins are added only when a filter or the sort
needs them, so the count and the page of ids stay cheap on large tables.

``paginate`` runs a fixed number of statements whatever the page size: one count, one query
for the page's ids (narrow, index-friendly even for deep pages), one query loading those
rows with their client, contract and company eagerly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, type_coerce
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.interfaces import ORMOption

from portal.billing.filters import (
    CHORUS_STATES,
    DocumentFilters,
    FeeInvoiceFilters,
    PaymentFilters,
    ReceiptFilters,
)
from portal.billing.models import Allocation, FeeInvoice, Payment, Receipt
from portal.db_types import Money
from portal.extensions import db
from portal.pagination import Page, clamp, page_count
from portal.portfolio.models import Client, Company, Contract
from portal.portfolio.queries import client_matches

T = TypeVar("T")


# -- pagination ------------------------------------------------------------------------------------


def count(query: Select[Any]) -> int:
    """Number of rows ``query`` returns (ordering dropped)."""
    entity = query.column_descriptions[0]["entity"]
    inner = query.order_by(None).with_only_columns(entity.id).subquery()
    return db.session.execute(select(func.count()).select_from(inner)).scalar_one()


def paginate(
    query: Select[Any], page: int, size: int, *, options: Sequence[ORMOption] = ()
) -> Page[Any]:
    """One page of ``query`` (a ``select(Entity)`` with its ordering), in three statements.

    A page past the end shows the last page.
    """
    total = count(query)
    page = clamp(page, page_count(total, size))
    entity = query.column_descriptions[0]["entity"]
    ids = list(
        db.session.execute(
            query.with_only_columns(entity.id).limit(size).offset((page - 1) * size)
        ).scalars()
    )
    items: list[Any] = []
    if ids:
        rows = db.session.execute(
            select(entity).where(entity.id.in_(ids)).options(*options)
        ).unique()
        by_id = {row.id: row for row in rows.scalars()}
        items = [by_id[i] for i in ids if i in by_id]
    return Page(items=items, total=total, page=page, size=size)


# -- documents -------------------------------------------------------------------------------------

RECEIPT_LOAD = (
    joinedload(Receipt.contract).joinedload(Contract.client),
    joinedload(Receipt.contract).joinedload(Contract.company),
)
FEE_INVOICE_LOAD = (
    joinedload(FeeInvoice.client),
    joinedload(FeeInvoice.contract),
    joinedload(FeeInvoice.company),
)


def _successor(text: str) -> str:
    """The smallest string greater than every string starting with ``text``."""
    last = ord(text[-1])
    return text[:-1] + chr(min(last + 1, 0x10FFFF))


def _prefix(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` starts with ``text`` as typed or in capitals (numbers are mostly capitals).

    SQLite's LIKE cannot use a BINARY index, but the equivalent range can; PostgreSQL
    keeps LIKE, which is exact whatever the database collation.
    """
    return _starts_with(column, list(dict.fromkeys([text, text.upper()])))


def _number_prefix(model: Any, text: str) -> ColumnElement[bool]:
    """The document's number starts with ``text`` whatever the case (``number_key`` is the
    database's ``lower(number)``, indexed): « q2025 » finds « Q2025000001 »."""
    return _starts_with(model.number_key, [text.lower()])


def _starts_with(column: Any, variants: list[str]) -> ColumnElement[bool]:
    if db.engine.dialect.name == "sqlite":
        return or_(*(and_(column >= v, column < _successor(v)) for v in variants))
    return or_(*(column.startswith(v, autoescape=True) for v in variants))


def _contract_ids(filters: DocumentFilters) -> Select[tuple[int]] | None:
    """Contracts selected by the client / contract / company filters, as a subquery.

    Filtering documents with ``contract_id IN (…)`` lets the database start from the few
    matching contracts instead of walking every document in list order.
    """
    conditions: list[ColumnElement[bool]] = []
    query = select(Contract.id)
    if filters.client_id is not None:
        conditions.append(Contract.client_id == filters.client_id)
    if filters.contract:
        conditions.append(_prefix(Contract.number, filters.contract))
    if filters.client:
        query = query.join(Contract.client)
        conditions.append(client_matches(filters.client))
    if not conditions:
        return None
    return query.where(*conditions)


def _common_conditions(model: Any, filters: DocumentFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.number:
        conditions.append(_number_prefix(model, filters.number))
    if filters.entered_from:
        conditions.append(model.entered_on >= filters.entered_from)
    if filters.entered_to:
        conditions.append(model.entered_on <= filters.entered_to)
    if filters.settled is True:
        conditions.append(model.is_settled)
    elif filters.settled is False:
        conditions.append(~model.is_settled)
    if filters.amount_min is not None:
        conditions.append(model.total >= type_coerce(filters.amount_min, Money))
    if filters.amount_max is not None:
        conditions.append(model.total <= type_coerce(filters.amount_max, Money))
    if filters.corrupted is not None:
        conditions.append(model.is_corrupted.is_(filters.corrupted))
    if filters.chorus_number is not None:
        conditions.append(model.chorus_invoice_id == filters.chorus_number)
    if filters.chorus_status in CHORUS_STATES:
        conditions.append(model.chorus_state == CHORUS_STATES[filters.chorus_status])
    elif filters.chorus_status:
        conditions.append(model.chorus_status == filters.chorus_status)
    if filters.contract_id is not None:
        conditions.append(model.contract_id == filters.contract_id)
    return conditions


def _order(model: Any, filters: DocumentFilters, columns: dict[str, Any]) -> list[Any]:
    column = columns[filters.sort_key]
    if filters.sort_descending:
        return [column.desc(), model.id.desc()]
    return [column.asc(), model.id.asc()]


def receipts_query(filters: ReceiptFilters) -> Select[tuple[Receipt]]:
    """Receipts matching ``filters``, in the list order (no limit)."""
    conditions = _common_conditions(Receipt, filters)
    if filters.period_from:
        conditions.append(Receipt.period_end_on >= filters.period_from)
    if filters.period_to:
        conditions.append(Receipt.period_start_on <= filters.period_to)
    contracts = _contract_ids(filters)
    if contracts is not None:
        conditions.append(Receipt.contract_id.in_(contracts))
    if filters.company_id is not None:
        conditions.append(
            Receipt.contract_id.in_(
                select(Contract.id).where(Contract.company_id == filters.company_id)
            )
        )
    query = select(Receipt)
    if filters.sort_key == "client":
        query = query.join(Receipt.contract).join(Contract.client)
    columns = {
        "number": Receipt.number,
        "entered_on": Receipt.entered_on,
        "period_start": Receipt.period_start_on,
        "client": Client.name,
        "total": Receipt.total,
    }
    return query.where(*conditions).order_by(*_order(Receipt, filters, columns))


def fee_invoices_query(filters: FeeInvoiceFilters) -> Select[tuple[FeeInvoice]]:
    """Fee invoices matching ``filters``, in the list order (no limit)."""
    conditions = _common_conditions(FeeInvoice, filters)
    if filters.client_id is not None:
        conditions.append(FeeInvoice.client_id == filters.client_id)
    if filters.client:
        conditions.append(
            FeeInvoice.client_id.in_(select(Client.id).where(client_matches(filters.client)))
        )
    if filters.contract:
        conditions.append(
            FeeInvoice.contract_id.in_(
                select(Contract.id).where(_prefix(Contract.number, filters.contract))
            )
        )
    if filters.company_id is not None:
        # The issuing company is the invoice's own, else its contract's.
        conditions.append(
            or_(
                FeeInvoice.company_id == filters.company_id,
                and_(
                    FeeInvoice.company_id.is_(None),
                    FeeInvoice.contract_id.in_(
                        select(Contract.id).where(Contract.company_id == filters.company_id)
                    ),
                ),
            )
        )
    query = select(FeeInvoice)
    if filters.sort_key == "client":
        query = query.join(FeeInvoice.client)
    columns = {
        "number": FeeInvoice.number,
        "entered_on": FeeInvoice.entered_on,
        "client": Client.name,
        "total": FeeInvoice.total,
    }
    return query.where(*conditions).order_by(*_order(FeeInvoice, filters, columns))


def receipts_page(filters: ReceiptFilters) -> Page[Receipt]:
    return paginate(receipts_query(filters), filters.page, filters.size, options=RECEIPT_LOAD)


def fee_invoices_page(filters: FeeInvoiceFilters) -> Page[FeeInvoice]:
    return paginate(
        fee_invoices_query(filters), filters.page, filters.size, options=FEE_INVOICE_LOAD
    )


def companies() -> list[Company]:
    return list(db.session.execute(select(Company).order_by(Company.name)).scalars())


def allocations_of(document: Receipt | FeeInvoice) -> list[Allocation]:
    """Allocations settling ``document``, oldest first, with their payment."""
    column = Allocation.receipt_id if isinstance(document, Receipt) else Allocation.fee_invoice_id
    return list(
        db.session.execute(
            select(Allocation)
            .where(column == document.id)
            .options(joinedload(Allocation.payment))
            .order_by(Allocation.created_at, Allocation.id)
        ).scalars()
    )


def number_taken(
    number: str, *, except_receipt: int | None = None, except_fee_invoice: int | None = None
) -> str | None:
    """Which kind of document already uses ``number`` ("receipt"/"fee_invoice"), if any.

    Receipts and fee invoices share one numbering, whatever the case: Chorus numbers are
    unique per supplier. ``number_key`` is the database's own ``lower(number)``.
    """
    key = func.lower(number)
    receipt_query = select(Receipt.id).where(Receipt.number_key == key)
    if except_receipt is not None:
        receipt_query = receipt_query.where(Receipt.id != except_receipt)
    if db.session.execute(receipt_query.limit(1)).first() is not None:
        return "receipt"
    invoice_query = select(FeeInvoice.id).where(FeeInvoice.number_key == key)
    if except_fee_invoice is not None:
        invoice_query = invoice_query.where(FeeInvoice.id != except_fee_invoice)
    if db.session.execute(invoice_query.limit(1)).first() is not None:
        return "fee_invoice"
    return None


def receipt_by_number(number: str) -> Receipt | None:
    """The receipt with this number whatever its case, with its contract (refund link, B10)."""
    return db.session.execute(
        select(Receipt).where(Receipt.number_key == func.lower(number)).options(*RECEIPT_LOAD)
    ).scalar_one_or_none()


def fee_invoice_by_number(number: str) -> FeeInvoice | None:
    """The fee invoice with this number whatever its case (credit-note link, B10)."""
    return db.session.execute(
        select(FeeInvoice)
        .where(FeeInvoice.number_key == func.lower(number))
        .options(*FEE_INVOICE_LOAD)
    ).scalar_one_or_none()


def contract_by_number(number: str) -> Contract | None:
    return db.session.execute(
        select(Contract)
        .where(Contract.number == number)
        .options(joinedload(Contract.client), joinedload(Contract.company))
    ).scalar_one_or_none()


def contracts_starting_with(text: str, limit: int = 15) -> list[Contract]:
    """Contracts whose number starts with ``text`` (form suggestions), with their client."""
    return list(
        db.session.execute(
            select(Contract)
            .where(_prefix(Contract.number, text))
            .options(joinedload(Contract.client))
            .order_by(Contract.number)
            .limit(limit)
        ).scalars()
    )


# -- lookup by number (payment entry) ------------------------------------------------------------


class LookupStatus(Enum):
    FOUND = "found"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Lookup:
    status: LookupStatus
    documents: tuple[Receipt | FeeInvoice, ...] = ()

    @property
    def document(self) -> Receipt | FeeInvoice | None:
        return self.documents[0] if self.status is LookupStatus.FOUND else None


def find_document_by_number(number: str, *, chorus: bool = False) -> Lookup:
    """The receipt or fee invoice the user means by ``number``.

    ``chorus=True`` (S16, "Il s'agit d'un n° interne CHORUS Pro") looks ``number`` up as the
    Chorus invoice id instead of the portal number.
    """
    text = number.strip()
    if not text:
        return Lookup(LookupStatus.NOT_FOUND)
    if chorus:
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return Lookup(LookupStatus.NOT_FOUND)
        receipt_match = Receipt.chorus_invoice_id == int(text)
        invoice_match = FeeInvoice.chorus_invoice_id == int(text)
    else:
        # One numbering whatever the case (``number_key``): « q2025… » finds « Q2025… ».
        receipt_match = Receipt.number_key == func.lower(text)
        invoice_match = FeeInvoice.number_key == func.lower(text)
    found: list[Receipt | FeeInvoice] = [
        *db.session.execute(select(Receipt).where(receipt_match).options(*RECEIPT_LOAD))
        .unique()
        .scalars(),
        *db.session.execute(select(FeeInvoice).where(invoice_match).options(*FEE_INVOICE_LOAD))
        .unique()
        .scalars(),
    ]
    if not found:
        return Lookup(LookupStatus.NOT_FOUND)
    if len(found) > 1:
        return Lookup(LookupStatus.AMBIGUOUS, tuple(found))
    return Lookup(LookupStatus.FOUND, tuple(found))


# -- payments --------------------------------------------------------------------------------------


def _allocated_sum() -> Any:
    return (
        select(func.coalesce(func.sum(Allocation.amount), 0))
        .where(Allocation.payment_id == Payment.id)
        .correlate(Payment)
        .scalar_subquery()
    )


def payments_query(filters: PaymentFilters) -> Select[tuple[Payment]]:
    """Payments matching ``filters``, most recent first."""
    conditions: list[ColumnElement[bool]] = []
    query = select(Payment)
    if filters.client:
        query = query.join(Payment.client)
        conditions.append(client_matches(filters.client))
    if filters.client_id is not None:
        conditions.append(Payment.client_id == filters.client_id)
    if filters.received_from:
        conditions.append(Payment.received_on >= filters.received_from)
    if filters.received_to:
        conditions.append(Payment.received_on <= filters.received_to)
    if filters.method:
        conditions.append(Payment.method == filters.method)
    if filters.unallocated is True:
        conditions.append(_allocated_sum() != Payment.amount)
    elif filters.unallocated is False:
        conditions.append(_allocated_sum() == Payment.amount)
    return query.where(*conditions).order_by(Payment.received_on.desc(), Payment.id.desc())


def payments_page(filters: PaymentFilters) -> Page[Payment]:
    return paginate(
        payments_query(filters),
        filters.page,
        filters.size,
        options=(joinedload(Payment.client), selectinload(Payment.allocations)),
    )


def payment(payment_id: int) -> Payment | None:
    """One payment with its client and allocations (and their documents)."""
    return db.session.execute(
        select(Payment)
        .where(Payment.id == payment_id)
        .options(
            joinedload(Payment.client),
            selectinload(Payment.allocations).joinedload(Allocation.receipt),
            selectinload(Payment.allocations).joinedload(Allocation.fee_invoice),
        )
    ).scalar_one_or_none()


def open_documents_of_client(client_id: int) -> list[Receipt | FeeInvoice]:
    """The client's documents not yet settled (receipts through their contract), by date."""
    receipts = (
        db.session.execute(
            select(Receipt)
            .join(Receipt.contract)
            .where(Contract.client_id == client_id, ~Receipt.is_settled)
            .options(*RECEIPT_LOAD)
            .order_by(Receipt.entered_on, Receipt.id)
        )
        .unique()
        .scalars()
    )
    invoices = (
        db.session.execute(
            select(FeeInvoice)
            .where(FeeInvoice.client_id == client_id, ~FeeInvoice.is_settled)
            .options(*FEE_INVOICE_LOAD)
            .order_by(FeeInvoice.entered_on, FeeInvoice.id)
        )
        .unique()
        .scalars()
    )
    documents: list[Receipt | FeeInvoice] = [*receipts, *invoices]
    documents.sort(key=lambda d: (d.entered_on, d.kind_label, d.id))
    return documents
