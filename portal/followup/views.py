"""Chorus follow-up screens (B1, B2): status refresh, "À solder", automatic payments.

Everything here is Chorus-related, so every page is a 404 while dematerialization is off (S1).
The status badge and timeline fragments are also included in the document pages: the
template helpers they need are registered app-wide below.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import transactions
from portal.auth.access import requires
from portal.auth.models import Role
from portal.billing import settlement
from portal.billing.models import PaymentMethod
from portal.dematerialization import documents
from portal.dematerialization.documents import Document, load_document_or_404
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.followup import queries, rules, services
from portal.followup.forms import SettleForm
from portal.htmx import fragment, hx_redirect, is_htmx, render
from portal.pagination import requested_page
from portal.settings import chorus as chorus_settings
from portal.validators import ValidationFailed, parse_row_id

bp = Blueprint("followup", __name__, url_prefix="/suivi-chorus")

TIMELINE = "sending/_status_timeline.html"


@bp.before_request
def _only_when_enabled() -> None:
    if not chorus_settings.is_chorus_enabled():
        abort(404)


# -- template helpers (app-wide: the document pages include the fragments) -----------------------


@bp.app_template_global()
def chorus_followup(document: Document) -> queries.FollowUp:
    """Status, history and running refresh of a sent document, for the timeline fragment."""
    return queries.follow_up(document)


@bp.app_template_global()
def chorus_status_choices(document_type: str) -> list[str]:
    """Chorus statuses present on documents of this type (the "Statut Chorus" filter)."""
    return queries.statuses_seen(document_type)


@bp.app_template_filter()
def chorus_status_label(status: str | None) -> str:
    return rules.status_label(status)


@bp.app_template_filter()
def chorus_status_tone(status: str | None) -> str:
    return rules.status_tone(status)


@bp.app_template_filter()
def chorus_status_is_unknown(status: str | None) -> bool:
    return rules.is_unknown_status(status)


# -- status refresh ------------------------------------------------------------------------------


@bp.route("/actualiser", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def sync_all() -> Response:
    """Tâches page: read the status of every sent document that is not final, now."""
    execution = services.run_status_sync(trigger=services.MANUAL, user=current_user)
    if execution.job_id is not None:
        flash(f"Suivi des statuts lancé : {execution.message}", "success")
        return hx_redirect(url_for("jobs.detail", job_id=execution.job_id))
    flash(execution.message or "Suivi des statuts non lancé.", "info")
    return hx_redirect(url_for("jobs.index"))


@bp.route("/<doctype:kind>/<int:document_id>/actualiser", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def sync_document(kind: DocumentType, document_id: int) -> Response:
    """The document's "Actualiser le statut": a one-item job; the fragment polls until done."""
    document = load_document_or_404(kind, document_id)
    if not document.is_chorus_sent:
        abort(404)
    job = None
    if queries.running_sync_job(kind, document.id) is None:
        job = services.start_status_sync(
            trigger=services.DOCUMENT, user=current_user, only=[document]
        )
        if job is not None:
            transactions.after_commit(lambda: services.launch(job))
    if is_htmx():
        return fragment(TIMELINE, flashes=True, document=document)
    flash("Actualisation du statut Chorus Pro lancée.", "info")
    return redirect(documents.url_of(document), code=303)


@bp.route("/<doctype:kind>/<int:document_id>/statut")
def document_status(kind: DocumentType, document_id: int) -> Response:
    """The status badge and timeline of one document (polled while a refresh runs)."""
    document = load_document_or_404(kind, document_id)
    db.session.refresh(document)
    return fragment(TIMELINE, flashes=True, document=document)


# -- À solder ------------------------------------------------------------------------------------


def _chosen(values: list[str]) -> list[Document]:
    """Documents ticked in the list (``receipt:12``, ``fee_invoice:3``); unknown ones dropped."""
    wanted: dict[DocumentType, list[int]] = {DocumentType.RECEIPT: [], DocumentType.FEE_INVOICE: []}
    for value in values:
        kind, _, raw_id = value.partition(":")
        document_id = parse_row_id(raw_id)
        if kind in ("receipt", "fee_invoice") and document_id is not None:
            wanted[DocumentType(kind)].append(document_id)
    return queries.documents_by_id(wanted)


def _to_settle_page(form: SettleForm, *, status: int = 200, ticked: set[str] | None = None) -> Any:
    page = requested_page(request.args.get("page"))
    return render(
        "followup/to_settle.html",
        form=form,
        pending=settlement.to_settle(),
        automatic=settlement.automatic_payments_page(page),
        auto_settle=chorus_settings.load().auto_settle,
        ticked=ticked or set(),
        status=status,
    )


@bp.route("/a-solder")
def to_settle() -> Any:
    """Documents Chorus Pro says are paid and the portal has not settled; automatic payments."""
    return _to_settle_page(SettleForm())


@bp.route("/a-solder", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def settle() -> Any:
    """Settle the ticked documents in one step (one payment per client, one transaction)."""
    form = SettleForm()
    values = request.form.getlist("documents")
    if not form.validate_on_submit():
        return _to_settle_page(form, status=422, ticked=set(values))
    try:
        payments = settlement.settle(
            _chosen(values),
            received_on=form.received_on.data,
            user=current_user,
            method=PaymentMethod(form.method.data),
        )
    except ValidationFailed as failure:
        for message in failure.messages:
            flash(message, "danger")
        return _to_settle_page(form, status=422, ticked=set(values))
    flash(settlement.describe(payments), "success")
    return redirect(url_for("followup.to_settle"), code=303)


@bp.route("/encaissements-automatiques/<int:payment_id>/annuler", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def cancel_automatic(payment_id: int) -> Response:
    """Cancel an automatic payment: its affectations go, the documents are to settle again."""
    payment = settlement.automatic_payment(payment_id)
    if payment is None:
        abort(404)
    reopened = settlement.cancel_automatic(payment)
    numbers = ", ".join(document.number for document in reopened)
    flash(
        f"Encaissement automatique annulé ; {numbers or 'aucun document'} de nouveau à solder.",
        "success",
    )
    return redirect(url_for("followup.to_settle"), code=303)
