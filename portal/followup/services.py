"""Chorus Pro status follow-up (B1, B2): start a run, store what Chorus says of a document.

- ``run_status_sync`` is the single entry point of the schedule (every 2 hours from 07:00 to
  21:00 Europe/Paris), the Tâches page button and ``flask chorus sync-statuses``. A scheduled
  firing claims its slot (``suivi_statuts:2026-11-27T09``), so however many processes fire,
  one run happens. ``start_status_sync`` also serves the per-document button.
- ``apply_history`` stores, in ONE transaction, the new history rows of a document, its
  status, the notification of a returned status (``REJETEE``, ``SUSPENDUE``,
  ``A_RECYCLER``) to the Administrateurs Chorus and the automatic settlement when
  ``MISE_EN_PAIEMENT`` arrives (B2). A notification or an automatic payment is tied to the
  insertion of its history row, which a unique constraint makes happen once: two runs
  reading the same history at the same time notify once and settle once.

The job reading each document is ``portal.followup.handler``; the rules are in ``rules.py``,
the reads in ``queries.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from portal.auth.models import User
from portal.billing.models import Payment
from portal.chorus.results import InvoiceHistory
from portal.chorus.statuses import PAID_STATUS, REJECTED_STATUS, RETURNED_STATUSES
from portal.clock import to_paris, today, utcnow
from portal.dematerialization import documents, playbook
from portal.dematerialization.documents import Document
from portal.dematerialization.models import ChorusStatusEvent, DocumentType
from portal.extensions import db
from portal.followup import queries
from portal.followup.rules import (
    KnownEvent,
    is_unknown_status,
    merge_history,
    returned_verb,
    status_label,
)
from portal.jobs import executions
from portal.jobs.models import ExecutionState, ItemState, Job, JobItem, JobKind, TaskExecution
from portal.notifications.services import notify
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings
from portal.settings.recipients import CHORUS_ADMINS

log = logging.getLogger(__name__)

TASK = "suivi_statuts"

# ``Job.options["trigger"]`` and ``TaskExecution.trigger`` (at most 20 characters).
SCHEDULED = "planifiée"  # the every-2-hours schedule
MANUAL = "manuelle"  # "Actualiser les statuts Chorus" on the Tâches page
COMMAND = "commande"  # flask chorus sync-statuses
DOCUMENT = "document"  # "Actualiser le statut" on one document


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
        rows = queries.candidates()
    else:
        rows = [
            (DocumentType.of(d), d.id, d.number)
            for d in only
            if d.is_chorus_sent and d.chorus_invoice_id is not None
        ]
    if not rows:
        return None
    job = Job(
        kind=JobKind.STATUS_SYNC,
        created_by_id=user.id if user is not None else None,
        total=len(rows),
        options={"trigger": trigger},
    )
    job.items = [
        JobItem(
            document_type=document_type,
            document_id=document_id,
            document_number=number,
            state=ItemState.PENDING,
        )
        for document_type, document_id, number in rows
    ]
    db.session.add(job)
    db.session.flush()
    return job


def launch(job: Job) -> None:
    """Hand a committed job to this process's workers."""
    from portal.jobs.pool import get_runner

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
    if execution.state == ExecutionState.SKIPPED:
        return execution
    problems = schedule_problems(chorus_settings.load())
    if problems:
        execution.state = ExecutionState.FAILED
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
    document_type = DocumentType.of(document)
    rows = queries.history_of(document_type, document.id)
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
            document_type=document_type,
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
                document_type,
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
    document_type = DocumentType.of(document)
    explained = playbook.explain(event.status_code, event.comment)
    comment = (
        f"Commentaire du destinataire : « {event.comment} »."
        if event.comment
        else "Le destinataire n'a laissé aucun commentaire."
    )
    notify(
        CHORUS_ADMINS,
        f"{document_type.label} {document.number} {returned_verb(event.status_code)} "
        "dans Chorus Pro",
        f"N° Chorus {document.chorus_invoice_id}. {comment} {explained.explanation} "
        f"À faire : {explained.fix}",
        level="danger" if event.status_code == REJECTED_STATUS else "warning",
        link_url=documents.url_of(document),
    )
