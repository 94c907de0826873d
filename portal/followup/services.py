"""Chorus Pro status follow-up (B1): read the status history of sent documents, keep it.

The rules are pure functions at the top of this module (``is_final``, ``merge_history``,
labels); the rest is the ``STATUS_SYNC`` job:

- ``run_status_sync`` is the single entry point of the schedule (every 2 hours from 07:00 to
  21:00 Europe/Paris), the Tâches page button and ``flask chorus sync-statuses``. A scheduled
  firing claims its slot (``suivi_statuts:2026-11-27T09``), so however many processes fire,
  one run happens. ``start_status_sync`` also serves the per-document button.
- ``StatusSyncHandler`` reads ``consulter/historique`` for one document per job item, then, in
  ONE transaction: stores the new history rows, updates the document's status, notifies the
  Administrateurs Chorus of a returned status (``REJETEE``, ``SUSPENDUE``, ``A_RECYCLER``)
  and settles the document when ``MISE_EN_PAIEMENT`` arrives and automatic settlement is on
  (B2). A notification or an automatic payment is tied to the insertion of its history row,
  which a unique constraint makes happen once: two runs reading the same history at the same
  time notify once and settle once.
- A refusal or an outage on one document fails that item only; the others go on. Reading a
  status is idempotent, so a document whose read failed is simply read again next run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, String, and_, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User
from portal.billing.models import FeeInvoice, Payment, Receipt
from portal.chorus import statuses
from portal.chorus.client import ChorusClient
from portal.chorus.errors import ChorusError
from portal.chorus.factory import client_from_settings
from portal.chorus.http import thread_session
from portal.chorus.results import InvoiceHistory, StatusEntry
from portal.chorus.statuses import PAID_STATUS, REJECTED_STATUS, RETURNED_STATUSES
from portal.clock import now, to_paris, today, utcnow
from portal.dematerialization import audit, documents, playbook
from portal.dematerialization.documents import Document
from portal.dematerialization.models import (
    ChorusStatusEvent,
    DocumentType,
    ExchangeOutcome,
    RecipientStructure,
)
from portal.extensions import db
from portal.jobs import executions
from portal.jobs.links import job_url
from portal.jobs.models import (
    UNFINISHED_ITEM_STATES,
    ExecutionState,
    ItemState,
    Job,
    JobItem,
    JobKind,
    TaskExecution,
)
from portal.jobs.runner import ItemOutcome, WorkContext, register_handler
from portal.models_base import ChorusState
from portal.notifications.services import notify
from portal.portfolio.models import Client, Contract
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings

log = logging.getLogger(__name__)

CHORUS_ADMINS = "chorus_admins"
HISTORY = "factures/consulter/historique"
TASK = "suivi_statuts"

# ``Job.options["trigger"]`` and ``TaskExecution.trigger`` (at most 20 characters).
SCHEDULED = "planifiée"  # the every-2-hours schedule
MANUAL = "manuelle"  # "Actualiser les statuts Chorus" on the Tâches page
COMMAND = "commande"  # flask chorus sync-statuses
DOCUMENT = "document"  # "Actualiser le statut" on one document
TRIGGER_LABELS = {
    SCHEDULED: "Planifiée (toutes les 2 h)",
    MANUAL: "Manuelle",
    COMMAND: "Ligne de commande",
    DOCUMENT: "Depuis le document",
}


# -- pure rules ---------------------------------------------------------------------------------

# Final everywhere (paid, rejected, abandoned, deleted…) / only for a structure that never
# reports payment (MANDATEE is then its last news): the official table, portal/chorus/statuses.py.
ALWAYS_FINAL = statuses.FINAL_STATUSES
MANDATED_OR_LATER = statuses.FINAL_IF_PAYMENT_NOT_REPORTED

# What the notification title says of a returned document.
RETURNED_VERBS = {"REJETEE": "rejetée", "SUSPENDUE": "suspendue", "A_RECYCLER": "à recycler"}


def is_final(status: str | None, payment_not_reported: bool) -> bool:
    """Will Chorus Pro never report another status for this document?

    Final statuses (``MISE_EN_PAIEMENT``, ``REJETEE``, ``ABANDONNEE``, ``SUPPRIMEE``…) are
    final everywhere; ``MANDATEE`` (and the accounting steps after it) only for structures
    that never report payment. An unknown or missing status is not final: it is read again.
    """
    return statuses.is_final(status, payment_not_reported)


def status_label(status: str | None) -> str:
    """French label of a Chorus status; unknown codes are shown exactly as they come."""
    return statuses.label(status)


def is_unknown_status(status: str | None) -> bool:
    """A status Chorus sent that is not in the official list (shown with a warning)."""
    return bool(status) and not statuses.is_known(status)


def status_tone(status: str | None) -> str:
    """Bootstrap colour of a status badge."""
    if status == PAID_STATUS:
        return "success"
    if status == REJECTED_STATUS:
        return "danger"
    if status in RETURNED_STATUSES or is_unknown_status(status):
        return "warning"
    if status in ALWAYS_FINAL:
        return "dark"  # abandoned, deleted, refused in a validation circuit…
    if status in MANDATED_OR_LATER:
        return "primary"
    return "info" if status else "secondary"


@dataclass(frozen=True)
class KnownEvent:
    """A history row already stored for the document."""

    id: int
    code: str
    changed_at: datetime
    comment: str | None


@dataclass(frozen=True)
class HistoryMerge:
    """What to change so the stored history equals Chorus's."""

    inserts: tuple[StatusEntry, ...] = ()
    updates: tuple[tuple[int, StatusEntry], ...] = ()


