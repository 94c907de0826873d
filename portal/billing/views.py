"""Quittances, factures d'honoraires, encaissements and affectations (thin views).

The pages of receipts and fee invoices are one set of routes under ``/<doctype:kind>``
(``/quittances/…``, ``/factures/…``): what differs between the two kinds by name is on
``DocumentType``, what their pages do their own way (filters, form, service) in ``PAGES``,
and each kind has its templates ``billing/<kind>_list.html``, ``_<kind>_table.html``,
``<kind>_form.html`` and ``<kind>_detail.html`` (``<kind>``: ``receipt``, ``fee_invoice``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Field

from portal import storage, transactions
from portal.auth.access import requires
from portal.auth.models import Role
from portal.billing import queries, services
from portal.billing.filters import FeeInvoiceFilters, PaymentFilters, ReceiptFilters
from portal.billing.forms import (
    REQUIRED_AMOUNT,
    AmountField,
    FeeInvoiceForm,
    PaymentEntryForm,
    PdfUploadForm,
    ReceiptForm,
    ReissueForm,
)
from portal.billing.models import Allocation, FeeInvoice, Payment, PaymentMethod, Receipt
from portal.dematerialization import documents
from portal.dematerialization.documents import Document, load_document_or_404
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.formatting import fr_size
from portal.htmx import is_htmx, render
from portal.pagination import Page
from portal.portfolio import client_picker
from portal.portfolio.models import Client, Company
from portal.sending import views as dematerialization_views
from portal.settings import chorus as chorus_settings
from portal.validators import InvalidValue, ValidationFailed, clean_amount, parse_row_id, submit

bp = Blueprint("billing", __name__)

T = TypeVar("T")

CONTRACT_MISSING = "Contrat introuvable."


@bp.app_template_global()
def has_endpoint(name: str) -> bool:
    """Link to another area's page only once it exists (areas are built in parallel)."""
    return name in current_app.view_functions


@bp.context_processor
def _billing_helpers() -> dict[str, Any]:
    return {"payment_methods": PaymentMethod}


@bp.app_template_global("document_type")
def _document_type(document: Document) -> DocumentType:
    return DocumentType.of(document)


@bp.app_template_global("document_url")
def _document_url(document: Document, page: str = "detail") -> str:
    return documents.url_of(document, page)


@bp.app_template_global("document_page_url")
def _document_page_url(document_type: str, document_id: int, page: str = "detail") -> str:
    return documents.page_url(document_type, document_id, page)


def _chorus_enabled() -> bool:
    return chorus_settings.is_chorus_enabled()


