"""Sending documents to Chorus Pro as background jobs (S9–S11, S13, B3, B7, B9).

One code path for every way of sending (single with GED attachments, mass, daily run, CLI):
``start_send`` locks the documents and creates the job, the runner calls ``SendHandler``
for each document: recipient check → uploads → attempt recorded → ``soumettre`` → record.
A ``soumettre`` whose answer was lost is never repeated: the number is looked up in Chorus
(``reconcile``) before the document can be sent again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import joinedload

from portal import storage
from portal.auth.models import User
from portal.billing.models import FeeInvoice, Receipt
from portal.chorus.client import ChorusClient
from portal.chorus.errors import (
    ChorusConfigurationError,
    ChorusError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.chorus.factory import client_from_settings
from portal.chorus.http import thread_session
from portal.chorus.payload import (
    NO_ATTACHMENT_TYPE,
    AttachmentRef,
    PayloadError,
    build_submission,
    chorus_file_name,
    main_attachment_designation,
    main_attachment_file_name,
    origin_of,
)
from portal.chorus.results import InvoiceSummary
from portal.clock import today, utcnow
from portal.dematerialization import audit, documents, playbook, recipients
from portal.dematerialization.documents import Document
from portal.dematerialization.models import ChorusStatusEvent, DocumentType, ExchangeOutcome
from portal.extensions import db
from portal.jobs.links import job_url
from portal.jobs.models import ItemState, Job, JobItem, JobKind
from portal.jobs.runner import ItemOutcome, OutcomeUnknown, WorkContext, register_handler
from portal.models_base import ChorusState
from portal.notifications.services import notify, store_report
from portal.portfolio.models import ClientDocument, Contract
from portal.sending import reports, rules
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings
from portal.validators import ValidationFailed

SUBMIT = "factures/soumettre"
LOOKUP = "factures/rechercher/fournisseur"
SENDING_KINDS = (JobKind.SINGLE_SEND, JobKind.MASS_SEND, JobKind.DAILY_SEND)
CHORUS_ADMINS = "chorus_admins"


# -- planning and starting ----------------------------------------------------------------------


@dataclass
class SendPlan:
    """What a send would do: documents to send, and the others with the reasons (S13)."""

    to_send: list[Document] = field(default_factory=list)
    skipped: list[tuple[Document, list[rules.Reason]]] = field(default_factory=list)


def plan(candidates: Sequence[Document], *, chorus_enabled: bool) -> SendPlan:
    """Split documents into sendable and skipped, with every reason (cached recipients)."""
    structures = _cached_structures(candidates)
    has_vat_exemption_code = chorus_settings.has_vat_exemption_code()
    result = SendPlan()
    for document in candidates:
        client = document.client
        verdict = rules.eligibility(
            document,
            chorus_enabled=chorus_enabled,
            has_vat_exemption_code=has_vat_exemption_code,
            recipient=structures.get(client.siret or ""),
        )
        if verdict.eligible:
            result.to_send.append(document)
        else:
            result.skipped.append((document, [r for r in verdict.reasons if r.blocking]))
    return result


def _cached_structures(candidates: Sequence[Document]) -> dict[str, Any]:
    from portal.dematerialization.models import RecipientStructure

    sirets = {d.client.siret for d in candidates if d.client.siret}
    if not sirets:
        return {}
    rows = db.session.scalars(
        select(RecipientStructure).where(RecipientStructure.siret.in_(sirets))
    )
    return {row.siret: row for row in rows}


def start_send(
    candidates: Sequence[Document],
    *,
    kind: JobKind,
    user: User | None,
    secondary_document_ids: Sequence[int] = (),
    secondary_attachment_types: Mapping[int, str] | None = None,
    extra_skipped: Sequence[tuple[Document, list[rules.Reason]]] = (),
) -> Job:
    """Create a send job: eligible documents are locked (in progress), the others skipped.

    ``secondary_attachment_types``: the Chorus type chosen for each secondary attachment (GED
    document id → code of ``recuperer/typespj``); one left out gets the administrator's
    default when the job runs.

    Locking is a compare-and-set on the document's Chorus state, so two jobs (two clicks,
    browsers, processes or servers) can never both hold a document. Flushes; the caller
    commits, then calls ``launch``.
    """
    settings = chorus_settings.load()
    planned = plan(candidates, chorus_enabled=settings.enabled)
    job = Job(
        kind=kind.value,
        created_by_id=user.id if user else None,
        total=len(candidates) + len(extra_skipped),
        options=_send_options(secondary_document_ids, secondary_attachment_types or {}),
    )
    db.session.add(job)
    locked = _lock(planned.to_send)
    for document in planned.to_send:
        if (documents.type_of(document), document.id) in locked:
            job.items.append(_item(document, ItemState.PENDING))
        else:
            db.session.refresh(document)
            job.items.append(_skipped_item(document, [_lock_reason(document)]))
    for document, reasons in [*planned.skipped, *extra_skipped]:
        job.items.append(_skipped_item(document, reasons))
    job.skipped = sum(1 for item in job.items if item.state == ItemState.SKIPPED.value)
    db.session.flush()
    return job


def _send_options(ids: Sequence[int], types: Mapping[int, str]) -> dict[str, Any]:
    options: dict[str, Any] = {"secondary_document_ids": list(ids)}
    if types:  # JSON keys are strings
        options["secondary_attachment_types"] = {str(key): code for key, code in types.items()}
    return options


def launch(job: Job) -> None:
    """Hand a committed job to this process's workers (reconciling leftovers first)."""
    from portal.jobs.runner import get_runner

    get_runner(current_app._get_current_object()).launch(job.id)  # type: ignore[attr-defined]


