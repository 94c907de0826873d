"""What the dematerialization screens show: read-only assembly for panels, badges and screens.

Document Chorus panel (S9, S11, B8, B9), list badges (one SQL query per page), the single
send screen's attachment candidates (S10), the contract's recipient panel (B3) and the
selection of a mass send (S13). Nothing here changes state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import storage
from portal.auth.models import User
from portal.billing import queries as billing_queries
from portal.billing.filters import DocumentFilters, ReceiptFilters
from portal.billing.models import FeeInvoice, Receipt
from portal.dematerialization import playbook, recipients
from portal.dematerialization.documents import Document
from portal.dematerialization.models import (
    ChorusExchange,
    DocumentType,
    ExchangeOutcome,
    RecipientService,
    RecipientStructure,
)
from portal.extensions import db
from portal.jobs.models import UNFINISHED_ITEM_STATES, ItemState, Job, JobItem
from portal.models_base import ChorusState
from portal.portfolio.models import ClientDocument, Contract
from portal.sending import queries, rules
from portal.sending.attachments import Candidate, CandidateCheck, check_candidate
from portal.sending.payload_input import main_attachment_file_name
from portal.sending.services import SendPlan
from portal.settings import chorus as chorus_settings

# Chorus operations (B9) in French words; unknown ones are shown as they are.
OPERATION_LABELS = {
    "token": "Obtention du jeton d'accès",
    "transverses/health-check": "Test de disponibilité",
    "transverses/ajouter/fichier": "Dépôt d'une pièce jointe",
    "factures/soumettre": "Soumission de la facture",
    "factures/rechercher/fournisseur": "Recherche de la facture (rapprochement)",
    "factures/consulter/fournisseur": "Consultation de la facture",
    "factures/consulter/historique": "Consultation de l'historique des statuts",
    "structures/rechercher": "Recherche de la structure destinataire",
    "structures/consulter": "Consultation de la structure destinataire",
    "structures/rechercher/services": "Liste des services du destinataire",
    "structures/consulter/service": "Consultation d'un service du destinataire",
    # Not a call to Chorus: the portal's own answer to a REJETEE (billing.services.reissue).
    "portail/reemission": "Réémission sous un nouveau numéro",
}

EXCHANGES_SHOWN = 200
LOCK_CODES = ("S9_IN_PROGRESS", "S9_ALREADY_SENT")
MAX_MASS_SELECTION = 10_000
_CHUNK = 500


def operation_label(operation: str) -> str:
    return OPERATION_LABELS.get(operation, operation)


# -- document Chorus panel (S9, S11, B8, B9) ----------------------------------------------------


@dataclass(frozen=True)
class ExchangeRow:
    exchange: ChorusExchange
    user_name: str | None

    @property
    def operation(self) -> str:
        return operation_label(self.exchange.operation)

    @property
    def outcome(self) -> ExchangeOutcome:
        return self.exchange.outcome


@dataclass(frozen=True)
class LastFailure:
    """The document's last send that did not succeed, explained (B8)."""

    item: JobItem
    explanation: playbook.Explanation


@dataclass(frozen=True)
class DocumentPanel:
    document: Document
    document_type: DocumentType
    eligibility: rules.Eligibility
    running_job_id: int | None
    last_failure: LastFailure | None
    exchanges: list[ExchangeRow]

    @property
    def is_sent(self) -> bool:
        return self.document.chorus_state == ChorusState.SENT

    @property
    def is_in_progress(self) -> bool:
        return self.document.chorus_state == ChorusState.IN_PROGRESS

    @property
    def notes(self) -> tuple[rules.Reason, ...]:
        """Non-blocking reasons (e.g. recipient not checked yet)."""
        return tuple(r for r in self.eligibility.reasons if not r.blocking)


def document_panel(document: Document, *, chorus_enabled: bool) -> DocumentPanel:
    """Everything the document's Chorus panel and action menu show (a few queries)."""
    document_type = DocumentType.of(document)
    return DocumentPanel(
        document=document,
        document_type=document_type,
        eligibility=queries.document_eligibility(
            document,
            chorus_enabled=chorus_enabled,
            has_vat_exemption_code=chorus_settings.has_vat_exemption_code(),
        ),
        running_job_id=running_job_id(document_type, document.id)
        if document.chorus_state == ChorusState.IN_PROGRESS
        else None,
        last_failure=_last_failure(document_type, document)
        if document.chorus_state == ChorusState.NOT_SENT
        else None,
        exchanges=exchanges_of(document_type, document.id),
    )