def _flash_warnings(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        flash(warning, "warning")


def _list_response(response: Response, endpoint: str, args: dict[str, Any]) -> Response:
    """HTMX pushes the canonical URL (only non-default filters), not the raw form fields."""
    if is_htmx():
        response.headers["HX-Push-Url"] = url_for(endpoint, **args)
    return response


def _amount(field: AmountField) -> Decimal:
    """The amount of a required field once the form is valid.

    ``InputRequired`` lets blanks through (``"  "``, ``"€"``): they read as no amount and are
    refused like an empty field.
    """
    if field.data is None:
        raise ValidationFailed({field.name: REQUIRED_AMOUNT.message})
    return field.data


def _named(field: Field, find: Callable[[str], T | None], missing: str) -> T:
    """The row whose number ``field`` holds; ``missing`` goes next to the field when none has it."""
    found = find(field.data)
    if found is None:
        raise ValidationFailed({field.name: missing})
    return found


def _named_if_given(field: Field, find: Callable[[str], T | None], missing: str) -> T | None:
    """``_named`` for an optional field: None when it is empty."""
    return _named(field, find, missing) if field.data else None


def _form_status(form: FlaskForm) -> int:
    return 422 if form.errors else 200


# -- the form of each kind -------------------------------------------------------------------------


def _receipt_form(receipt: Receipt | None) -> ReceiptForm:
    form = ReceiptForm(obj=receipt)
    if request.method != "GET":
        return form
    if receipt is None:
        if request.args.get("contrat"):
            form.contract_number.data = request.args["contrat"][:40]
    else:
        form.contract_number.data = receipt.contract.number
        original = receipt.original_receipt
        form.original_receipt_number.data = original.number if original else None
    return form


def _receipt_input(form: ReceiptForm) -> services.ReceiptInput:
    contract = _named(form.contract_number, queries.contract_by_number, CONTRACT_MISSING)
    original = _named_if_given(
        form.original_receipt_number,
        queries.receipt_by_number,
        "Aucune quittance ne porte ce numéro.",
    )
    return services.ReceiptInput(
        number=form.number.data,
        contract=contract,
        period_start_on=form.period_start_on.data,
        period_end_on=form.period_end_on.data,
        entered_on=form.entered_on.data,
        net_premium=_amount(form.net_premium),
        taxes=_amount(form.taxes),
        total=_amount(form.total),
        original_receipt=original,
    )


def _fee_invoice_form(invoice: FeeInvoice | None) -> FeeInvoiceForm:
    from_page = request.method == "GET"
    form = FeeInvoiceForm(obj=invoice)
    if from_page and invoice is None:
        client_id = parse_row_id(request.args.get("client_id"))
        if client_id is not None:
            form.client_id.data = client_id
        form.contract_number.data = (request.args.get("contrat") or "")[:40] or None
    form.client_id.choices = client_picker.client_options(selected=form.client_id.data).options
    form.company_id.choices = [(None, "— Société du contrat —")] + [
        (company.id, company.name) for company in queries.companies()
    ]
    if from_page and invoice is not None:
        form.contract_number.data = invoice.contract.number if invoice.contract else None
        original = invoice.original_fee_invoice
        form.original_fee_invoice_number.data = original.number if original else None
    return form


def _fee_invoice_input(form: FeeInvoiceForm) -> services.FeeInvoiceInput:
    client = db.session.get(Client, form.client_id.data)
    if client is None:
        raise ValidationFailed({form.client_id.name: "Client introuvable."})
    contract = _named_if_given(form.contract_number, queries.contract_by_number, CONTRACT_MISSING)
    company = db.session.get(Company, form.company_id.data) if form.company_id.data else None
    original = _named_if_given(
        form.original_fee_invoice_number,
        queries.fee_invoice_by_number,
        "Aucune facture ne porte ce numéro.",
    )
    return services.FeeInvoiceInput(
        number=form.number.data,
        client=client,
        contract=contract,
        company=company,
        label=form.label.data,
        entered_on=form.entered_on.data,
        amount_ht=_amount(form.amount_ht),
        vat_rate=_amount(form.vat_rate),
        original_fee_invoice=original,
    )


@dataclass(frozen=True)
class Pages:
    """What the pages of one kind of document do their own way."""

    filters: type[ReceiptFilters] | type[FeeInvoiceFilters]
    results: Callable[[Any], Page[Any]]  # one page of the list for the filters
    form: Callable[[Any], FlaskForm]  # the new (None) or edit page's form
    read: Callable[[Any], Any]  # the service's input from a valid form (or ValidationFailed)
    save: Callable[[Any, Any], Document]  # (input, document or None for a new one)
    pdf_stem: str  # download name of the PDF: ``avis-echeance-Q2026-001.pdf``


PAGES = {
    DocumentType.RECEIPT: Pages(
        ReceiptFilters,
        queries.receipts_page,
        _receipt_form,
        _receipt_input,
        services.save_receipt,
        "avis-echeance",
    ),
    DocumentType.FEE_INVOICE: Pages(
        FeeInvoiceFilters,
        queries.fee_invoices_page,
        _fee_invoice_form,
        _fee_invoice_input,
        services.save_fee_invoice,
        "facture",
    ),
}


def _template(kind: DocumentType, page: str) -> str:
    return f"billing/{kind.value}_{page}.html"


# -- lists -----------------------------------------------------------------------------------------


@bp.route("/<doctype:kind>")
def documents_list(kind: DocumentType) -> Response:
    pages = PAGES[kind]
    filters = pages.filters.from_args(request.args, chorus_enabled=_chorus_enabled())
    _flash_warnings(filters.warnings)
    results = pages.results(filters)
    response = render(
        _template(kind, "list"),
        f"billing/_{kind.value}_table.html",
        kind=kind,
        filters=filters,
        results=results,
        companies=queries.companies(),
        selection_actions=dematerialization_views.selection_actions(kind),
    )
    args = {"kind": kind, **filters.to_args(page=results.page)}
    return _list_response(response, "billing.documents_list", args)


@bp.route("/encaissements")
def payments_list() -> Response:
    filters = PaymentFilters.from_args(
        request.args, methods=tuple(method.value for method in PaymentMethod)
    )
    _flash_warnings(filters.warnings)
    page = queries.payments_page(filters)
    response = render(
        "billing/payments.html",
        "billing/_payments_table.html",
        filters=filters,
        results=page,
    )
    return _list_response(response, "billing.payments_list", filters.to_args(page=page.page))


# -- one document ----------------------------------------------------------------------------------


@bp.route("/quittances/contrats")
@requires(Role.GESTIONNAIRE)
def contract_suggestions() -> Response:
    """``<option>``s for the contract-number datalist of the document forms (HTMX)."""
    typed = (request.args.get("contract_number") or "").strip()[:40]
    return render(
        "billing/_contract_options.html",
        contracts=queries.contracts_starting_with(typed) if typed else [],
    )


@bp.route("/<doctype:kind>/nouvelle", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def document_new(kind: DocumentType) -> Any:
    pages = PAGES[kind]
    form = pages.form(None)
    saved = submit(form, lambda: pages.save(pages.read(form), None))
    if saved is not None:
        flash(f"{kind.short_label} {saved.number} enregistrée, {kind.pdf_noun} généré.", "success")
        return redirect(documents.url_of(saved))
    return render(
        _template(kind, "form"), kind=kind, form=form, document=None, status=_form_status(form)
    )


@bp.route("/<doctype:kind>/<int:document_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def document_edit(kind: DocumentType, document_id: int) -> Any:
    pages = PAGES[kind]
    document = load_document_or_404(kind, document_id)
    form = pages.form(document)
    saved = submit(form, lambda: pages.save(pages.read(form), document))
    if saved is not None:
        flash(f"{kind.short_label} {saved.number} modifiée, {kind.pdf_noun} régénéré.", "success")
        return redirect(documents.url_of(saved))
    return render(
        _template(kind, "form"), kind=kind, form=form, document=document, status=_form_status(form)
    )


@bp.route("/<doctype:kind>/<int:document_id>")
def document_detail(kind: DocumentType, document_id: int) -> Response:
    document = load_document_or_404(kind, document_id)
    return render(
        _template(kind, "detail"),
        kind=kind,
        document=document,
        allocations=queries.allocations_of(document),
        upload_form=PdfUploadForm(),
        pdf_blocked=services.pdf_change_blocked_reason(document),
    )


# The PDF keeps the file name of each kind in its URL.
@bp.route(
    "/quittances/<int:document_id>/avis-echeance.pdf", defaults={"kind": DocumentType.RECEIPT}
)
@bp.route("/factures/<int:document_id>/facture.pdf", defaults={"kind": DocumentType.FEE_INVOICE})
def document_pdf(kind: DocumentType, document_id: int) -> Response:
    document = load_document_or_404(kind, document_id)
    return _send_pdf(document, f"{PAGES[kind].pdf_stem}-{document.number}")


@bp.route("/<doctype:kind>/<int:document_id>/pdf/regenerer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def document_regenerate_pdf(kind: DocumentType, document_id: int) -> Response:
    return _regenerate(load_document_or_404(kind, document_id))


@bp.route("/<doctype:kind>/<int:document_id>/pdf", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def document_upload_pdf(kind: DocumentType, document_id: int) -> Response:
    return _upload(load_document_or_404(kind, document_id))


@bp.route("/<doctype:kind>/<int:document_id>/integrite", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def document_check_integrity(kind: DocumentType, document_id: int) -> Response:
    return _check_integrity(load_document_or_404(kind, document_id))


# -- re-issue under a new number (after a Chorus REJETEE) ------------------------------------------


@bp.route("/<doctype:kind>/<int:document_id>/reemettre", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def document_reissue(kind: DocumentType, document_id: int) -> Any:
    """« Réémettre sous un nouveau numéro »: the proposed number, then the copy."""
    document = load_document_or_404(kind, document_id)
    blocked = services.reissue_blocked_reason(document)
    if blocked:
        flash(blocked, "danger")
        return redirect(documents.url_of(document))
    form = ReissueForm()
    if request.method == "GET":
        form.number.data = services.proposed_reissue_number(document)
    copy = submit(form, lambda: services.reissue(document, form.number.data, user=current_user))
    if copy is not None:
        flash(
            f"{kind.label} {document.number} réémise sous le numéro {copy.number} : "
            "vérifiez-la, puis dématérialisez-la.",
            "success",
        )
        return redirect(documents.url_of(copy))
    return render(
        "billing/reissue_form.html",
        kind=kind,
        form=form,
        document=document,
        status=_form_status(form),
    )


# -- PDF actions -----------------------------------------------------------------------------------


def _download_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("_")[:80] + ".pdf"


def _send_pdf(document: Document, stem: str) -> Response:
    if not document.pdf_stored_name or not storage.exists(storage.PDF, document.pdf_stored_name):
        flash("Le PDF de ce document est introuvable : régénérez-le ou déposez-en un.", "danger")
        return redirect(documents.url_of(document))
    return send_file(
        storage.path_of(storage.PDF, document.pdf_stored_name),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=_download_name(stem),
    )


def _regenerate(document: Document) -> Response:
    blocked = services.pdf_change_blocked_reason(document)
    if blocked:
        flash(blocked, "danger")
        return redirect(documents.url_of(document))
    reason = services.regenerate_pdf(document)
    flash("PDF régénéré.", "success")
    if reason:
        flash(f"Document corrompu : {reason}", "danger")
    return redirect(documents.url_of(document))


PDF_MAGIC = b"%PDF-"


def _upload(document: Document) -> Response:
    form = PdfUploadForm()
    blocked = services.pdf_change_blocked_reason(document)
    if blocked:
        flash(blocked, "danger")
        return redirect(documents.url_of(document))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(documents.url_of(document))
    stream = form.pdf.data.stream
    head = stream.read(len(PDF_MAGIC))
    stream.seek(0)
    if head != PDF_MAGIC:
        flash("Ce fichier n'est pas un PDF : seuls les fichiers PDF sont acceptés.", "danger")
        return redirect(documents.url_of(document))
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    try:
        services.store_uploaded_pdf(document, stream, limit)
    except storage.FileTooLarge:
        transactions.rollback()
        flash(f"Le fichier dépasse la taille maximale autorisée ({fr_size(limit)}).", "danger")
        return redirect(documents.url_of(document))
    flash("PDF déposé : il remplace le document généré.", "success")
    return redirect(documents.url_of(document))


def _check_integrity(document: Document) -> Response:
    reason = services.refresh_integrity(document)
    if reason:
        flash(f"Document corrompu : {reason}", "danger")
    else:
        flash("Intégrité vérifiée : montants cohérents et PDF intact.", "success")
    return redirect(documents.url_of(document))


# -- payments --------------------------------------------------------------------------------------


def _document_by_kind(kind: str | None, raw_id: str | None) -> Document | None:
    """The document a payment form names by its stored type (``receipt``) and id, if any."""
    document_id = parse_row_id(raw_id)
    if document_id is None or kind not in set(DocumentType):
        return None
    return documents.load(DocumentType(kind), document_id)


def _prefill_payment(form: PaymentEntryForm, document: Document) -> None:
    form.document_kind.data = DocumentType.of(document).value
    form.document_id.data = str(document.id)
    if form.amount.data is None and not form.amount.raw_data:
        form.amount.data = document.remaining_amount
    if form.allocation_amount.data is None and not form.allocation_amount.raw_data:
        form.allocation_amount.data = document.remaining_amount


@bp.route("/encaissements/saisie", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def payment_entry() -> Any:
    """Saisie des paiements: find the document by its number, then record and allocate."""
    chorus_enabled = _chorus_enabled()
    form = PaymentEntryForm()
    number = (request.args.get("numero") or "").strip()[:60]
    by_chorus = chorus_enabled and request.args.get("chorus") == "1"
    lookup = None
    document: Document | None = None
    if request.method == "POST":
        document = _document_by_kind(form.document_kind.data, form.document_id.data)
        if document is None:
            flash("Document introuvable : recherchez-le à nouveau.", "danger")
            return redirect(url_for("billing.payment_entry"))
        payment = submit(form, functools.partial(_record_payment, form, document))
        if payment is not None:
            flash(f"Encaissement enregistré et affecté à {document.number}.", "success")
            return redirect(url_for("billing.payment_detail", payment_id=payment.id))
    elif number:
        lookup = queries.find_document_by_number(number, chorus=by_chorus)
        picked = _document_by_kind(request.args.get("type"), request.args.get("id"))
        document = lookup.document or (picked if picked in lookup.documents else None)
    if document is not None:
        _prefill_payment(form, document)
    return render(
        "billing/payment_entry.html",
        "billing/_payment_entry_document.html",
        form=form,
        number=number,
        by_chorus=by_chorus,
        chorus_enabled=chorus_enabled,
        lookup=lookup,
        document=document,
        status=_form_status(form),
    )


def _record_payment(form: PaymentEntryForm, document: Document) -> Payment:
    data = services.PaymentInput(
        received_on=form.received_on.data,
        amount=_amount(form.amount),
        method=PaymentMethod(form.method.data),
        reference=form.reference.data or "",
    )
    part = services.Part(document=document, amount=_amount(form.allocation_amount))
    return services.record_payment(document.client, data, user=current_user, allocation=part)


def _payment_or_404(payment_id: int) -> Any:
    payment = queries.payment(payment_id)
    if payment is None:
        abort(404)
    return payment


@bp.route("/encaissements/<int:payment_id>")
def payment_detail(payment_id: int) -> Response:
    payment = _payment_or_404(payment_id)
    open_documents = (
        queries.open_documents_of_client(payment.client_id) if current_user.can_edit else []
    )
    return render(
        "billing/payment_detail.html",
        payment=payment,
        open_documents=open_documents,
        part_errors={},
        part_values={},
    )


def _part_field(document: Document) -> str:
    return f"part-{DocumentType.of(document).value}-{document.id}"


@bp.route("/encaissements/<int:payment_id>/affecter", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def payment_allocate(payment_id: int) -> Any:
    """Allocate the payment's unallocated remainder to one or more documents of its client."""
    payment = _payment_or_404(payment_id)
    open_documents = queries.open_documents_of_client(payment.client_id)
    parts: list[services.Part] = []
    part_errors: dict[str, str] = {}
    values = {
        _part_field(document): (request.form.get(_part_field(document)) or "").strip()
        for document in open_documents
    }
    for document in open_documents:
        field = _part_field(document)
        try:
            amount = clean_amount(values[field])
        except InvalidValue as error:
            part_errors[field] = str(error)
            continue
        if amount is not None:
            parts.append(services.Part(document=document, amount=amount, field=field))
    general: list[str] = []
    if not part_errors:
        try:
            services.allocate(payment, parts)
        except ValidationFailed as error:
            transactions.rollback()  # the page below reads the payment afresh
            part_errors = {k: v for k, v in error.errors.items() if k}
            general = [v for k, v in error.errors.items() if not k]
        else:
            flash("Affectation enregistrée.", "success")
            return redirect(url_for("billing.payment_detail", payment_id=payment_id))
    for message in general:
        flash(message, "danger")
    payment = _payment_or_404(payment_id)
    return render(
        "billing/payment_detail.html",
        payment=payment,
        open_documents=queries.open_documents_of_client(payment.client_id),
        part_errors=part_errors,
        part_values=values,
        status=422,
    )


@bp.route("/encaissements/<int:payment_id>/supprimer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def payment_delete(payment_id: int) -> Response:
    payment = _payment_or_404(payment_id)
    services.delete_payment(payment)
    flash("Encaissement supprimé ; ses affectations ont été annulées.", "success")
    return redirect(url_for("billing.payments_list"))


@bp.route("/affectations/<int:allocation_id>/supprimer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def allocation_delete(allocation_id: int) -> Response:
    allocation = db.session.get(Allocation, allocation_id)
    if allocation is None:
        abort(404)
    back = (
        documents.url_of(allocation.document)
        if request.form.get("retour") == "document"
        else url_for("billing.payment_detail", payment_id=allocation.payment_id)
    )
    services.delete_allocation(allocation)
    flash("Affectation supprimée : le reste à solder est rétabli.", "success")
    return redirect(back)
