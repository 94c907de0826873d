"""The job handler of every sending kind: what a worker does per document (S10, S11, B3, B7, B9).

For each document: recipient check → uploads → attempt recorded → ``soumettre`` → record.
A ``soumettre`` whose answer was lost is never repeated: the number is looked up in Chorus
(``reconcile``) before the document can be sent again. Jobs are created by
``portal.sending.services.start_send``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, insert, update

from portal import storage
from portal.chorus.client import ChorusClient
from portal.chorus.errors import (
    ChorusConfigurationError,
    ChorusError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.chorus.http import ChorusSession
from portal.chorus.payload import (
    NO_ATTACHMENT_TYPE,
    AttachmentRef,
    PayloadError,
    chorus_file_name,
)
from portal.chorus.results import InvoiceSummary
from portal.clock import today, utcnow
from portal.connection.factory import client_from_settings
from portal.dematerialization import audit, playbook, recipients
from portal.dematerialization.documents import Document
from portal.dematerialization.models import ChorusStatusEvent, DocumentType, ExchangeOutcome
from portal.extensions import db
from portal.jobs.links import job_url
from portal.jobs.models import ItemState, Job, JobItem, JobKind
from portal.jobs.runner import ItemOutcome, OutcomeUnknown, WorkContext
from portal.models_base import ChorusState
from portal.notifications.services import notify, store_report
from portal.portfolio.models import ClientDocument
from portal.sending import queries, reports, rules
from portal.sending.payload_input import (
    main_attachment_designation,
    main_attachment_file_name,
    origin_of,
    submission_for,
)
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings
from portal.settings.recipients import CHORUS_ADMINS

SUBMIT = "factures/soumettre"
LOOKUP = "factures/rechercher/fournisseur"
SENDING_KINDS = (JobKind.SINGLE_SEND, JobKind.MASS_SEND, JobKind.DAILY_SEND)


# -- the per-document work ----------------------------------------------------------------------


@dataclass
class _JobMemo:
    """What a worker reuses across the documents of its job (read-only facts)."""

    job_key: tuple[int, datetime]
    settings: ChorusSettings
    lookups: recipients.JobLookups
    structures: dict[str, Any] = field(default_factory=dict)


# B3: the recipient lookups of the jobs running in this process, shared by their workers.
_lookups: OrderedDict[tuple[int, datetime], recipients.JobLookups] = OrderedDict()
_lookups_guard = threading.Lock()
_KEPT_LOOKUPS = 16  # jobs whose lookups are remembered (a job runs in one process)


def _shared_lookups(key: tuple[int, datetime], settings: ChorusSettings) -> recipients.JobLookups:
    """The job's lookups: a structure checked less than the freshness setting before the
    job was created is trusted; 0 hours means the job checks each structure once."""
    with _lookups_guard:
        lookups = _lookups.get(key)
        if lookups is None:
            since = key[1] - timedelta(hours=settings.recipient_freshness_hours)
            lookups = _lookups[key] = recipients.JobLookups(since)
            while len(_lookups) > _KEPT_LOOKUPS:
                _lookups.popitem(last=False)
        return lookups


# What ``release`` runs for every document, built once as Core statements: built each time as
# ORM statements they cost 0.45 ms of CPU more per document, about 12 % of the send's own CPU
# (bench/send.py); the SET clause of ``_MARK_SENT`` comes from the values given.
_MARK_SENT = {
    kind: update(kind.model.__table__).where(kind.model.__table__.c.id == bindparam("document"))
    for kind in DocumentType
}
_SENDABLE_AGAIN = {
    kind: update(kind.model.__table__)
    .where(
        kind.model.__table__.c.id == bindparam("document"),
        kind.model.__table__.c.chorus_state == ChorusState.IN_PROGRESS,
    )
    .values(chorus_state=ChorusState.NOT_SENT)
    for kind in DocumentType
}
_FIRST_STATUS = insert(ChorusStatusEvent.__table__)


class SendHandler:
    """Job handler for every sending kind.

    The runner gives each worker its own handler (``portal.jobs.runner.work``): what the
    worker keeps across the documents of its job lives here, never shared between threads —
    the job's settings and recipient lookups (``_memo_for``) and the HTTP session whose
    connections stay open from one document to the next (urllib3 closes them when the
    handler is dropped).
    """

    def __init__(self) -> None:
        self._memo: _JobMemo | None = None

    @cached_property
    def session(self) -> ChorusSession:
        """This worker's pooled HTTP session, made on its first Chorus call."""
        return ChorusSession()

    def _memo_for(self, job: Job) -> _JobMemo:
        # Keyed by id and creation time: an id alone can come back (SQLite reuses deleted ids).
        key = (job.id, job.created_at)
        if self._memo is None or self._memo.job_key != key:
            settings = chorus_settings.load()
            self._memo = _JobMemo(key, settings, _shared_lookups(key, settings))
        return self._memo

    def _client(self, settings: ChorusSettings, scope: audit.AuditScope) -> ChorusClient:
        return client_from_settings(
            settings, session=self.session, observer=audit.observer_for(scope)
        )

    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        """Send one document; the exchanges noted on the way travel with the outcome to
        ``release``, which saves them in the transaction recording it."""
        scope = audit.AuditScope(item.document_type, item.document_id, job.id, job.created_by_id)
        try:
            outcome = self._send(job, item, context, scope)
        except Exception:
            audit.write_pending(scope)  # an unexpected end: the calls made stay in the audit
            raise
        return replace(outcome, handover=scope)

    def _send(
        self, job: Job, item: JobItem, context: WorkContext, scope: audit.AuditScope
    ) -> ItemOutcome:
        watched = job.kind == JobKind.SINGLE_SEND
        wanted = [int(i) for i in (job.options or {}).get("secondary_document_ids", [])]
        wanted_types = (job.options or {}).get("secondary_attachment_types") or {}
        document = queries.document_to_send(item.document_type, item.document_id)
        if document is None:
            return _failed("DOCUMENT_SUPPRIME", "Le document a été supprimé entre-temps.")
        origin_of(document)  # a credit note's origin, through re-issues (B10), before detaching
        memo = self._memo_for(job)
        settings = memo.settings
        if not settings.enabled:
            return _outcome(
                ItemState.SKIPPED,
                "S1_DISABLED",
                "La dématérialisation est désactivée dans les paramètres.",
            )
        siret = document.client.siret
        contract = document.contract
        service_code = contract.chorus_service_code if contract is not None else None
        structure = memo.structures.get(siret or "") or recipients.cached(siret)
        chosen = queries.secondary_documents(document, wanted)
        # Everything needed is loaded: detach it and end the transaction, so no transaction
        # stays open across the Chorus calls and progress commits do not expire it.
        db.session.expunge_all()
        db.session.rollback()
        try:
            client = self._client(settings, scope)
            if siret and not memo.lookups.trusts(structure, service_code):
                context.set_step("Vérification du destinataire dans Chorus Pro")
                # Loaded with its services, then detached.
                structure = memo.lookups.check(siret, service_code, client, item.tries)
                db.session.expunge_all()
                db.session.rollback()
            if siret and structure is not None:
                memo.structures[siret] = structure
            verdict = rules.eligibility(
                document,
                chorus_enabled=True,
                has_vat_exemption_code=settings.vat_exemption_code is not None,
                recipient=structure,
                locked_by_caller=True,
            )
            if not verdict.eligible:
                blocking = [r for r in verdict.reasons if r.blocking]
                return _outcome(ItemState.SKIPPED, blocking[0].code, _join(blocking))
            payload = self._upload_and_build(
                document,
                [(ged, wanted_types.get(str(ged.id))) for ged in chosen],
                client,
                settings,
                scope,
                context if watched or chosen else None,
            )
        except ChorusRefused as error:
            return _refused(error)
        except ChorusUnavailable as error:
            return _transient(error, scope)
        except ChorusError as error:
            return _outcome(ItemState.FAILED, error.code, str(error))
        except PayloadError as error:
            return _outcome(ItemState.FAILED, "DONNEES_INCOMPLETES", str(error))

        if item.attempts:
            # An earlier attempt of this item may have reached Chorus (its answer was lost,
            # then a look-up found nothing): look again before sending it a second time.
            context.set_step("Vérification dans Chorus Pro avant un nouvel essai")
            try:
                found = _find_in_chorus(client, settings, item.document_number)
            except ChorusUnavailable as error:
                return _transient(error, scope)
            except ChorusError as error:
                return _outcome(ItemState.FAILED, error.code, str(error))
            if found is not None:
                audit.write_pending(scope)
                return _reconciled(scope, found)

        context.mark_submitting("Soumission de la facture")
        try:
            submitted = client.submit_invoice(payload)
        except ChorusRefused as error:
            return _refused(error)
        except ChorusUnavailable as error:
            if error.outcome_unknown:
                audit.note(scope, SUBMIT, ExchangeOutcome.UNKNOWN, message=str(error))
                audit.write_pending(scope)  # the outcome may be recorded by another process
                raise OutcomeUnknown from error
            return _transient(error, scope)  # refused at the door (429, no connection)
        except ChorusError as error:
            return _outcome(ItemState.FAILED, error.code, str(error))
        audit.note(
            scope,
            SUBMIT,
            ExchangeOutcome.OK,
            chorus_invoice_id=submitted.identifiant_facture_cpp,
            message=f"Facture déposée, statut {submitted.statut or 'DEPOSEE'}",
        )
        return ItemOutcome(
            ItemState.SUCCEEDED,
            chorus_invoice_id=submitted.identifiant_facture_cpp,
            chorus_status=submitted.statut or "DEPOSEE",
        )

    def _upload_and_build(
        self,
        document: Document,
        chosen: Sequence[tuple[ClientDocument, str | None]],
        client: ChorusClient,
        settings: ChorusSettings,
        scope: audit.AuditScope,
        context: WorkContext | None,
    ) -> dict[str, Any]:
        """Upload the main PDF then each chosen GED file, one at a time (bounded memory).

        ``chosen``: each GED document with the type chosen for it on the send screen; none
        (mass sends, the daily run, older jobs) takes the administrator's default type.
        """
        typed = [(ged, kind or settings.default_attachment_type) for ged, kind in chosen]
        for ged, kind in typed:  # before any upload: nothing is sent for nothing
            if not kind:
                raise PayloadError(NO_ATTACHMENT_TYPE.format(name=ged.original_name))
        # Progress is published where someone watches it (a single send, attachments); a
        # mass send shows its progress per document already, and saves the commits.
        if context is not None:
            context.set_step("Dépôt de la pièce principale")
        if document.pdf_stored_name is None:
            raise PayloadError("Le PDF du document est introuvable.")
        main_name = main_attachment_file_name(document)
        main_id = self._upload(
            client, scope, storage.read_bytes(storage.PDF, document.pdf_stored_name), main_name
        )
        main = AttachmentRef(main_id, main_attachment_designation(document))
        secondary = []
        for position, (ged, kind) in enumerate(typed, start=1):
            if context is not None:
                context.set_step(f"Dépôt de la pièce jointe {position}/{len(typed)}")
            name = chorus_file_name(ged.original_name)
            content = storage.read_bytes(storage.GED, ged.stored_name)
            attachment_id = self._upload(client, scope, content, name, ged.mime_type)
            del content
            secondary.append(AttachmentRef(attachment_id, ged.original_name[:100], kind))
        return submission_for(
            document,
            settings=settings,
            invoice_date=today(),
            main_attachment=main,
            secondary_attachments=secondary,
        )

    @staticmethod
    def _upload(
        client: ChorusClient,
        scope: audit.AuditScope,
        content: bytes,
        name: str,
        mime_type: str = "application/pdf",
    ) -> int:
        uploaded = client.upload_attachment(content, name, mime_type)
        audit.note(
            scope,
            "transverses/ajouter/fichier",
            ExchangeOutcome.OK,
            attachment_id=uploaded.piece_jointe_id,
            message=f"Pièce « {name} » déposée",
        )
        return uploaded.piece_jointe_id

    def reconcile(self, job: Job, item: JobItem) -> ItemOutcome | None:
        """B7: did Chorus receive the invoice whose answer was lost? Look its number up."""
        settings = chorus_settings.load()
        scope = audit.AuditScope(item.document_type, item.document_id, job.id, job.created_by_id)
        if settings.supplier_id is None:
            return None
        try:
            found = _find_in_chorus(self._client(settings, scope), settings, item.document_number)
        except ChorusError:
            return None
        if found is not None:
            return _reconciled(scope, found)
        audit.record(
            scope,
            LOOKUP,
            ExchangeOutcome.OK,
            message="Rapprochement : facture absente de Chorus Pro, elle peut être renvoyée",
        )
        # Retried by the job (which looks the number up again first) while the policy allows.
        return replace(
            _outcome(
                ItemState.FAILED,
                "ISSUE_INCONNUE",
                "La réponse de Chorus Pro a été perdue et la facture n'y figure pas : "
                "elle peut être renvoyée.",
            ),
            transient=True,
        )

    def release(self, job: Job, item: JobItem, outcome: ItemOutcome) -> None:
        """Apply the outcome to the document: sent with its N° Chorus, or sendable again."""
        if isinstance(outcome.handover, audit.AuditScope):
            audit.save_pending(outcome.handover)
        if outcome.state is not ItemState.SUCCEEDED:
            db.session.execute(_SENDABLE_AGAIN[item.document_type], {"document": item.document_id})
            return
        now = utcnow()
        db.session.execute(
            _MARK_SENT[item.document_type],
            {
                "document": item.document_id,
                "chorus_state": ChorusState.SENT,
                "chorus_invoice_id": outcome.chorus_invoice_id,
                "chorus_status": outcome.chorus_status,
                "chorus_deposited_at": now,
                "chorus_status_checked_at": now,
            },
        )
        db.session.execute(
            _FIRST_STATUS,
            {
                "document_type": item.document_type,
                "document_id": item.document_id,
                "status_code": outcome.chorus_status or "DEPOSEE",
                "changed_at": now,
                "recorded_at": now,
            },
        )

    def finalize(self, job: Job) -> None:
        """End notification to every Chorus administrator, with the CSV report (S11, S13)."""
        db.session.refresh(job)
        job.report = store_report(reports.report_filename(job), reports.build_job_report(job))
        # S11: a successful single send is announced without a report (it stays on the job page).
        quiet = job.kind == JobKind.SINGLE_SEND and job.succeeded == job.total
        title, body, level = _summary(job)
        notify(
            CHORUS_ADMINS,
            title,
            body,
            level=level,
            link_url=job_url(job.id),
            report=None if quiet else job.report,
        )


