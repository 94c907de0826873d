"""The ``STATUS_SYNC`` job handler (B1): read one document's history per job item, store it.

Each item reads ``consulter/historique`` outside any transaction, then applies the history
in one (``services.apply_history``). A refusal or an outage on one document fails that item
only; the others go on. Reading a status is idempotent, so a document whose read failed is
simply read again next run.
"""

from __future__ import annotations

from functools import cached_property

import requests
from sqlalchemy.exc import IntegrityError

from portal.chorus.client import ChorusClient
from portal.chorus.errors import ChorusError
from portal.chorus.http import ChorusSession
from portal.chorus.statuses import PAID_STATUS
from portal.connection.factory import client_from_settings
from portal.dematerialization import audit, documents, playbook
from portal.dematerialization.models import ExchangeOutcome
from portal.extensions import db
from portal.followup.services import DOCUMENT, apply_history
from portal.jobs.links import job_url
from portal.jobs.models import ItemState, Job, JobItem
from portal.jobs.runner import ItemOutcome, WorkContext
from portal.notifications.services import notify
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings
from portal.settings.recipients import CHORUS_ADMINS

HISTORY = "factures/consulter/historique"


def _client(
    settings: ChorusSettings, scope: audit.AuditScope, session: requests.Session
) -> ChorusClient:
    return client_from_settings(settings, session=session, observer=audit.observer_for(scope))


def _outcome(state: ItemState, code: str, message: str) -> ItemOutcome:
    explained = playbook.explain(code, message)
    return ItemOutcome(
        state, error_code=code, error_message=message, explanation=explained.explanation
    )


def sync_item(
    job: Job, item: JobItem, session: requests.Session, context: WorkContext | None = None
) -> ItemOutcome:
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
        history = _client(settings, scope, session).get_invoice_history(invoice_id)
    except ChorusError as error:
        return _outcome(ItemState.FAILED, error.code, str(error))
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
    """Job handler of ``JobKind.STATUS_SYNC``; one per worker (``portal.jobs.runner``)."""

    @cached_property
    def session(self) -> ChorusSession:
        """This worker's pooled HTTP session: connections stay open across its documents."""
        return ChorusSession()

    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        return sync_item(job, item, self.session, context)

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        """Items are never left ``submitting`` (reading is not irreversible); if one ever is,
        reading again is safe: the outcome is that of a new read (failed if Chorus is down,
        so the job ends and the next run retries)."""
        return sync_item(job, item, self.session)

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
            i for i in items if i.state == ItemState.SUCCEEDED and i.chorus_status == PAID_STATUS
        ]
        failed = [i for i in items if i.state == ItemState.FAILED]
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
