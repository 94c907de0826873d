"""The automatic daily run at 19:00 Europe/Paris (S3, S4, S14, S15, B6).

``run_daily`` is the single entry point of the scheduler, the CLI and any "run now" button.
It claims the day (a unique ``claim_key`` row), so however many processes or servers fire
at 19:00, one run happens and the others record that they skipped. The preview (B6) reads
the very same selection.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.auth.models import User
from portal.billing.models import FeeInvoice, Receipt
from portal.clock import PARIS, now, to_paris
from portal.dematerialization.documents import Document
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.jobs import executions
from portal.jobs.models import (
    BY_HAND,
    COMMAND_LINE,
    ExecutionState,
    JobKind,
    TaskExecution,
    process_name,
)
from portal.pagination import PageNumbers, clamp, page_count
from portal.portfolio.models import Client, Contract
from portal.sending import queries
from portal.sending import services as sending
from portal.sending.rules import Delays, Eligibility
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings

log = logging.getLogger(__name__)

DAILY_TASK = "envoi_quotidien"
RUN_AT = time(19, 0)
# If the portal was down at 19:00 it still runs when it comes back between these hours (the
# first minute belongs to the regular firing, so the two never race).
CATCH_UP_FROM = time(19, 1)
CATCH_UP_UNTIL = time(23, 30)
NO_CUTOFF = "date de coupure non renseignée"

# Execution triggers (``TaskExecution.trigger``, at most 20 characters).
SCHEDULED = "planifiée"  # the 19:00 cron firing
CATCH_UP = "rattrapage"  # the portal came back after 19:00 the same evening
MANUAL = BY_HAND  # "Lancer maintenant" on the administration page (records the person)
COMMAND = COMMAND_LINE  # flask chorus run-daily
AUTOMATIC_TRIGGERS = (SCHEDULED, CATCH_UP)
TRIGGER_LABELS = {
    SCHEDULED: "Planifiée (19 h)",
    CATCH_UP: "Rattrapage",
    MANUAL: "Manuelle",
    COMMAND: "Ligne de commande",
}


# A claim taken less than this before a firing was taken at the same moment (two processes or
# servers firing at 19:00), not earlier in the day.
SAME_MOMENT = timedelta(minutes=1)


def claim_key(run_on: date) -> str:
    return f"{DAILY_TASK}:{run_on.isoformat()}"


def day_run(day: date) -> TaskExecution | None:
    """The execution that ran ``day`` (it holds the day's claim), with its job and person."""
    return executions.holder(claim_key(day))


def ran_when_by(execution: TaskExecution, moment: datetime) -> str:
    """« aujourd'hui à 19:00 par l'automate », « le 03/12/2026 à 15:02 par Alice Martin »."""
    started = to_paris(execution.started_at)
    when = "aujourd'hui" if started.date() == to_paris(moment).date() else f"le {_fr(started)}"
    return f"{when} à {started:%H:%M} par {execution.launched_by}"


def skip_reason(holder: TaskExecution | None, moment: datetime, *, same_process: bool) -> str:
    """Why a run of an already claimed day did nothing, said from the execution holding it.

    « par un autre processus » only when it is true: another process claimed the day at the
    same moment. Otherwise when and by whom the day was run (B9).
    """
    if holder is None:  # the holder failed and gave the day back while this run looked
        return (
            "Une autre exécution de ce jour, lancée au même moment, a échoué entre-temps "
            "(voir l'historique) : rien n'a été relancé."
        )
    text = ran_when_by(holder, moment)
    if holder.job_id is not None:
        text += f" (tâche n° {holder.job_id})"
    if not same_process and moment - holder.started_at < SAME_MOMENT:
        return f"Exécutée au même moment par un autre processus : lancée {text}."
    return f"Déjà exécutée {text}."


def _skip_message(holder: TaskExecution | None) -> str:
    # ``worker`` is ``host:pid:thread``: the process is all but the thread.
    same_process = holder is not None and (holder.worker or "").rsplit(":", 1)[0] == (
        process_name()
    )
    return skip_reason(holder, now(), same_process=same_process)


def _claimed(day: date) -> bool:
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(TaskExecution)
            .where(TaskExecution.claim_key == claim_key(day))
        )
    )


def _automatic_attempt(day: date) -> bool:
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


def next_run_on(moment: datetime | None = None) -> date:
    """Date of the next automatic run: today until it has run (or its window closed).

    A failed 19:00 execution (empty cut-off…) releases the day for a manual run, but the
    schedule does not retry it: the next automatic run is tomorrow.
    """
    moment = (moment or now()).astimezone(PARIS)
    today = moment.date()
    if moment.time() > CATCH_UP_UNTIL or _claimed(today):
        return today + timedelta(days=1)
    if moment.time() >= RUN_AT and _automatic_attempt(today):
        return today + timedelta(days=1)
    return today


def next_run_at(moment: datetime | None = None) -> datetime:
    """When the next automatic run should start (Europe/Paris); ``moment`` if overdue."""
    moment = (moment or now()).astimezone(PARIS)
    planned = datetime.combine(next_run_on(moment), RUN_AT, tzinfo=PARIS)
    return max(planned, moment)


def should_catch_up(moment: datetime | None = None) -> date | None:
    """The date to run now when 19:00 passed while the portal was down (bounded window).

    Only once: not when the day is claimed, nor when the schedule already fired today and
    failed (a failed run is not retried every minute; an administrator re-runs it).
    """
    moment = (moment or now()).astimezone(PARIS)
    if not (CATCH_UP_FROM <= moment.time() <= CATCH_UP_UNTIL):
        return None
    today = moment.date()
    if _claimed(today) or _automatic_attempt(today):
        return None
    return today