def _lock(candidates: Sequence[Document]) -> set[tuple[DocumentType, int]]:
    locked: set[tuple[DocumentType, int]] = set()
    for document_type, model in documents.MODELS.items():
        ids = [d.id for d in candidates if documents.type_of(d) is document_type]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = db.session.execute(
                update(model)
                .where(model.id.in_(chunk), model.chorus_state == ChorusState.NOT_SENT.value)
                .values(chorus_state=ChorusState.IN_PROGRESS.value)
                .returning(model.id)
            )
            locked.update((document_type, row_id) for (row_id,) in rows)
    return locked


def _lock_reason(document: Document) -> rules.Reason:
    if document.chorus_state == ChorusState.SENT.value:
        return rules.Reason("S9_ALREADY_SENT", "Déjà dématérialisée dans Chorus Pro.")
    return rules.Reason("S9_IN_PROGRESS", "Une dématérialisation est déjà en cours.")


def _item(document: Document, state: ItemState) -> JobItem:
    return JobItem(
        document_type=documents.type_of(document).value,
        document_id=document.id,
        document_number=document.number,
        state=state.value,
    )


def _skipped_item(document: Document, reasons: Sequence[rules.Reason]) -> JobItem:
    item = _item(document, ItemState.SKIPPED)
    item.finished_at = utcnow()
    item.error_code = reasons[0].code if reasons else None
    item.error_message = " ; ".join(r.message for r in reasons)
    item.explanation = playbook.explain(item.error_code, item.error_message).explanation
    if document.chorus_invoice_id:
        item.chorus_invoice_id = document.chorus_invoice_id
        item.chorus_status = document.chorus_status
    return item


# -- the per-document work ----------------------------------------------------------------------

_local = threading.local()


@dataclass
class _JobMemo:
    """What one worker thread reuses across the documents of one job (read-only facts)."""

    job_key: tuple[int, datetime]
    settings: ChorusSettings
    lookups: recipients.JobLookups
    structures: dict[str, Any] = field(default_factory=dict)


def _job_memo(job: Job) -> _JobMemo:
    # Keyed by id and creation time: an id alone can come back (SQLite reuses deleted ids).
    key = (job.id, job.created_at)
    memo: _JobMemo | None = getattr(_local, "memo", None)
    if memo is None or memo.job_key != key:
        settings = chorus_settings.load()
        memo = _local.memo = _JobMemo(key, settings, _shared_lookups(key, settings))
    return memo


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


# The statements ``release`` runs for every document, built once (see ``portal.jobs.runner``).
_MARK_SENT = {  # the SET clause comes from the values given
    document_type: update(model.__table__).where(model.__table__.c.id == bindparam("document"))
    for document_type, model in documents.MODELS.items()
}
_SENDABLE_AGAIN = {
    document_type: update(model.__table__)
    .where(
        model.__table__.c.id == bindparam("document"),
        model.__table__.c.chorus_state == ChorusState.IN_PROGRESS.value,
    )
    .values(chorus_state=ChorusState.NOT_SENT.value)
    for document_type, model in documents.MODELS.items()
}
_FIRST_STATUS = insert(ChorusStatusEvent.__table__)


