"""The automatic daily run at 19:00 Europe/Paris (S3, S4, S14, S15, B6).

``run_daily`` is the single entry point of the scheduler, the CLI and any "run now" button.
It claims the day (a unique ``claim_key`` row), so however many processes or servers fire
at 19:00, one run happens and the others record that they skipped. The preview (B6) reads
the very same selection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.billing.models import FeeInvoice, Receipt
from portal.clock import PARIS, now
from portal.dematerialization import queries, sending
from portal.dematerialization.documents import Document
from portal.dematerialization.models import DocumentType
from portal.dematerialization.rules import Delays, Eligibility
from portal.extensions import db
from portal.jobs.models import ExecutionState, JobKind, TaskExecution
from portal.jobs.runner import worker_name
from portal.portfolio.models import Contract
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings

DAILY_TASK = "envoi_quotidien"
RUN_AT = time(19, 0)
# If the portal was down at 19:00 it still runs when it comes back before this hour.
CATCH_UP_UNTIL = time(23, 30)
NO_CUTOFF = "date de coupure non renseignée"


def claim_key(run_on: date) -> str:
    return f"{DAILY_TASK}:{run_on.isoformat()}"


def next_run_on(moment: datetime | None = None) -> date:
    """Date of the next automatic run: today until it has run (or its window closed)."""
    moment = (moment or now()).astimezone(PARIS)
    today = moment.date()
    already = db.session.scalar(
        select(func.count())
        .select_from(TaskExecution)
        .where(TaskExecution.claim_key == claim_key(today))
    )
    if already or moment.time() > CATCH_UP_UNTIL:
        return today + timedelta(days=1)
    return today


def should_catch_up(moment: datetime | None = None) -> date | None:
    """The date to run now when 19:00 passed while the portal was down (bounded window)."""
    moment = (moment or now()).astimezone(PARIS)
    if not (RUN_AT <= moment.time() <= CATCH_UP_UNTIL):
        return None
    today = moment.date()
    claimed = db.session.scalar(
        select(func.count())
        .select_from(TaskExecution)
        .where(TaskExecution.claim_key == claim_key(today))
    )
    return None if claimed else today


def trigger_problems(settings: ChorusSettings) -> list[str]:
    """Why the daily trigger does not exist (empty: it is active)."""
    problems = []
    if not settings.enabled:
        problems.append("la dématérialisation est désactivée (onglet Assurances)")
    if not settings.auto_send_enabled:
        problems.append("l'envoi automatique est désactivé (onglet Système)")
    if settings.missing_connection_fields:
        problems.append(
            "paramètres de connexion incomplets : " + ", ".join(settings.missing_connection_fields)
        )
    return problems


# -- selection (shared by the run and the preview) ----------------------------------------------


def _delays(settings: ChorusSettings) -> Delays:
    return Delays(settings.delay_receipts_days, settings.delay_fee_invoices_days)


def due_select(run_on: date, settings: ChorusSettings) -> Any:
    if settings.cutoff_date is None:
        raise ValueError(NO_CUTOFF)
    return queries.due_documents_select(
        today=run_on,
        delays=_delays(settings),
        cutoff=settings.cutoff_date,
        chorus_enabled=settings.enabled,
    )


@dataclass(frozen=True)
class PreviewRow:
    document_type: DocumentType
    document_id: int
    number: str
    entered_on: date
    effective_on: date
    eligibility: Eligibility


@dataclass(frozen=True)
class PreviewPage:
    run_on: date
    rows: list[PreviewRow]
    total: int
    to_send: int
    page: int
    pages: int


def preview(
    run_on: date, settings: ChorusSettings, *, page: int = 1, size: int = 50
) -> PreviewPage:
    """B6: what the run of ``run_on`` would send and skip, from the run's own selection."""
    selection = due_select(run_on, settings).subquery()
    total = db.session.scalar(select(func.count()).select_from(selection)) or 0
    to_send = (
        db.session.scalar(
            select(func.count()).select_from(selection).where(selection.c[queries.ELIGIBLE])
        )
        or 0
    )
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        select(selection)
        .order_by(
            selection.c[queries.ELIGIBLE].desc(),
            selection.c.document_type.desc(),
            selection.c.effective_on,
            selection.c.document_id,
        )
        .limit(size)
        .offset((page - 1) * size)
    )
    return PreviewPage(
        run_on=run_on,
        rows=[
            PreviewRow(
                DocumentType(row.document_type),
                row.document_id,
                row.number,
                row.entered_on,
                row.effective_on,
                queries.eligibility_from_row(row),
            )
            for row in rows
        ],
        total=total,
        to_send=to_send,
        page=page,
        pages=pages,
    )


def due_documents(run_on: date, settings: ChorusSettings) -> list[Document]:
    """The documents the run picks, loaded with what the send needs (no N+1)."""
    rows = db.session.execute(due_select(run_on, settings)).all()
    wanted = {DocumentType.RECEIPT: [], DocumentType.FEE_INVOICE: []}  # type: dict[DocumentType, list[int]]
    for row in rows:
        wanted[DocumentType(row.document_type)].append(row.document_id)
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
    return [loaded[(DocumentType(r.document_type), r.document_id)] for r in rows]


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# -- the run ------------------------------------------------------------------------------------


def run_daily(run_on: date, *, trigger: str) -> TaskExecution:
    """Run the automatic dematerialization for ``run_on`` once; commits and launches the job.

    Returns the execution recorded: started (with its job), failed (with the reason, e.g. an
    empty cut-off: nothing selected, no report, no notification) or skipped (another
    process already ran this day).
    """
    execution = TaskExecution(
        task=DAILY_TASK,
        run_on=run_on,
        claim_key=claim_key(run_on),
        trigger=trigger,
        state=ExecutionState.STARTED.value,
        worker=worker_name(),
    )
    db.session.add(execution)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        skipped = TaskExecution(
            task=DAILY_TASK,
            run_on=run_on,
            trigger=trigger,
            state=ExecutionState.SKIPPED.value,
            worker=worker_name(),
            message="Envoi du jour déjà exécuté par un autre processus.",
        )
        db.session.add(skipped)
        db.session.commit()
        return skipped

    settings = chorus_settings.load()
    problem = None
    if settings.cutoff_date is None:
        problem = NO_CUTOFF
    elif not settings.enabled:
        problem = "dématérialisation désactivée"
    if problem is not None:
        execution.state = ExecutionState.FAILED.value
        execution.message = problem[0].upper() + problem[1:] + "."
        # Nothing was done: release the day so a run after the fix is not taken for a duplicate.
        execution.claim_key = None
        db.session.commit()
        return execution

    job = sending.start_send(due_documents(run_on, settings), kind=JobKind.DAILY_SEND, user=None)
    execution.job_id = job.id
    db.session.commit()
    sending.launch(job)
    return execution