def merge_history(
    known: Sequence[KnownEvent], entries: Iterable[StatusEntry], *, default_time: datetime
) -> HistoryMerge:
    """Pair Chorus's history entries with the stored rows; the rest is new.

    An entry matches a row with the same code and instant (its comment is refreshed if it
    changed). An entry without instant matches any row of its code, or is new at
    ``default_time``. The row the send recorded itself (``DEPOSEE`` at the portal's clock)
    has no twin in Chorus: an unmatched row of the same code takes the entry's instant
    instead of leaving a duplicate. Never for a returned status: each new occurrence of
    ``REJETEE``/``SUSPENDUE``/``A_RECYCLER`` must be a new row, since its insertion is what
    notifies (once).
    """
    entries = [e for e in entries if e.code]
    matched_rows: set[int] = set()
    unmatched: list[StatusEntry] = []
    updates: list[tuple[int, StatusEntry]] = []
    for entry in entries:
        row = next(
            (
                r
                for r in known
                if r.id not in matched_rows
                and r.code == entry.code
                and (entry.passed_at is None or r.changed_at == entry.passed_at)
            ),
            None,
        )
        if row is None:
            unmatched.append(entry)
            continue
        matched_rows.add(row.id)
        if entry.comment and entry.comment != row.comment:
            updates.append((row.id, StatusEntry(row.code, row.changed_at, entry.comment)))
    inserts: list[StatusEntry] = []
    for entry in unmatched:
        spare = None
        if entry.code not in RETURNED_STATUSES:
            spare = next(
                (r for r in known if r.id not in matched_rows and r.code == entry.code), None
            )
        if spare is not None:
            matched_rows.add(spare.id)
            updates.append((spare.id, entry))
        else:
            inserts.append(StatusEntry(entry.code, entry.passed_at or default_time, entry.comment))
    return HistoryMerge(tuple(inserts), tuple(updates))


# -- reading the stored follow-up (document panel) ----------------------------------------------


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
            JobItem.state.in_([s.value for s in UNFINISHED_ITEM_STATES]),
            Job.kind == JobKind.STATUS_SYNC.value,
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
    document_type = documents.type_of(document)
    return FollowUp(
        document_type=document_type,
        document_id=document.id,
        status=document.chorus_status,
        checked_at=document.chorus_status_checked_at,
        is_final=is_final(document.chorus_status, payment_not_reported(document)),
        events=history_of(document_type, document.id),
        running_job_id=running_sync_job(document_type, document.id),
    )


# -- which documents to read ---------------------------------------------------------------------


def _non_reporting_sirets() -> Any:
    return select(RecipientStructure.siret).where(RecipientStructure.payment_not_reported)


def not_final_condition(status: Any, siret: Any) -> ColumnElement[bool]:
    """SQL twin of ``not is_final(status, payment_not_reported)`` (never NULL)."""
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


def candidates_select() -> Any:
    """(document_type, document_id, number) of every sent document whose status may change."""
    receipts = (
        select(
            literal(DocumentType.RECEIPT.value, String(20)).label("document_type"),
            Receipt.id.label("document_id"),
            Receipt.number.label("number"),
        )
        .join(Contract, Receipt.contract_id == Contract.id)
        .join(Client, Contract.client_id == Client.id)
        .where(
            Receipt.chorus_state == ChorusState.SENT.value,
            Receipt.chorus_invoice_id.is_not(None),
            not_final_condition(Receipt.chorus_status, Client.siret),
        )
    )
    invoices = (
        select(
            literal(DocumentType.FEE_INVOICE.value, String(20)).label("document_type"),
            FeeInvoice.id.label("document_id"),
            FeeInvoice.number.label("number"),
        )
        .join(Client, FeeInvoice.client_id == Client.id)
        .where(
            FeeInvoice.chorus_state == ChorusState.SENT.value,
            FeeInvoice.chorus_invoice_id.is_not(None),
            not_final_condition(FeeInvoice.chorus_status, Client.siret),
        )
    )
    return union_all(receipts, invoices)