def running_job_id(document_type: DocumentType, document_id: int) -> int | None:
    """The job currently holding the document (its unfinished item), if any."""
    return db.session.scalar(
        select(JobItem.job_id)
        .where(
            JobItem.document_type == document_type,
            JobItem.document_id == document_id,
            JobItem.state.in_(UNFINISHED_ITEM_STATES),
        )
        .order_by(JobItem.id.desc())
        .limit(1)
    )


def _last_failure(document_type: DocumentType, document: Document) -> LastFailure | None:
    """The last send of the document that failed or was skipped by its own checks.

    Skips because another job held the document say nothing about the document itself.
    """
    item = db.session.scalar(
        select(JobItem)
        .where(
            JobItem.document_type == document_type,
            JobItem.document_id == document.id,
            JobItem.state.in_([ItemState.FAILED, ItemState.SKIPPED]),
            JobItem.error_code.not_in(LOCK_CODES),
        )
        .order_by(JobItem.id.desc())
        .limit(1)
    )
    if item is None:
        return None
    return LastFailure(item, playbook.explain(item.error_code, item.error_message))


def exchanges_of(document_type: DocumentType, document_id: int) -> list[ExchangeRow]:
    """The document's Chorus exchanges (B9), newest first, with who triggered them."""
    rows = db.session.execute(
        select(ChorusExchange, User.username, User.full_name)
        .outerjoin(User, User.id == ChorusExchange.user_id)
        .where(
            ChorusExchange.document_type == document_type,
            ChorusExchange.document_id == document_id,
        )
        .order_by(ChorusExchange.occurred_at.desc(), ChorusExchange.id.desc())
        .limit(EXCHANGES_SHOWN)
    )
    return [ExchangeRow(exchange, full_name or username) for exchange, username, full_name in rows]


# -- list badges: one query for a page of rows --------------------------------------------------


@dataclass(frozen=True)
class Badge:
    document_id: int
    chorus_state: ChorusState
    chorus_invoice_id: int | None
    chorus_status: str | None
    eligibility: rules.Eligibility

    @property
    def title(self) -> str:
        return " ; ".join(self.eligibility.messages)


def list_badges(
    document_type: DocumentType, ids: Sequence[int], *, chorus_enabled: bool
) -> list[Badge]:
    """The eligibility badge of each listed document, in ONE SQL query."""
    if not ids:
        return []
    model = document_type.model
    query = queries.eligibility_select(
        model,
        chorus_enabled=chorus_enabled,
        has_vat_exemption_code=chorus_settings.has_vat_exemption_code(),
        columns=[model.chorus_state, model.chorus_invoice_id, model.chorus_status],
    ).where(model.id.in_(list(ids)))
    return [
        Badge(
            document_id=row.id,
            chorus_state=row.chorus_state,
            chorus_invoice_id=row.chorus_invoice_id,
            chorus_status=row.chorus_status,
            eligibility=queries.eligibility_from_row(row),
        )
        for row in db.session.execute(query)
    ]


# -- single send screen: attachment candidates (S10) --------------------------------------------


@dataclass(frozen=True)
class GedChoice:
    """A GED document offered as a secondary attachment, with what Chorus would think of it."""

    document: ClientDocument
    check: CandidateCheck

    @property
    def is_refused(self) -> bool:
        return bool(self.check.problems)


def main_candidate(document: Document) -> Candidate:
    """The due notice / fee-invoice PDF, under the name it will have in Chorus Pro."""
    size = document.pdf_size or 0
    if not size and document.pdf_stored_name:
        path = storage.path_of(storage.PDF, document.pdf_stored_name)
        size = path.stat().st_size if path.exists() else 0
    return Candidate("main", main_attachment_file_name(document), size, is_main=True)


def ged_candidate(ged: ClientDocument) -> Candidate:
    return Candidate(str(ged.id), ged.original_name, ged.size_bytes)


def ged_choices(document: Document) -> list[GedChoice]:
    """The client's GED documents, newest first, each checked against Chorus's limits."""
    rows = db.session.scalars(
        select(ClientDocument)
        .where(ClientDocument.client_id == document.client.id)
        .order_by(ClientDocument.uploaded_at.desc(), ClientDocument.id.desc())
    )
    return [GedChoice(row, check_candidate(ged_candidate(row))) for row in rows]


# -- contract recipient panel (B3) --------------------------------------------------------------