class SendHandler:
    """Job handler for every sending kind."""

    def process(self, job: Job, item: JobItem, context: WorkContext) -> ItemOutcome:
        scope = audit.AuditScope(item.document_type, item.document_id, job.id, job.created_by_id)
        _local.audit = (item.id, scope)  # saved with the outcome by ``release``
        watched = job.kind == JobKind.SINGLE_SEND.value
        wanted = [int(i) for i in (job.options or {}).get("secondary_document_ids", [])]
        wanted_types = (job.options or {}).get("secondary_attachment_types") or {}
        document = _snapshot(item.document_type, item.document_id)
        if document is None:
            return _failed("DOCUMENT_SUPPRIME", "Le document a été supprimé entre-temps.")
        memo = _job_memo(job)
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
        chosen = _secondary_documents(document, wanted)
        # Everything needed is loaded: detach it and end the transaction, so no transaction
        # stays open across the Chorus calls and progress commits do not expire it.
        db.session.expunge_all()
        db.session.rollback()
        try:
            client = _client(settings, scope)
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
            return _outcome(ItemState.FAILED, type(error).__name__, str(error))
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
                return _outcome(ItemState.FAILED, type(error).__name__, str(error))
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
            return _outcome(ItemState.FAILED, type(error).__name__, str(error))
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
        return build_submission(
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
            found = _find_in_chorus(_client(settings, scope), settings, item.document_number)
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
        noted: tuple[int, audit.AuditScope] | None = getattr(_local, "audit", None)
        if noted is not None and noted[0] == item.id:
            audit.save_pending(noted[1])
            _local.audit = None
        document_type = DocumentType(item.document_type)
        if outcome.state is not ItemState.SUCCEEDED:
            db.session.execute(_SENDABLE_AGAIN[document_type], {"document": item.document_id})
            return
        now = utcnow()
        db.session.execute(
            _MARK_SENT[document_type],
            {
                "document": item.document_id,
                "chorus_state": ChorusState.SENT.value,
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
        quiet = job.kind == JobKind.SINGLE_SEND.value and job.succeeded == job.total
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
    if job.kind == JobKind.SINGLE_SEND.value and job.items:
        item = job.items[0]
        label = DocumentType(item.document_type).label
        if item.state == ItemState.SUCCEEDED.value:
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
    kind = JobKind(job.kind).label
    body = (
        f"{job.succeeded} envoyé(s), {job.skipped} ignoré(s), {job.failed} refusé(s) ou en échec "
        f"sur {job.total} document(s). Le rapport CSV détaille chaque document. "
        f"Lancée par {job.launched_by}."
    )
    if job.resumed_count:
        body += " Interrompue puis reprise par un autre processus."
    outcome = job.outcome  # « terminée », « terminée avec erreurs », « en échec »…
    return f"{kind} {outcome.label.lower()}", body, outcome.colour


def _snapshot(document_type: str, document_id: int) -> Document | None:
    """The document with everything the rules and the payload read, in one query."""
    statement = _SNAPSHOTS[DocumentType(document_type)]
    document = cast(Document | None, db.session.scalar(statement, {"document": document_id}))
    if document is not None:
        origin_of(document)  # a credit note's origin, through re-issues (B10), before detaching
    return document


_receipt_contract = joinedload(Receipt.contract)
_fee_invoice_contract = joinedload(FeeInvoice.contract)
_SNAPSHOTS = {  # built once, as they run for every document
    DocumentType.RECEIPT: select(Receipt)
    .where(Receipt.id == bindparam("document"))
    .options(
        _receipt_contract.joinedload(Contract.client),
        _receipt_contract.joinedload(Contract.bank_account),
        _receipt_contract.joinedload(Contract.company),
        joinedload(Receipt.original_receipt).joinedload(Receipt.replaced_by),
    ),
    DocumentType.FEE_INVOICE: select(FeeInvoice)
    .where(FeeInvoice.id == bindparam("document"))
    .options(
        joinedload(FeeInvoice.client),
        joinedload(FeeInvoice.company),
        _fee_invoice_contract.joinedload(Contract.bank_account),
        _fee_invoice_contract.joinedload(Contract.company),
        joinedload(FeeInvoice.original_fee_invoice).joinedload(FeeInvoice.replaced_by),
    ),
}


def _secondary_documents(document: Document, wanted: Sequence[int]) -> list[ClientDocument]:
    if not wanted:
        return []
    rows = db.session.scalars(
        select(ClientDocument).where(
            ClientDocument.id.in_(wanted), ClientDocument.client_id == document.client.id
        )
    )
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in wanted if i in by_id]


def _client(settings: ChorusSettings, scope: audit.AuditScope) -> ChorusClient:
    return client_from_settings(
        settings, session=thread_session(), observer=audit.observer_for(scope)
    )


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
        _outcome(ItemState.FAILED, type(error).__name__, str(error)),
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
    code = error.code_retour if error.code_retour is not None else error.http_status
    return _outcome(ItemState.FAILED, None if code is None else str(code), error.libelle)


def _failed(code: str, message: str) -> ItemOutcome:
    return _outcome(ItemState.FAILED, code, message)


register_handler(SENDING_KINDS, SendHandler)


def use_recipient_service(contract: Contract, code: str) -> str:
    """B3 « Utiliser ce service »: set the contract's service code to an active service.

    Only a service of the cached structure that may be invoiced is accepted. Flushes.
    """
    wanted = rules.clean(code)
    structure = recipients.cached(contract.client.siret)
    if structure is None or not structure.is_found:
        raise ValidationFailed(
            "Le destinataire n'a pas encore été vérifié dans Chorus Pro : "
            "cliquez sur « Vérifier dans Chorus Pro »."
        )
    service = next((s for s in structure.active_services if s.code == wanted), None)
    if service is None:
        raise ValidationFailed(
            f"Le service « {wanted} » n'est pas un service actif de la structure destinataire."
        )
    contract.chorus_service_code = service.code
    db.session.flush()
    return service.code
