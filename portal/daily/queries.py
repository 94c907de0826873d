"""The daily run's reads: the due selection, its preview (B6), the run's history.

``due_select`` is the run's selection: the SQL twin of ``rules.is_due`` (``due_condition``)
with the eligibility columns of ``portal.sending.queries``. The run (``due_documents``) and the
preview (``preview_counts``, ``preview``) read that very select, so they cannot disagree.

Performance (PostgreSQL, 200,000 receipts, 20,000 fee invoices, 10,000 contracts): the due
selection takes 50-120 ms; PostgreSQL prefers one sequential scan of ``receipts`` whatever the
share of Chorus-enabled contracts (2 % or 15 %). SQLite walks the Chorus-enabled contracts
instead, then ``ix_receipts_contract_chorus_entered`` / ``ix_fee_invoices_chorus_entered``
(not sent, entered after the cut-off): about 150 ms instead of 350-600 ms with
``ix_receipts_contract_entered`` alone (``bench/daily.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from portal.billing.models import FeeInvoice, Receipt
from portal.daily.rules import AUTOMATIC_TRIGGERS, DAILY_TASK, NO_CUTOFF, Delays, claim_key
from portal.db_types import EnumText
from portal.dematerialization.documents import Document
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.jobs import executions
from portal.jobs.models import TaskExecution
from portal.models_base import ChorusState
from portal.pagination import PageNumbers, clamp, page_count
from portal.portfolio.models import Client, Contract, Term
from portal.sending.queries import (
    ELIGIBLE,
    DocumentModel,
    eligibility_from_row,
    eligibility_joins,
    reason_columns,
)
from portal.sending.rules import Eligibility
from portal.settings.chorus import ChorusSettings

# -- the due selection (S3, S4, S14), shared by the run and the preview ----------------------------


def due_select(run_on: date, settings: ChorusSettings) -> Any:
    if settings.cutoff_date is None:
        raise ValueError(NO_CUTOFF)
    return due_documents_select(
        today=run_on,
        delays=Delays.from_settings(settings),
        cutoff=settings.cutoff_date,
        chorus_enabled=settings.enabled,
        has_vat_exemption_code=settings.vat_exemption_code is not None,
    )


def due_documents_select(
    *,
    today: date,
    delays: Delays,
    cutoff: date,
    chorus_enabled: bool = True,
    has_vat_exemption_code: bool,
) -> Select[Any]:
    """Receipts and fee invoices the automatic run picks tonight, with their eligibility.

    Rows: ``document_type``, ``document_id``, ``number``, ``entered_on``, ``effective_on``,
    one boolean per blocking reason code, the notes (``B3_NOT_CHECKED``…) and ``eligible``;
    ordered by effective date then type and id. Due but ineligible rows are the run's
    "skipped" (S14); the B6 preview reads the same select.
    """
    receipts, invoices = (
        _due_select(
            model,
            today=today,
            delays=delays,
            cutoff=cutoff,
            chorus_enabled=chorus_enabled,
            has_vat_exemption_code=has_vat_exemption_code,
        )
        for model in (Receipt, FeeInvoice)
    )
    combined = union_all(receipts, invoices).subquery("due_documents")
    return select(combined).order_by(
        combined.c.effective_on, combined.c.document_type, combined.c.document_id
    )


def _due_select(
    model: DocumentModel,
    *,
    today: date,
    delays: Delays,
    cutoff: date,
    chorus_enabled: bool,
    has_vat_exemption_code: bool,
) -> Select[Any]:
    document_type = DocumentType.RECEIPT if model is Receipt else DocumentType.FEE_INVOICE
    return (
        select(
            literal(document_type, EnumText(DocumentType, 20)).label("document_type"),
            model.id.label("document_id"),
            model.number.label("number"),
            model.entered_on.label("entered_on"),
            effective_date_expression(model).label("effective_on"),
            *reason_columns(
                model,
                chorus_enabled=chorus_enabled,
                has_vat_exemption_code=has_vat_exemption_code,
                all_codes=True,
            ),
        )
        .select_from(eligibility_joins(model))
        .where(due_condition(model, today=today, delays=delays, cutoff=cutoff))
    )


def due_condition(
    model: DocumentModel, *, today: date, delays: Delays, cutoff: date
) -> ColumnElement[bool]:
    """SQL twin of ``rules.is_due`` (needs ``Contract`` joined).

    ``effective − delay <= today`` is written ``effective <= today + delay`` so the bound is
    a parameter and no date arithmetic happens in SQL (portable, and index-friendly).
    """
    delay = delays.receipts_days if model is Receipt else delays.fee_invoices_days
    limit = today + timedelta(days=delay)
    return and_(
        model.chorus_state == ChorusState.NOT_SENT,
        Contract.is_chorus_enabled.is_(True),
        model.entered_on > cutoff,
        effective_date_expression(model) <= limit,
    )


def effective_date_expression(model: DocumentModel) -> ColumnElement[date]:
    """SQL twin of ``rules.effective_date`` (needs ``Contract`` joined for receipts)."""
    if model is Receipt:
        return case(
            (Contract.term == Term.ARREARS, Receipt.period_end_on),
            else_=Receipt.period_start_on,
        )
    return FeeInvoice.entered_on.expression


def due_documents(run_on: date, settings: ChorusSettings) -> list[Document]:
    """The documents the run picks, loaded with what the send needs (no N+1)."""
    rows = db.session.execute(due_select(run_on, settings)).all()
    wanted = {DocumentType.RECEIPT: [], DocumentType.FEE_INVOICE: []}  # type: dict[DocumentType, list[int]]
    for row in rows:
        wanted[row.document_type].append(row.document_id)
    loaded: dict[tuple[DocumentType, int], Document] = {}
    for chunk in _chunks(wanted[DocumentType.RECEIPT]):
        for receipt in db.session.scalars(
            select(Receipt)
            .where(Receipt.id.in_(chunk))
            .options(joinedload(Receipt.contract).joinedload(Contract.client))
        ):
            loaded[(DocumentType.RECEIPT, receipt.id)] = receipt
    for chunk in _chunks(wanted[DocumentType.FEE_INVOICE]):
        for invoice in db.session.scalars(
            select(FeeInvoice)
            .where(FeeInvoice.id.in_(chunk))
            .options(joinedload(FeeInvoice.client), joinedload(FeeInvoice.contract))
        ):
            loaded[(DocumentType.FEE_INVOICE, invoice.id)] = invoice
    return [loaded[(r.document_type, r.document_id)] for r in rows]


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# -- the preview (B6) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    document_type: DocumentType
    document_id: int
    number: str
    client_id: int | None
    client_name: str
    entered_on: date
    effective_on: date
    eligibility: Eligibility


@dataclass(frozen=True)
class PreviewCounts:
    """How many due documents the run would send and skip, per type."""

    to_send: dict[DocumentType, int]
    to_skip: dict[DocumentType, int]

    @property
    def total_to_send(self) -> int:
        return sum(self.to_send.values())

    @property
    def total_to_skip(self) -> int:
        return sum(self.to_skip.values())

    def total(self, document_type: DocumentType) -> int:
        return self.to_send[document_type] + self.to_skip[document_type]


@dataclass(frozen=True)
class PreviewPage(PageNumbers):
    run_on: date
    document_type: DocumentType
    rows: list[PreviewRow]
    total: int
    page: int
    pages: int
    size: int


def preview_counts(run_on: date, settings: ChorusSettings) -> PreviewCounts:
    """B6: per type, how many due documents the run of ``run_on`` would send and skip."""
    selection = due_select(run_on, settings).subquery()
    eligible = selection.c[ELIGIBLE]
    counts = db.session.execute(
        select(selection.c.document_type, eligible, func.count()).group_by(
            selection.c.document_type, eligible
        )
    ).all()
    to_send = dict.fromkeys(DocumentType, 0)
    to_skip = dict.fromkeys(DocumentType, 0)
    for document_type, is_eligible, count in counts:
        target = to_send if is_eligible else to_skip
        target[document_type] += count
    return PreviewCounts(to_send, to_skip)


def preview(
    run_on: date,
    settings: ChorusSettings,
    document_type: DocumentType,
    *,
    page: int = 1,
    size: int = 50,
    total: int | None = None,
) -> PreviewPage:
    """B6: one page of the documents of one type the run of ``run_on`` picks.

    Read from the run's own selection (``due_select``): those to send first, then those it
    would skip with their reasons; each group by effective date. ``total`` (from
    ``preview_counts``) spares a count.
    """
    selection = due_select(run_on, settings).subquery()
    of_type = selection.c.document_type == document_type
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(selection).where(of_type)) or 0
    pages = page_count(total, size)
    page = clamp(page, pages)
    rows = db.session.execute(
        select(selection)
        .where(of_type)
        .order_by(
            selection.c[ELIGIBLE].desc(),
            selection.c.effective_on,
            selection.c.document_id,
        )
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    clients = _clients_of(document_type, [row.document_id for row in rows])
    return PreviewPage(
        run_on=run_on,
        document_type=document_type,
        rows=[
            PreviewRow(
                document_type,
                row.document_id,
                row.number,
                clients.get(row.document_id, (None, ""))[0],
                clients.get(row.document_id, (None, ""))[1],
                row.entered_on,
                row.effective_on,
                eligibility_from_row(row),
            )
            for row in rows
        ],
        total=total,
        page=page,
        pages=pages,
        size=size,
    )


def _clients_of(document_type: DocumentType, ids: list[int]) -> dict[int, tuple[int, str]]:
    """Document id → (client id, client name) for one page (one query)."""
    if not ids:
        return {}
    if document_type is DocumentType.RECEIPT:
        query = (
            select(Receipt.id, Client.id, Client.name)
            .join(Contract, Receipt.contract_id == Contract.id)
            .join(Client, Contract.client_id == Client.id)
            .where(Receipt.id.in_(ids))
        )
    else:
        query = (
            select(FeeInvoice.id, Client.id, Client.name)
            .join(Client, FeeInvoice.client_id == Client.id)
            .where(FeeInvoice.id.in_(ids))
        )
    return {
        document_id: (client_id, name) for document_id, client_id, name in db.session.execute(query)
    }


# -- the day's executions --------------------------------------------------------------------------


def day_run(day: date) -> TaskExecution | None:
    """The execution that ran ``day`` (it holds the day's claim), with its job and person."""
    return executions.holder(claim_key(day))


def claimed(day: date) -> bool:
    """Has ``day`` been claimed by a run (started or finished, not failed)?"""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(TaskExecution)
            .where(TaskExecution.claim_key == claim_key(day))
        )
    )


def automatic_attempt(day: date) -> bool:
    """Did the schedule (19:00 or catch-up) already fire for ``day``, whatever the outcome?"""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(TaskExecution)
            .where(
                TaskExecution.task == DAILY_TASK,
                TaskExecution.run_on == day,
                TaskExecution.trigger.in_(AUTOMATIC_TRIGGERS),
            )
        )
    )


@dataclass(frozen=True)
class HistoryPage(PageNumbers):
    executions: list[TaskExecution]
    total: int
    page: int
    pages: int


def history(page: int = 1, size: int = 10) -> HistoryPage:
    """Executions of the daily task, newest first, with their jobs (one page)."""
    total = (
        db.session.scalar(
            select(func.count()).select_from(TaskExecution).where(TaskExecution.task == DAILY_TASK)
        )
        or 0
    )
    pages = page_count(total, size)
    page = clamp(page, pages)
    executions = db.session.scalars(
        select(TaskExecution)
        .where(TaskExecution.task == DAILY_TASK)
        .options(selectinload(TaskExecution.job), selectinload(TaskExecution.started_by))
        .order_by(TaskExecution.started_at.desc(), TaskExecution.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return HistoryPage(list(executions), total, page, pages)
