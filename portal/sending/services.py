"""Starting sends to Chorus Pro (S9, S13, B3): what views, the CLI and the daily run call.

``plan`` sorts documents into sendable and skipped (with every reason); ``start_send`` locks
the sendable ones (compare-and-set on their Chorus state) and creates the job, which
``launch`` hands to the workers; ``portal.sending.handler`` does the per-document work.
``use_recipient_service`` sets a contract's Chorus service code from the recipient check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import update

from portal import transactions
from portal.auth.models import User
from portal.clock import utcnow
from portal.dematerialization import playbook, recipients
from portal.dematerialization.documents import Document
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobItem, JobKind
from portal.models_base import ChorusState
from portal.portfolio.models import Contract
from portal.sending import queries, rules
from portal.settings import chorus as chorus_settings
from portal.validators import ValidationFailed

# -- planning and starting ----------------------------------------------------------------------


@dataclass
class SendPlan:
    """What a send would do: documents to send, and the others with the reasons (S13)."""

    to_send: list[Document] = field(default_factory=list)
    skipped: list[tuple[Document, list[rules.Reason]]] = field(default_factory=list)


def plan(candidates: Sequence[Document], *, chorus_enabled: bool) -> SendPlan:
    """Split documents into sendable and skipped, with every reason (cached recipients)."""
    structures = queries.recipients_of(candidates)
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
        kind=kind,
        created_by_id=user.id if user else None,
        total=len(candidates) + len(extra_skipped),
        options=_send_options(secondary_document_ids, secondary_attachment_types or {}),
    )
    db.session.add(job)
    locked = _lock(planned.to_send)
    for document in planned.to_send:
        if (DocumentType.of(document), document.id) in locked:
            job.items.append(_item(document, ItemState.PENDING))
        else:
            db.session.refresh(document)
            job.items.append(_skipped_item(document, [rules.lock_refused(document.chorus_state)]))
    for document, reasons in [*planned.skipped, *extra_skipped]:
        job.items.append(_skipped_item(document, reasons))
    job.skipped = sum(1 for item in job.items if item.state == ItemState.SKIPPED)
    db.session.flush()
    return job


def _send_options(ids: Sequence[int], types: Mapping[int, str]) -> dict[str, Any]:
    options: dict[str, Any] = {"secondary_document_ids": list(ids)}
    if types:  # JSON keys are strings
        options["secondary_attachment_types"] = {str(key): code for key, code in types.items()}
    return options


def launch(job: Job) -> None:
    """Hand a committed job to this process's workers (reconciling leftovers first)."""
    from portal.jobs.pool import get_runner

    get_runner(current_app._get_current_object()).launch(job.id)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StartResult:
    """What asking for a send gave: a started job, or why nothing was started."""

    job: Job | None = None  # started: launched once the request commits
    errors: tuple[str, ...] = ()  # French reasons the document cannot be sent now
    already_running: bool = False  # another send holds the document (S9, B7)
    already_sent: bool = False  # sent before: it is not sent again (S9)


def start_single_send(
    document: Document,
    *,
    user: User | None,
    attachment_types: Mapping[int, str],
    attachment_problems: Sequence[str] = (),
) -> StartResult:
    """S9–S11: check, lock and start the send of one document with its chosen GED documents.

    ``attachment_types``: the checked Chorus type of each chosen GED document (id → code);
    ``attachment_problems``: what the send screen refuses in them (sizes, names, types). The
    job is launched once the request commits; when nothing is started, nothing is kept.
    """
    errors: list[str] = []
    planned = plan([document], chorus_enabled=True)
    if planned.skipped:
        reasons = planned.skipped[0][1]
        codes = {reason.code for reason in reasons}
        if "S9_IN_PROGRESS" in codes:
            return StartResult(already_running=True)
        if "S9_ALREADY_SENT" in codes:
            return StartResult(already_sent=True)
        errors.extend(reason.message for reason in reasons)
    errors.extend(attachment_problems)
    if errors:
        return StartResult(errors=tuple(errors))
    job = start_send(
        [document],
        kind=JobKind.SINGLE_SEND,
        user=user,
        secondary_document_ids=list(attachment_types),
        secondary_attachment_types=attachment_types,
    )
    if not job.total - job.skipped:
        # Another click or browser locked it between the check and the lock: no useless job.
        transactions.rollback()
        db.session.refresh(document)
        return StartResult(already_running=True)
    transactions.after_commit(lambda: launch(job))
    return StartResult(job=job)


def start_mass_send(documents: Sequence[Document], *, user: User | None) -> StartResult:
    """S13: lock and start one job for the selection; none when nothing in it can be sent
    (nothing is kept then). The job is launched once the request commits."""
    job = start_send(documents, kind=JobKind.MASS_SEND, user=user)
    if not job.total - job.skipped:
        transactions.rollback()
        return StartResult()
    transactions.after_commit(lambda: launch(job))
    return StartResult(job=job)


def _lock(candidates: Sequence[Document]) -> set[tuple[DocumentType, int]]:
    locked: set[tuple[DocumentType, int]] = set()
    for document_type, model in ((kind, kind.model) for kind in DocumentType):
        ids = [d.id for d in candidates if DocumentType.of(d) is document_type]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = db.session.execute(
                update(model)
                .where(model.id.in_(chunk), model.chorus_state == ChorusState.NOT_SENT)
                .values(chorus_state=ChorusState.IN_PROGRESS)
                .returning(model.id)
            )
            locked.update((document_type, row_id) for (row_id,) in rows)
    return locked


def _item(document: Document, state: ItemState) -> JobItem:
    return JobItem(
        document_type=DocumentType.of(document),
        document_id=document.id,
        document_number=document.number,
        state=state,
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


# -- the recipient's service (B3) ----------------------------------------------------------------


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
