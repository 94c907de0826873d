"""Dematerialization screens: send one document, mass send, badges, recipient checks.

- « Dématérialiser dans Chorus Pro » (S9, S10, S11): the send screen with its live attachment
  budget, then the live progress of the background job (``jobs/_progress.html``).
- Mass send (S13): the billing lists' selection action → confirmation with counts → job.
- Eligibility badges on the lists (one HTMX request and one SQL query per page) and the
  document's Chorus panel with its audit trail (B9), through template globals used by the
  billing templates.
- The contract's recipient panel (B3): cached structure, rules, active services, refresh.

Everything answers 404 while dematerialization is off (S1); sending needs a gestionnaire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import transactions
from portal.auth.access import requires
from portal.auth.models import Role
from portal.billing.filters import DocumentFilters, FeeInvoiceFilters, ReceiptFilters
from portal.chorus.errors import ChorusError
from portal.chorus.limits import MAX_FILE_BYTES, MAX_TOTAL_BYTES
from portal.chorus.results import AttachmentType
from portal.connection import services as chorus_services
from portal.connection.factory import client_from_settings
from portal.dematerialization import documents, playbook, recipients
from portal.dematerialization.documents import Document, load_document_or_404
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.formatting import fr_number
from portal.htmx import fragment, hx_redirect, is_htmx, render
from portal.jobs import queries as job_queries
from portal.jobs.models import ItemState, Job, JobKind
from portal.portfolio.models import Contract
from portal.sending import attachments, panels
from portal.sending import services as sending
from portal.sending.forms import SendForm, UseServiceForm, posted_attachment_types
from portal.settings import attachment_types
from portal.settings import chorus as chorus_settings
from portal.settings.attachment_types import LIST_NOT_LOADED
from portal.validators import ValidationFailed, parse_row_ids

bp = Blueprint("sending", __name__, url_prefix="/dematerialisation")

CONTRACT_RECIPIENT = "sending/_contract_recipient.html"
SEND_BUDGET = "sending/_send_budget.html"
SEND_OUTCOME = "sending/_send_outcome.html"
MAX_BADGE_IDS = 200


@bp.before_request
def _only_while_enabled() -> None:
    """S1: no dematerialization screen exists while it is off."""
    if not chorus_settings.is_chorus_enabled():
        abort(404)


# -- template globals used by other areas' templates --------------------------------------------


@bp.app_template_global("chorus_document_panel")
def chorus_document_panel(document: Document) -> panels.DocumentPanel | None:
    """The document's Chorus panel (None while S1 is off); computed once per request."""
    if not chorus_settings.is_chorus_enabled():
        return None
    cache: dict[tuple[DocumentType, int], panels.DocumentPanel] = g.setdefault(
        "chorus_document_panels", {}
    )
    key = (DocumentType.of(document), document.id)
    if key not in cache:
        cache[key] = panels.document_panel(document, chorus_enabled=True)
    return cache[key]


@bp.app_template_global("chorus_recipient_panel")
def chorus_recipient_panel(contract: Contract) -> panels.RecipientPanel | None:
    """The contract page's B3 panel (None while S1 is off)."""
    if not chorus_settings.is_chorus_enabled():
        return None
    return panels.recipient_panel(contract)


@bp.app_template_global("chorus_badges_url")
def chorus_badges_url(items: Iterable[Document]) -> str | None:
    """URL of the one request that fills a list page's eligibility badges."""
    rows = list(items)
    if not rows:
        return None
    return url_for(
        "sending.list_badges",
        kind=DocumentType.of(rows[0]),
        ids=[row.id for row in rows[:MAX_BADGE_IDS]],
    )


def selection_actions(kind: DocumentType) -> list[dict[str, str]]:
    """S13 « Dématérialisation Chorus Pro » for a billing list's selection toolbar.

    Offered only while S1 is on, to gestionnaires.
    """
    if not (current_user.is_authenticated and current_user.has_role(Role.GESTIONNAIRE)):
        return []
    if not chorus_settings.is_chorus_enabled():
        return []
    return [
        {
            "label": "Dématérialisation Chorus Pro",
            "url": url_for("sending.mass_confirm", kind=kind),
        }
    ]


# -- list badges --------------------------------------------------------------------------------


@bp.route("/<doctype:kind>/badges")
def list_badges(kind: DocumentType) -> Response:
    """Out-of-band badge cells for the rows of one list page, from one SQL query."""
    ids = parse_row_ids(request.args.getlist("ids"))
    badges = panels.list_badges(kind, ids[:MAX_BADGE_IDS], chorus_enabled=True)
    return fragment("sending/_list_badges.html", badges=badges, prefix=kind.dom_name)