def _summary(job: Job) -> tuple[str, str, str]:
    if job.kind == JobKind.SINGLE_SEND and job.items:
        item = job.items[0]
        label = item.document_type.label
        if item.state == ItemState.SUCCEEDED:
            return (
                f"{label} {item.document_number} envoyée à Chorus Pro",
                f"N° Chorus {item.chorus_invoice_id}, statut {item.chorus_status}.",
                "success",
            )
        return (
            f"Échec de la dématérialisation de {label.lower()} {item.document_number}",
            f"{item.error_message or ''} Le document peut être renvoyé ; détail dans le rapport.",
            "danger",
        )
    kind = job.kind.label
    body = (
        f"{job.succeeded} envoyé(s), {job.skipped} ignoré(s), {job.failed} refusé(s) ou en échec "
        f"sur {job.total} document(s). Le rapport CSV détaille chaque document. "
        f"Lancée par {job.launched_by}."
    )
    if job.resumed_count:
        body += " Interrompue puis reprise par un autre processus."
    outcome = job.outcome  # « terminée », « terminée avec erreurs », « en échec »…
    return f"{kind} {outcome.label.lower()}", body, outcome.colour


def _find_in_chorus(
    client: ChorusClient, settings: ChorusSettings, number: str
) -> InvoiceSummary | None:
    """The invoice Chorus holds under this number, if any (B7).

    A number goes to Chorus once, whatever its case and even once rejected (EVIDENCE.md
    § 5): an invoice found under it is this document's, REJETEE included.
    """
    if settings.supplier_id is None:
        raise ChorusConfigurationError("Identifiant fournisseur manquant.", operation=LOOKUP)
    wanted = number.casefold()
    found = client.find_invoices(number, settings.supplier_id)
    kept = [f for f in found if (f.numero_facture or "").casefold() == wanted]
    return max(kept, key=lambda f: f.identifiant_facture_cpp) if kept else None


