"""The CSV report of a dematerialization job (S11, S13, S14): one row per document.

Every selected document appears with its outcome: sent with its N° Chorus, skipped with
why, refused with Chorus's code and message, or failed for a technical reason — each with
the playbook's plain-French explanation and fix (B8). Documents are read in one query
whatever the job's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from portal.billing.models import FeeInvoice, Receipt
from portal.clock import now, to_paris
from portal.csv_export import write_csv
from portal.dematerialization import playbook
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobItem
from portal.portfolio.models import Client, Contract
from portal.sending import rules

HEADER = [
    "Type de document",
    "Numéro",
    "Client",
    "Montant TTC",
    "Résultat",
    "N° Chorus",
    "Statut Chorus",
    "Code retour Chorus",
    "Message Chorus",
    "Explication",
    "Correctif",
]

SENT = "Envoyée"
SKIPPED = "Ignorée"
REFUSED = "Refusée"
FAILED = "En échec"
UNFINISHED = "En cours"

# Codes that came from Chorus Pro itself; the portal's own and technical codes are not
# "codes retour Chorus" and are explained in words instead.
_FROM_CHORUS = (playbook.Kind.CHORUS, playbook.Kind.STATUS)


def _is_item_document(model: type[Receipt | FeeInvoice], kind: DocumentType) -> Any:
    """Join condition: the ``model`` row is the job item's document."""
    return and_(JobItem.document_type == kind, model.id == JobItem.document_id)


def _items_with_documents(job_id: int) -> Sequence[Any]:
    """Each item of the job with its document's total and client name (one query)."""
    receipt_client = aliased(Client)
    invoice_client = aliased(Client)
    statement = (
        select(
            JobItem,
            func.coalesce(Receipt.total, FeeInvoice.total).label("total"),
            func.coalesce(receipt_client.name, invoice_client.name).label("client_name"),
        )
        .outerjoin(Receipt, _is_item_document(Receipt, DocumentType.RECEIPT))
        .outerjoin(Contract, Contract.id == Receipt.contract_id)
        .outerjoin(receipt_client, receipt_client.id == Contract.client_id)
        .outerjoin(FeeInvoice, _is_item_document(FeeInvoice, DocumentType.FEE_INVOICE))
        .outerjoin(invoice_client, invoice_client.id == FeeInvoice.client_id)
        .where(JobItem.job_id == job_id)
        .order_by(JobItem.id)
    )
    return db.session.execute(statement).all()


def _reason_codes_in(message: str | None) -> list[str]:
    """Pre-send reason codes whose French message appears in an item's message."""
    if not message:
        return []
    return [code for code, reason in rules.REASONS.items() if reason.message in message]


def _fix(code: str | None, message: str | None) -> str:
    """Every fix that applies: the stored code's, then those of the other listed reasons."""
    codes = [code] if code else []
    codes += [c for c in _reason_codes_in(message) if c != code]
    fixes = [playbook.explain(c, message).fix for c in codes] or [
        playbook.explain(None, message).fix
    ]
    return " ".join(dict.fromkeys(fixes))


def item_row(item: JobItem, total: Decimal | None, client_name: str | None) -> list[object]:
    """The report line of one job item."""
    state = item.state
    row: list[object] = [
        item.document_type.label,
        item.document_number,
        client_name,
        total,
    ]
    if state == ItemState.SUCCEEDED:
        return [*row, SENT, item.chorus_invoice_id, item.chorus_status, None, None, None, None]
    if state not in (ItemState.FAILED, ItemState.SKIPPED):
        return [
            *row,
            UNFINISHED,
            item.chorus_invoice_id,
            item.chorus_status,
            None,
            None,
            None,
            None,
        ]

    explained = playbook.explain(item.error_code, item.error_message)
    from_chorus = explained.kind in _FROM_CHORUS
    if state == ItemState.SKIPPED:
        result = SKIPPED
    elif explained.is_refusal:
        result = REFUSED
    else:
        result = FAILED
    if from_chorus:
        explanation = item.explanation or explained.explanation
        code, message = item.error_code, item.error_message
    else:
        # The item's own message is the precise one (e.g. every unmet condition).
        explanation = item.error_message or item.explanation or explained.explanation
        code = message = None
    return [
        *row,
        result,
        item.chorus_invoice_id,
        item.chorus_status,
        code,
        message,
        explanation,
        _fix(item.error_code, item.error_message),
    ]


def job_report_rows(job: Job) -> tuple[list[str], list[list[object]]]:
    """French header and one row per item of the job, in the job's order."""
    rows = [
        item_row(item, total, client_name)
        for item, total, client_name in _items_with_documents(job.id)
    ]
    return list(HEADER), rows


def build_job_report(job: Job) -> bytes:
    """The job's CSV report (UTF-8 with BOM, ``;``, French formats)."""
    header, rows = job_report_rows(job)
    return write_csv(header, rows)


def report_filename(job: Job) -> str:
    """``dematerialisation-chorus-42-20261127-1900.csv`` (job id, start in Paris time)."""
    started = to_paris(job.created_at) if job.created_at is not None else now()
    return f"dematerialisation-chorus-{job.id}-{started:%Y%m%d-%H%M}.csv"