def candidates() -> list[tuple[str, int, str]]:
    """Every sent, non-final document: (document_type, id, number), oldest deposit first."""
    selection = candidates_select().subquery()
    rows = db.session.execute(
        select(selection.c.document_type, selection.c.document_id, selection.c.number).order_by(
            selection.c.document_type.desc(), selection.c.document_id
        )
    )
    return [(row.document_type, row.document_id, row.number) for row in rows]


# -- starting ------------------------------------------------------------------------------------


def start_status_sync(
    *,
    trigger: str,
    user: User | None = None,
    only: Sequence[Document] | None = None,
) -> Job | None:
    """Create a status-sync job (one pending item per document); None when nothing to read.

    ``only``: these documents (the per-document button), whatever their status, as long as
    they were sent; otherwise every sent, non-final document. Flushes; the caller commits,
    then calls ``launch``.
    """
    if only is None:
        rows = candidates()
    else:
        rows = [
            (documents.type_of(d).value, d.id, d.number)
            for d in only
            if d.is_chorus_sent and d.chorus_invoice_id is not None
        ]
    if not rows:
        return None
    job = Job(
        kind=JobKind.STATUS_SYNC.value,
        created_by_id=user.id if user is not None else None,
        total=len(rows),
        options={"trigger": trigger},
    )
    job.items = [
        JobItem(
            document_type=document_type,
            document_id=document_id,
            document_number=number,
            state=ItemState.PENDING.value,
        )
        for document_type, document_id, number in rows
    ]
    db.session.add(job)
    db.session.flush()
    return job


def launch(job: Job) -> None:
    """Hand a committed job to this process's workers."""
    from portal.jobs.runner import get_runner

    get_runner(current_app._get_current_object()).launch(job.id)  # type: ignore[attr-defined]


def schedule_problems(settings: ChorusSettings) -> list[str]:
    """Why the follow-up does not run (empty: it runs)."""
    return settings.task_blockers()


def slot_key(moment: datetime) -> str:
    """Claim key of the scheduled run of ``moment``'s hour (Europe/Paris)."""
    return f"{TASK}:{to_paris(moment).strftime('%Y-%m-%dT%H')}"


def run_status_sync(
    *, trigger: str, user: User | None = None, claim: str | None = None
) -> TaskExecution:
    """Start a follow-up run now; commits and launches its job.

    ``claim`` (scheduled runs: ``slot_key(now())``) makes the run happen once however many
    processes fire: the others record a skipped execution. Returns the execution: started
    (with its job, or a message when no document needs reading), failed (settings) or
    skipped.
    """
    execution = executions.claim(
        TASK,
        today(),
        claim,
        trigger=trigger,
        skipped_message="Suivi des statuts déjà lancé par un autre processus pour ce créneau.",
        user=user,
    )
    if execution.state == ExecutionState.SKIPPED.value:
        return execution
    problems = schedule_problems(chorus_settings.load())
    if problems:
        execution.state = ExecutionState.FAILED.value
        execution.message = "Suivi non lancé : " + " ; ".join(problems) + "."
        db.session.commit()
        return execution
    job = start_status_sync(trigger=trigger, user=user)
    if job is None:
        execution.message = "Aucun document envoyé n'attend de nouveau statut."
        db.session.commit()
        return execution
    execution.job_id = job.id
    execution.message = f"{job.total} document(s) à consulter."
    db.session.commit()
    launch(job)
    return execution


# -- applying one history ------------------------------------------------------------------------


@dataclass
class SyncResult:
    """What reading one document's history changed."""

    previous: str | None
    status: str | None
    inserted: list[ChorusStatusEvent] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    payment: Payment | None = None

    @property
    def changed(self) -> bool:
        return self.status != self.previous

    def summary(self) -> str:
        """One French line for the job's item list."""
        if self.changed:
            text = f"Nouveau statut : {status_label(self.status)} (avant : "
            text += f"{status_label(self.previous)})."
        else:
            text = f"Statut inchangé : {status_label(self.status)}."
        if self.inserted:
            text += f" {len(self.inserted)} étape(s) ajoutée(s) à l'historique."
        if self.notified:
            text += " Administrateurs Chorus prévenus."
        if self.payment is not None:
            text += " Soldé automatiquement (encaissement automatique)."
        if is_unknown_status(self.status):
            text += (
                " Ce statut n'est pas dans la liste officielle de Chorus Pro : il est affiché "
                "tel quel et le document reste suivi."
            )
        return text