# -- single send (S9, S10, S11) -----------------------------------------------------------------


def _selected_choices(
    choices: Sequence[panels.GedChoice], ids: Iterable[int]
) -> list[panels.GedChoice]:
    wanted = set(ids)
    return [choice for choice in choices if choice.document.id in wanted]


def _budget(document: Document, selected: Sequence[panels.GedChoice]) -> attachments.Budget:
    return attachments.budget(
        panels.main_candidate(document),
        [panels.ged_candidate(choice.document) for choice in selected],
    )


def _budget_errors(budget: attachments.Budget) -> list[str]:
    errors = list(budget.problems)
    for check in budget.checks:
        for problem in check.problems:
            errors.append(f"{check.candidate.name} : {problem}")
    return errors


def _send_context(
    document: Document,
    form: SendForm,
    choices: list[panels.GedChoice],
    selected_ids: list[int],
    *,
    posted_types: dict[int, str] | None = None,
    type_errors: dict[int, str] | None = None,
) -> dict[str, Any]:
    selected = _selected_choices(choices, selected_ids)
    chorus = chorus_document_panel(document)
    if chorus is None:
        abort(404)
    types = attachment_types.current()
    posted = posted_types or {}
    return {
        # Each GED row's « Type Chorus Pro »: the posted choice, else the default (EVIDENCE § 2).
        "attachment_types": types,
        "piece_types": {
            c.document.id: posted.get(c.document.id) or types.usable_default or "" for c in choices
        },
        "type_errors": type_errors or {},
        "type_problem": LIST_NOT_LOADED if selected and not types.is_known else None,
        "types_load_url": url_for(
            "sending.load_attachment_types", kind=chorus.document_type, document_id=document.id
        ),
        "document": document,
        "chorus": chorus,
        "form": form,
        "choices": choices,
        "selected_ids": {choice.document.id for choice in selected},
        "budget": _budget(document, selected),
        "main": panels.main_candidate(document),
        "max_file": MAX_FILE_BYTES,
        "max_total": MAX_TOTAL_BYTES,
        "document_url": documents.url_of(document),
        "budget_url": url_for(
            "sending.send_budget", kind=chorus.document_type, document_id=document.id
        ),
    }


