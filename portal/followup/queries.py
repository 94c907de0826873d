"""What the follow-up reads from the database (B1): stored histories, documents to read.

``follow_up`` gathers what a document's status box shows; ``candidates`` is the selection of
a run (every sent document whose status may still change, ``not_final_condition`` being the
SQL twin of ``rules.is_final``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, select, union_all

from portal.billing.models import FeeInvoice, Receipt
from portal.chorus.statuses import RETURNED_STATUSES
from portal.db_types import EnumText
from portal.dematerialization import playbook
from portal.dematerialization.documents import Document
from portal.dematerialization.models import ChorusStatusEvent, DocumentType, RecipientStructure
from portal.extensions import db
from portal.followup.rules import ALWAYS_FINAL, MANDATED_OR_LATER, is_final
from portal.jobs.models import UNFINISHED_ITEM_STATES, Job, JobItem, JobKind
from portal.models_base import ChorusState
from portal.portfolio.models import Client, Contract

# -- one document (the status box) -------------------------------------------------------------


def history_of(document_type: DocumentType | str, document_id: int) -> list[ChorusStatusEvent]:
    """The stored status history of one document, oldest first."""
    return list(
        db.session.scalars(
            select(ChorusStatusEvent)
            .where(
                ChorusStatusEvent.document_type == str(document_type),
                ChorusStatusEvent.document_id == document_id,
            )
            .order_by(ChorusStatusEvent.changed_at, ChorusStatusEvent.id)
        )
    )


def payment_not_reported(document: Document) -> bool:
    """Does the recipient structure never report payment (structure rules, B3 cache)?"""
    siret = document.client.siret
    if not siret:
        return False
    return bool(
        db.session.scalar(
            select(RecipientStructure.payment_not_reported).where(RecipientStructure.siret == siret)
        )
    )


def running_sync_job(document_type: DocumentType | str, document_id: int) -> int | None:
    """The status-sync job currently reading this document, if any."""
    return db.session.scalar(
        select(JobItem.job_id)
        .join(Job, Job.id == JobItem.job_id)
        .where(
            JobItem.document_type == str(document_type),
            JobItem.document_id == document_id,
            JobItem.state.in_(UNFINISHED_ITEM_STATES),
            Job.kind == JobKind.STATUS_SYNC,
        )
        .order_by(JobItem.job_id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class FollowUp:
    """Everything the status badge and timeline of one document show."""

    document_type: DocumentType
    document_id: int
    status: str | None
    checked_at: datetime | None
    is_final: bool
    events: list[ChorusStatusEvent]
    running_job_id: int | None

    @property
    def latest_comment(self) -> str | None:
        for event in reversed(self.events):
            if event.status_code == self.status:
                return event.comment
        return None

    @property
    def is_returned(self) -> bool:
        return self.status in RETURNED_STATUSES

    @property
    def advice(self) -> playbook.Explanation | None:
        """What a returned status means and what to do (B8), else None."""
        if not self.is_returned:
            return None
        return playbook.explain(self.status, self.latest_comment)


def follow_up(document: Document) -> FollowUp:
    """The follow-up of one sent document (three small queries)."""
    document_type = DocumentType.of(document)
    return FollowUp(
        document_type=document_type,
        document_id=document.id,
        status=document.chorus_status,
        checked_at=document.chorus_status_checked_at,
        is_final=is_final(document.chorus_status, payment_not_reported(document)),
        events=history_of(document_type, document.id),
        running_job_id=running_sync_job(document_type, document.id),
    )


def statuses_seen(document_type: DocumentType | str) -> list[str]:
    """Every Chorus status some document of this type has (one index-only query)."""
    model = DocumentType(document_type).model
    return list(
        db.session.scalars(
            select(model.chorus_status)
            .where(model.chorus_status.is_not(None))
            .distinct()
            .order_by(model.chorus_status)
        )
    )


# -- which documents a run reads -----------------------------------------------------------------


def _non_reporting_sirets() -> Any:
    return select(RecipientStructure.siret).where(RecipientStructure.payment_not_reported)


def not_final_condition(status: Any, siret: Any) -> ColumnElement[bool]:
    """SQL twin of ``not rules.is_final(status, payment_not_reported)`` (never NULL)."""
    return or_(
        status.is_(None),
        and_(
            status.not_in(sorted(ALWAYS_FINAL)),
            or_(
                status.not_in(sorted(MANDATED_OR_LATER)),
                siret.is_(None),
                siret.not_in(_non_reporting_sirets()),
            ),
        ),
    )


def _sent_not_final(document_type: DocumentType, query: Any) -> Any:
    """Sent documents of one type whose status may change, ``query`` joining their client."""
    model = document_type.model
    return query.add_columns(
        literal(document_type, EnumText(DocumentType, 20)).label("document_type"),
        model.id.label("document_id"),
        model.number.label("number"),
    ).where(
        model.chorus_state == ChorusState.SENT,
        model.chorus_invoice_id.is_not(None),
        not_final_condition(model.chorus_status, Client.siret),
    )


def candidates_select() -> Any:
    """(document_type, document_id, number) of every sent document whose status may change."""
    receipts = (
        select()
        .select_from(Receipt)
        .join(Contract, Receipt.contract_id == Contract.id)
        .join(Client, Contract.client_id == Client.id)
    )
    invoices = select().select_from(FeeInvoice).join(Client, FeeInvoice.client_id == Client.id)
    return union_all(
        _sent_not_final(DocumentType.RECEIPT, receipts),
        _sent_not_final(DocumentType.FEE_INVOICE, invoices),
    )


def candidates() -> list[tuple[DocumentType, int, str]]:
    """Every sent, non-final document: (document_type, id, number), oldest deposit first."""
    selection = candidates_select().subquery()
    rows = db.session.execute(
        select(selection.c.document_type, selection.c.document_id, selection.c.number).order_by(
            selection.c.document_type.desc(), selection.c.document_id
        )
    )
    return [(row.document_type, row.document_id, row.number) for row in rows]


# -- À solder --------------------------------------------------------------------------------------


def documents_by_id(wanted: dict[DocumentType, list[int]]) -> list[Document]:
    """The documents of each type with these ids (unknown ids are dropped), receipts first."""
    found: list[Document] = []
    for document_type, ids in wanted.items():
        if ids:
            model = document_type.model
            found.extend(db.session.scalars(select(model).where(model.id.in_(ids))))
    return found