def apply_history(document: Document, history: InvoiceHistory, *, auto_settle: bool) -> SyncResult:
    """Store what Chorus says of ``document``: history rows, status, notifications, settlement.

    Flushes; the caller commits (the notifications and the automatic payment commit or roll
    back with the rows that caused them). Raises ``IntegrityError`` when another run stored
    the same rows first: roll back and apply again (nothing is new any more).
    """
    document_type = documents.type_of(document)
    rows = history_of(document_type, document.id)
    known = [KnownEvent(r.id, r.status_code, r.changed_at, r.comment) for r in rows]
    merge = merge_history(known, history.entries, default_time=utcnow())
    by_id = {row.id: row for row in rows}
    for row_id, entry in merge.updates:
        row = by_id[row_id]
        row.changed_at = entry.passed_at or row.changed_at
        row.comment = entry.comment
    result = SyncResult(previous=document.chorus_status, status=document.chorus_status)
    for entry in merge.inserts:
        event = ChorusStatusEvent(
            document_type=document_type.value,
            document_id=document.id,
            status_code=entry.code[:60],
            changed_at=entry.passed_at or utcnow(),
            comment=entry.comment,
        )
        db.session.add(event)
        result.inserted.append(event)
    if history.current_status:
        document.chorus_status = history.current_status[:60]
        result.status = document.chorus_status
        if is_unknown_status(result.status):
            log.warning(
                "Chorus status %r of %s %s is not in the official list: stored as is, still read",
                result.status,
                document_type.value,
                document.id,
            )
    document.chorus_status_checked_at = utcnow()
    db.session.flush()

    for event in result.inserted:
        # A returned status already left behind (SUSPENDUE then COMPLETEE between two runs)
        # needs nobody: it is kept in the history, but only the current one notifies.
        if event.status_code in RETURNED_STATUSES and event.status_code == result.status:
            _notify_returned(document, event)
            result.notified.append(event.status_code)
    paid = next((e for e in result.inserted if e.status_code == PAID_STATUS), None)
    if paid is not None and auto_settle:
        from portal.billing import settlement

        result.payment = settlement.settle_automatically(document, status_at=paid.changed_at)
    db.session.flush()
    return result


def _notify_returned(document: Document, event: ChorusStatusEvent) -> None:
    """Tell the Administrateurs Chorus what the recipient said and what to do (B8)."""
    document_type = documents.type_of(document)
    explained = playbook.explain(event.status_code, event.comment)
    verb = RETURNED_VERBS.get(event.status_code, status_label(event.status_code).lower())
    comment = (
        f"Commentaire du destinataire : « {event.comment} »."
        if event.comment
        else "Le destinataire n'a laissé aucun commentaire."
    )
    notify(
        CHORUS_ADMINS,
        f"{document_type.label} {document.number} {verb} dans Chorus Pro",
        f"N° Chorus {document.chorus_invoice_id}. {comment} {explained.explanation} "
        f"À faire : {explained.fix}",
        level="danger" if event.status_code == REJECTED_STATUS else "warning",
        link_url=documents.url_of(document),
    )


# -- the job handler -----------------------------------------------------------------------------


def _client(settings: ChorusSettings, scope: audit.AuditScope) -> ChorusClient:
    return client_from_settings(
        settings, session=thread_session(), observer=audit.observer_for(scope)
    )


def _outcome(state: ItemState, code: str, message: str) -> ItemOutcome:
    explained = playbook.explain(code, message)
    return ItemOutcome(
        state, error_code=code, error_message=message, explanation=explained.explanation
    )