@dataclass(frozen=True)
class RecipientPanel:
    contract: Contract
    structure: RecipientStructure | None
    problem: str | None  # why no check is possible (not Entreprise, no SIRET)

    @property
    def siret(self) -> str | None:
        return self.contract.client.siret

    @property
    def active_services(self) -> list[RecipientService]:
        return self.structure.active_services if self.structure else []

    @property
    def is_checked(self) -> bool:
        return bool(self.structure and self.structure.refreshed_at)

    @property
    def refreshed_at(self) -> datetime | None:
        return self.structure.refreshed_at if self.structure else None

    @property
    def contract_service(self) -> RecipientService | None:
        code = rules.clean(self.contract.chorus_service_code)
        return self.structure.service(code) if self.structure and code else None

    @property
    def service_warning(self) -> str | None:
        """What is wrong with the contract's service code given the cached structure."""
        if not (self.structure and self.structure.is_found and self.is_checked):
            return None
        code = rules.clean(self.contract.chorus_service_code)
        if not code:
            if self.structure.service_code_required or self.structure.engagement_or_service:
                return "Le contrat n'a pas de code service : choisissez-en un ci-dessous."
            return None
        service = self.contract_service
        if service is None:
            return f"Le code service « {code} » n'existe pas dans cette structure."
        if not service.is_active:
            return f"Le service « {code} » est inactif dans Chorus Pro."
        if service in self.structure.active_services:
            return None
        return rules.REASONS["B3_SERVICE_PUBLIC_TO_PUBLIC"].message


def recipient_panel(contract: Contract) -> RecipientPanel:
    client = contract.client
    problem = None
    if not client.is_company:
        problem = (
            "Le client n'est pas de type Entreprise : ses documents ne peuvent pas être "
            "dématérialisés dans Chorus Pro."
        )
    elif not rules.clean(client.siret):
        problem = (
            "Le client n'a pas de SIRET : renseignez-le sur sa fiche pour vérifier "
            "le destinataire dans Chorus Pro."
        )
    structure = recipients.cached(client.siret) if problem is None else None
    return RecipientPanel(contract, structure, problem)


# -- mass send: selection and confirmation counts (S13) -----------------------------------------


def _load_options(model: type[Receipt] | type[FeeInvoice]) -> tuple[Any, ...]:
    if model is Receipt:
        return (joinedload(Receipt.contract).joinedload(Contract.client),)
    return (joinedload(FeeInvoice.client), joinedload(FeeInvoice.contract))


def matching_ids(filters: DocumentFilters, limit: int) -> list[int]:
    """Ids of the documents a list's criteria select, in the list's order (at most ``limit``)."""
    if isinstance(filters, ReceiptFilters):
        query: Any = billing_queries.receipts_query(filters)
        model: type[Receipt] | type[FeeInvoice] = Receipt
    else:
        query = billing_queries.fee_invoices_query(filters)  # type: ignore[arg-type]
        model = FeeInvoice
    return list(db.session.scalars(query.with_only_columns(model.id).limit(limit)))


def load_documents(document_type: DocumentType, ids: Iterable[int]) -> list[Document]:
    """Documents by id, in the given order, with what the eligibility rules read (bulk)."""
    model = document_type.model
    wanted = list(dict.fromkeys(ids))
    found: dict[int, Document] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows: Any = db.session.scalars(  # Receipt or FeeInvoice rows
            select(model).where(model.id.in_(chunk)).options(*_load_options(model))
        ).unique()
        found.update((row.id, row) for row in rows)
    return [found[i] for i in wanted if i in found]


@dataclass
class PlanSummary:
    """How many documents a mass send would send and skip, by reason."""

    to_send: int = 0
    already_sent: int = 0
    in_progress: int = 0
    not_eligible: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[Document, list[rules.Reason]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.to_send + self.skipped_count

    @property
    def skipped_count(self) -> int:
        return self.already_sent + self.in_progress + self.not_eligible


def summarize(planned: SendPlan) -> PlanSummary:
    """Counts for the confirmation: already sent, in progress, not eligible with each reason."""
    summary = PlanSummary(to_send=len(planned.to_send), skipped=planned.skipped)
    by_reason: Counter[str] = Counter()
    for _document, reasons in planned.skipped:
        codes = {reason.code for reason in reasons}
        if "S9_ALREADY_SENT" in codes:
            summary.already_sent += 1
        elif "S9_IN_PROGRESS" in codes:
            summary.in_progress += 1
        else:
            summary.not_eligible += 1
            by_reason.update(reason.message for reason in reasons)
    summary.reasons = by_reason.most_common()
    return summary


def job_of_single_send(job_id: int) -> tuple[Job, JobItem | None] | None:
    job = db.session.get(Job, job_id)
    if job is None:
        return None
    item = db.session.scalar(select(JobItem).where(JobItem.job_id == job.id).limit(1))
    return job, item