@bp.route("/<doctype:kind>/<int:document_id>/envoyer", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def send(kind: DocumentType, document_id: int) -> Response:
    """The send screen (GET) and its confirmation (POST): everything is re-checked here."""
    document = load_document_or_404(kind, document_id)
    choices = panels.ged_choices(document)
    form = SendForm()
    form.pieces.choices = [(c.document.id, c.document.original_name) for c in choices]
    errors: list[str] = []
    selected_ids = [value for value in form.pieces.data or [] if isinstance(value, int)]
    posted = posted_attachment_types(request.form, selected_ids)
    type_errors: dict[int, str] = {}
    if request.method == "POST":
        if form.validate_on_submit():
            types = attachment_types.current()
            kinds, type_errors = types.choose(selected_ids, posted)
            started = _start_single_send(document, choices, selected_ids, kinds, type_errors)
            if isinstance(started, Response):
                return started
            errors = started
        else:
            errors = [str(message) for messages in form.errors.values() for message in messages]
    context = _send_context(
        document, form, choices, selected_ids, posted_types=posted, type_errors=type_errors
    )
    return render(
        "sending/send.html",
        status=422 if errors else 200,
        errors=errors,
        **context,
    )


@bp.route("/<doctype:kind>/<int:document_id>/budget")
@requires(Role.GESTIONNAIRE)
def send_budget(kind: DocumentType, document_id: int) -> Response:
    """The live budget of the send screen for the ticked GED documents (HTMX)."""
    document = load_document_or_404(kind, document_id)
    choices = panels.ged_choices(document)
    ids = parse_row_ids(request.args.getlist("pieces"))
    form = SendForm(formdata=None)
    return fragment(SEND_BUDGET, errors=[], **_send_context(document, form, choices, ids))


def _start_single_send(
    document: Document,
    choices: list[panels.GedChoice],
    ids: list[int],
    kinds: dict[int, str],
    type_errors: dict[int, str],
) -> Response | list[str]:
    """Start the job and show its progress, or say in French why not (nothing started then).
    ``kinds``: the checked Chorus type of each chosen GED document; ``type_errors``: why one
    is refused."""
    selected = _selected_choices(choices, ids)
    problems = _budget_errors(_budget(document, selected))
    problems.extend(
        f"{choice.document.original_name} : {type_errors[choice.document.id]}"
        for choice in selected
        if choice.document.id in type_errors
    )
    started = sending.start_single_send(
        document,
        user=current_user._get_current_object(),
        attachment_types={
            c.document.id: kinds[c.document.id] for c in selected if c.document.id in kinds
        },
        attachment_problems=problems,
    )
    if started.already_running:
        return _already_running(document)
    if started.already_sent:
        flash(
            f"{document.number} est déjà dématérialisé (N° Chorus "
            f"{document.chorus_invoice_id or '—'}) : il n'est pas renvoyé.",
            "warning",
        )
        return hx_redirect(documents.url_of(document))
    if started.job is None:
        return list(started.errors)
    return hx_redirect(url_for("sending.send_progress", job_id=started.job.id))


@bp.route("/<doctype:kind>/<int:document_id>/types-de-pieces-jointes", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def load_attachment_types(kind: DocumentType, document_id: int) -> Response:
    """« Charger les types de Chorus Pro » on the send screen: read Chorus's list of
    attachment types (throttled) and come back to the screen with it."""
    document = load_document_or_404(kind, document_id)
    lookup = chorus_services.claim_attachment_types_lookup()
    transactions.commit()  # the claim holds before any Chorus call (no open transaction)
    if lookup is None:
        lookup = chorus_services.lookup_attachment_types()
    flash(*_types_loaded_message(lookup))
    return hx_redirect(url_for("sending.send", kind=kind, document_id=document.id))


def _types_loaded_message(
    lookup: chorus_services.ReferenceLookup[AttachmentType],
) -> tuple[str, str]:
    if lookup.error:
        return f"Types de pièces jointes non chargés : {lookup.error}", "danger"
    if not lookup.items:
        return "Chorus Pro ne renvoie aucun type de pièce jointe.", "warning"
    count = len(lookup.items)
    return f"{count} type(s) de pièces jointes chargé(s) depuis Chorus Pro.", "success"


def _already_running(document: Document) -> Response:
    running = panels.running_job_id(DocumentType.of(document), document.id)
    flash(
        f"Une dématérialisation de {document.number} est déjà en cours : "
        "il ne sera pas envoyé deux fois.",
        "warning",
    )
    if running is not None:
        return hx_redirect(url_for("sending.send_progress", job_id=running))
    return hx_redirect(documents.url_of(document))


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return job


def _outcome_context(job: Job) -> dict[str, Any]:
    item = job.items[0] if job.items else None
    document = documents.load(item.document_type, item.document_id) if item else None
    explanation = None
    if item is not None and item.state in (ItemState.FAILED, ItemState.SKIPPED):
        explanation = playbook.explain(item.error_code, item.error_message)
    return {
        "job": job,
        "item": item,
        "document": document,
        "document_url": documents.url_of(document) if document is not None else None,
        "explanation": explanation,
    }


@bp.route("/envois/<int:job_id>")
def send_progress(job_id: int) -> Response:
    """Live progress of a single send, then its outcome (mass sends: the job page)."""
    job = _job_or_404(job_id)
    if job.kind != JobKind.SINGLE_SEND or not job.items:
        return redirect(url_for("jobs.detail", job_id=job.id))
    return render(
        "sending/send_progress.html",
        in_flight=job_queries.items_in_flight(job),
        **_outcome_context(job),
    )


@bp.route("/envois/<int:job_id>/resultat")
def send_outcome(job_id: int) -> Response:
    """The outcome box of a single send (reloaded once the progress component ends)."""
    job = _job_or_404(job_id)
    return fragment(SEND_OUTCOME, **_outcome_context(job))


# -- mass send (S13) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What the selection toolbar posted: checked ids, or « all matching » the criteria."""

    document_type: DocumentType
    filters: DocumentFilters
    all_matching: bool
    ids: tuple[int, ...]

    @classmethod
    def from_form(cls, document_type: DocumentType) -> Selection:
        form = request.form
        filters: DocumentFilters
        if document_type is DocumentType.RECEIPT:
            filters = ReceiptFilters.from_selection_form(form, chorus_enabled=True)
        else:
            filters = FeeInvoiceFilters.from_selection_form(form, chorus_enabled=True)
        ids = tuple(dict.fromkeys(parse_row_ids(form.getlist("ids"))))
        return cls(document_type, filters, form.get("tous") == "1", ids)

    def document_ids(self, limit: int) -> list[int]:
        """The selected ids (at most ``limit + 1``, so a too large selection is detected)."""
        if not self.all_matching:
            return list(self.ids[: limit + 1])
        return panels.matching_ids(self.filters, limit + 1)

    @property
    def hidden_fields(self) -> list[tuple[str, str]]:
        """Fields carrying the selection to the next POST (criteria, never thousands of ids)."""
        fields = [(f"filtre-{name}", value) for name, value in self.filters.criteria_args().items()]
        if self.all_matching:
            return [*fields, ("tous", "1")]
        return [*fields, *(("ids", str(i)) for i in self.ids)]

    @property
    def list_url(self) -> str:
        args: dict[str, Any] = self.filters.criteria_args()
        return url_for("billing.documents_list", kind=self.document_type, **args)


def _selected_documents(selection: Selection) -> list[Document] | Response:
    ids = selection.document_ids(panels.MAX_MASS_SELECTION)
    if not ids:
        flash(
            "Aucun document sélectionné : cochez des lignes ou « Tous les … résultats ».",
            "warning",
        )
        return hx_redirect(selection.list_url)
    if len(ids) > panels.MAX_MASS_SELECTION:
        flash(
            f"Sélection trop importante : au plus {fr_number(panels.MAX_MASS_SELECTION, 0)} "
            "documents par envoi en masse. Affinez le filtre.",
            "warning",
        )
        return hx_redirect(selection.list_url)
    return panels.load_documents(selection.document_type, ids)


@bp.route("/<doctype:kind>/masse", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def mass_confirm(kind: DocumentType) -> Response:
    """Confirmation of a mass send: how many will be sent and skipped, and why (S13)."""
    selection = Selection.from_form(kind)
    selected = _selected_documents(selection)
    if isinstance(selected, Response):
        return selected
    summary = panels.summarize(sending.plan(selected, chorus_enabled=True))
    return render(
        "sending/mass_confirm.html",
        selection=selection,
        summary=summary,
        kind=kind,
    )


@bp.route("/<doctype:kind>/masse/lancer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def mass_start(kind: DocumentType) -> Response:
    """Start the mass send: every sendable document is locked (in progress) for the run."""
    selection = Selection.from_form(kind)
    selected = _selected_documents(selection)
    if isinstance(selected, Response):
        return selected
    job = sending.start_mass_send(selected, user=current_user._get_current_object()).job
    if job is None:
        flash(
            "Aucun document à envoyer : les documents sélectionnés sont déjà dématérialisés, "
            "en cours d'envoi ou non dématérialisables.",
            "warning",
        )
        return hx_redirect(selection.list_url)
    flash(
        f"Dématérialisation en masse lancée : {job.total - job.skipped} document(s) à envoyer, "
        f"{job.skipped} ignoré(s). Une notification vous préviendra à la fin.",
        "success",
    )
    return hx_redirect(url_for("jobs.detail", job_id=job.id))


# -- contract recipient (B3) --------------------------------------------------------------------


def _contract_or_404(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404)
    return contract


def _contract_url(contract: Contract) -> str:
    return url_for("portfolio.contract_detail", contract_id=contract.id)


@bp.route("/contrats/<int:contract_id>/verifier", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def recipient_refresh(contract_id: int) -> Response:
    """« Vérifier dans Chorus Pro »: refresh the cached structure of the client's SIRET
    whatever its age, and consult the contract's service (B3)."""
    contract = _contract_or_404(contract_id)
    panel = panels.recipient_panel(contract)
    error: playbook.Explanation | None = None
    message: str | None = None
    if panel.problem is None and panel.siret:
        siret = panel.siret
        try:
            recipients.refresh(
                siret, client_from_settings(), service_code=contract.chorus_service_code
            )
        except ChorusError as failure:
            transactions.rollback()
            message = str(failure)
            error = playbook.explain(failure.code, message)
            recipients.record_failure(siret, message)
    if not is_htmx():
        if message:
            flash(f"Vérification impossible : {message}", "danger")
        elif panel.problem is None:
            flash("Destinataire vérifié dans Chorus Pro.", "success")
        return redirect(_contract_url(contract), code=303)
    return fragment(
        CONTRACT_RECIPIENT,
        flashes=True,
        contract=contract,
        recipient=panels.recipient_panel(contract),
        refresh_error=message,
        refresh_explanation=error,
        refreshed=message is None and panel.problem is None,
    )


@bp.route("/contrats/<int:contract_id>/service", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def recipient_use_service(contract_id: int) -> Response:
    """« Utiliser ce service »: the contract's service code becomes this active service."""
    contract = _contract_or_404(contract_id)
    form = UseServiceForm()
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for text in messages:
                flash(str(text), "danger")
        return hx_redirect(_contract_url(contract))
    try:
        code = sending.use_recipient_service(contract, form.code.data or "")
    except ValidationFailed as failure:
        transactions.rollback()
        flash(" ".join(failure.messages), "danger")
        return hx_redirect(_contract_url(contract))
    flash(f"Code service « {code} » enregistré sur le contrat {contract.number}.", "success")
    return hx_redirect(_contract_url(contract))