def sync_item(job: Job, item: JobItem, context: WorkContext | None = None) -> ItemOutcome:
    """Read one document's history and store it (commits); never raises a Chorus error."""
    document = documents.load(item.document_type, item.document_id)
    if document is None:
        return _outcome(ItemState.SKIPPED, "DOCUMENT_SUPPRIME", "Le document a été supprimé.")
    if not document.is_chorus_sent or document.chorus_invoice_id is None:
        return _outcome(
            ItemState.SKIPPED, "NON_ENVOYE", "Le document n'est pas (ou plus) dans Chorus Pro."
        )
    settings = chorus_settings.load()
    if not settings.enabled:
        return _outcome(
            ItemState.SKIPPED,
            "S1_DISABLED",
            "La dématérialisation est désactivée dans les paramètres.",
        )
    invoice_id = document.chorus_invoice_id
    scope = audit.AuditScope(item.document_type, item.document_id, job.id, job.created_by_id)
    # Never hold a transaction open across the HTTP call.
    db.session.commit()
    if context is not None:
        context.set_step("Consultation de l'historique dans Chorus Pro")
    try:
        history = _client(settings, scope).get_invoice_history(invoice_id)
    except ChorusError as error:
        return _outcome(ItemState.FAILED, playbook.error_code(error), str(error))
    audit.record(
        scope,
        HISTORY,
        ExchangeOutcome.OK,
        chorus_invoice_id=invoice_id,
        message=f"Statut courant : {history.current_status or 'inconnu'}",
    )
    for attempt in (1, 2):
        document = documents.load(item.document_type, item.document_id)
        if document is None:
            return _outcome(ItemState.SKIPPED, "DOCUMENT_SUPPRIME", "Le document a été supprimé.")
        try:
            result = apply_history(document, history, auto_settle=settings.auto_settle)
            db.session.commit()
        except IntegrityError:
            # Another run stored the same rows meanwhile: read again, nothing is new now.
            db.session.rollback()
            if attempt == 2:
                raise
            continue
        return ItemOutcome(
            ItemState.SUCCEEDED,
            chorus_invoice_id=invoice_id,
            chorus_status=result.status,
            explanation=result.summary(),
        )
    raise AssertionError("unreachable")  # pragma: no cover


class StatusSyncHandler:
    """Job handler of ``JobKind.STATUS_SYNC``."""

    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        return sync_item(job, item, context)

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        """Items are never left ``submitting`` (reading is not irreversible); if one ever is,
        reading again is safe: the outcome is that of a new read (failed if Chorus is down,
        so the job ends and the next run retries)."""
        return sync_item(job, item)

    def release(self, job: Job, item: JobItem, outcome: ItemOutcome) -> None:
        """Nothing to release: no document is locked by a status read."""

    def finalize(self, job: Job) -> None:
        """One notification per run, only when something needs attention.

        Returned statuses are notified per document as they arrive. The run's own
        notification tells the Administrateurs Chorus of documents put in payment (to settle,
        or settled automatically) and of documents that could not be read. A run that found
        nothing new stays silent, and so does the per-document button (its result shows on
        the document).
        """
        db.session.refresh(job)
        if (job.options or {}).get("trigger") == DOCUMENT:
            return
        items = list(job.items)
        paid = [
            i
            for i in items
            if i.state == ItemState.SUCCEEDED.value and i.chorus_status == PAID_STATUS
        ]
        failed = [i for i in items if i.state == ItemState.FAILED.value]
        if not paid and not failed:
            return
        parts = []
        if paid:
            numbers = ", ".join(i.document_number for i in paid[:10])
            more = "…" if len(paid) > 10 else ""
            parts.append(
                f"{len(paid)} document(s) mis en paiement ({numbers}{more}) : "
                "voir la page « À solder »."
            )
        if failed:
            parts.append(
                f"{len(failed)} document(s) n'ont pas pu être consultés ; ils le seront au "
                "prochain passage (détail sur la page de la tâche)."
            )
        notify(
            CHORUS_ADMINS,
            "Suivi des statuts Chorus Pro",
            " ".join(parts),
            level="warning" if failed else "success",
            link_url=job_url(job.id),
        )


register_handler((JobKind.STATUS_SYNC,), StatusSyncHandler)


def next_slot(moment: datetime | None = None) -> datetime:
    """The next scheduled follow-up (07:00 to 21:00 every 2 hours, Europe/Paris)."""
    moment = to_paris(moment or now())
    for hour in range(7, 22, 2):
        candidate = moment.replace(hour=hour, minute=0, second=0, microsecond=0)
        if candidate > moment:
            return candidate
    tomorrow = moment + timedelta(days=1)
    return tomorrow.replace(hour=7, minute=0, second=0, microsecond=0)


def statuses_seen(document_type: DocumentType | str) -> list[str]:
    """Every Chorus status some document of this type has (one index-only query)."""
    model = documents.model_of(str(document_type))
    return list(
        db.session.scalars(
            select(model.chorus_status)
            .where(model.chorus_status.is_not(None))
            .distinct()
            .order_by(model.chorus_status)
        )
    )