def _reconciled(scope: audit.AuditScope, invoice: InvoiceSummary) -> ItemOutcome:
    audit.record(
        scope,
        LOOKUP,
        ExchangeOutcome.OK,
        chorus_invoice_id=invoice.identifiant_facture_cpp,
        message="Rapprochement : la facture a bien été reçue par Chorus Pro",
    )
    return ItemOutcome(
        ItemState.SUCCEEDED,
        chorus_invoice_id=invoice.identifiant_facture_cpp,
        chorus_status=invoice.statut or "DEPOSEE",
    )


def _transient(error: ChorusUnavailable, scope: audit.AuditScope) -> ItemOutcome:
    """Chorus could not be reached or turned the call away: nothing was done, try later.

    The failed call itself is in the audit already (the client's observer).
    """
    audit.write_pending(scope)  # what succeeded before it (uploads) stays in the audit
    return replace(
        _outcome(ItemState.FAILED, error.code, str(error)),
        transient=True,
        retry_after=error.retry_after,
    )


def _join(reasons: Sequence[rules.Reason]) -> str:
    return " ; ".join(reason.message for reason in reasons)


def _outcome(state: ItemState, code: str | None, message: str | None) -> ItemOutcome:
    explained = playbook.explain(code, message)
    return ItemOutcome(
        state, error_code=code, error_message=message, explanation=explained.explanation
    )


def _refused(error: ChorusRefused) -> ItemOutcome:
    return _outcome(ItemState.FAILED, error.code, error.libelle)


def _failed(code: str, message: str) -> ItemOutcome:
    return _outcome(ItemState.FAILED, code, message)