def trigger_problems(settings: ChorusSettings) -> list[str]:
    """Why the daily trigger does not exist (empty: it is active)."""
    problems = settings.task_blockers()
    if not settings.auto_send_enabled:
        problems.insert(
            0 if settings.enabled else 1, "l'envoi automatique est désactivé (onglet Système)"
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
        has_vat_exemption_code=settings.vat_exemption_code is not None,
    )


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
    eligible = selection.c[queries.ELIGIBLE]
    counts = db.session.execute(
        select(selection.c.document_type, eligible, func.count()).group_by(
            selection.c.document_type, eligible
        )
    ).all()
    to_send = dict.fromkeys(DocumentType, 0)
    to_skip = dict.fromkeys(DocumentType, 0)
    for document_type, is_eligible, count in counts:
        target = to_send if is_eligible else to_skip
        target[DocumentType(document_type)] += count
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
    of_type = selection.c.document_type == document_type.value
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(selection).where(of_type)) or 0
    pages = page_count(total, size)
    page = clamp(page, pages)
    rows = db.session.execute(
        select(selection)
        .where(of_type)
        .order_by(
            selection.c[queries.ELIGIBLE].desc(),
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
                queries.eligibility_from_row(row),
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


def run_daily(
    run_on: date, *, trigger: str, user: User | None = None, note: str | None = None
) -> TaskExecution:
    """Run the automatic dematerialization for ``run_on`` once; commits and launches the job.

    Whoever runs it (the schedule, a person with ``user``, the command line) claims the day:
    its 19:00 run does not happen again. Returns the execution recorded: started (with its
    job), failed (with the reason, e.g. an empty cut-off: nothing selected, no report, no
    notification) or skipped (the day already ran: the message says when and by whom). A
    failed execution releases the day, so a run after the fix is not taken for a duplicate.
    ``note`` (e.g. why a future day was forced) is kept in the execution's message.
    """
    execution = executions.claim(
        DAILY_TASK,
        run_on,
        claim_key(run_on),
        trigger=trigger,
        skipped_message=_skip_message,
        user=user,
        message=note,
    )
    if execution.state == ExecutionState.SKIPPED.value:
        return execution

    execution_id = execution.id
    try:
        settings = chorus_settings.load()
        problem = None
        if settings.cutoff_date is None:
            problem = NO_CUTOFF
        elif not settings.enabled:
            problem = "dématérialisation désactivée"
        if problem is not None:
            return _fail(execution, problem[0].upper() + problem[1:] + ".")
        job = sending.start_send(
            due_documents(run_on, settings), kind=JobKind.DAILY_SEND, user=user
        )
        job.options = {**(job.options or {}), "trigger": trigger}  # who ran it (B9)
        execution.job_id = job.id
        db.session.commit()
    except Exception as error:
        # Nothing was committed but the claim: record why and give the day back.
        log.exception("daily run of %s failed", run_on)
        db.session.rollback()
        claimed = db.session.get(TaskExecution, execution_id)
        if claimed is None:  # pragma: no cover  (the row was committed above)
            raise
        return _fail(claimed, f"Erreur interne du portail ({type(error).__name__}).")
    sending.launch(job)
    return execution


def _fail(execution: TaskExecution, message: str) -> TaskExecution:
    execution.state = ExecutionState.FAILED.value
    execution.message = f"{message} {execution.message}" if execution.message else message
    execution.claim_key = None
    db.session.commit()
    return execution


# -- history (administration page) ---------------------------------------------------------------


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


# -- the delay example of the settings screen (S3) ----------------------------------------------


def delay_examples(
    *,
    receipts_days: int | None,
    fee_invoices_days: int | None,
    cutoff: date | None,
    today: date,
) -> list[str]:
    """French sentences showing what the entered S3 delays (and S4 cut-off) mean.

    Pure. ``None`` for a delay means "not usable" (invalid input): no sentence for it; an
    empty field is 0 and must be passed as 0. The worked dates are next year's, so the
    example reads like a real upcoming case.
    """
    sentences: list[str] = []
    start = date(today.year + 1, 1, 1)
    if receipts_days is not None:
        sent = start - timedelta(days=receipts_days)
        sentences.append(
            f"Avec un délai de {_days(receipts_days)}, une quittance à échoir dont la période "
            f"commence le {_fr(start)} sera envoyée dès le {_fr(sent)} "
            "(à échoir : date de début de période ; échue : date de fin de période)."
        )
    if fee_invoices_days is not None:
        entered = date(today.year + 1, 1, 15)
        sent = entered - timedelta(days=fee_invoices_days)
        sentences.append(
            f"Avec un délai de {_days(fee_invoices_days)}, une facture d'honoraires dont la date "
            f"de saisie est le {_fr(entered)} sera envoyée dès le {_fr(sent)}"
            + (" (au plus tôt le soir de sa saisie)." if fee_invoices_days else ".")
        )
    if cutoff is not None:
        sentences.append(
            f"Seuls les documents saisis après le {_fr(cutoff)} (date de coupure) sont "
            "envoyés automatiquement."
        )
    return sentences


def _days(count: int) -> str:
    return f"{count} jour" if count <= 1 else f"{count} jours"


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")
