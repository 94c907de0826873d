"""Quittances, factures d'honoraires, encaissements and affectations (thin views)."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

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
from werkzeug.wrappers import Response

from portal import storage
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
from portal.billing.models import Allocation, FeeInvoice, PaymentMethod, Receipt
from portal.dematerialization import documents
from portal.extensions import db
from portal.formatting import fr_size
from portal.htmx import is_htmx, render
from portal.portfolio import client_picker
from portal.portfolio.models import Client, Company
from portal.sending import views as dematerialization_views
from portal.settings import chorus as chorus_settings
from portal.validators import InvalidValue, ValidationFailed, clean_amount, parse_row_id

bp = Blueprint("billing", __name__)

Document = Receipt | FeeInvoice


@bp.app_template_global()
def has_endpoint(name: str) -> bool:
    """Link to another area's page only once it exists (areas are built in parallel)."""
    return name in current_app.view_functions


@bp.context_processor
def _billing_helpers() -> dict[str, Any]:
    return {"payment_methods": PaymentMethod}


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


def _selection_actions(kind: str) -> list[dict[str, str]]:
    """Mass actions offered on a list's selection (S13 adds "Dématérialisation Chorus Pro").

    Each entry: ``label``, ``url`` (POST target receiving ``ids`` or the filter criteria).
    Empty list: no checkbox column, no selection toolbar.
    """
    return dematerialization_views.selection_actions(kind)


# -- lists -----------------------------------------------------------------------------------------


@bp.route("/quittances")
def receipts_list() -> Response:
    filters = ReceiptFilters.from_args(request.args, chorus_enabled=_chorus_enabled())
    _flash_warnings(filters.warnings)
    page = queries.receipts_page(filters)
    response = render(
        "billing/receipts.html",
        "billing/_receipts_table.html",
        filters=filters,
        results=page,
        companies=queries.companies(),
        selection_actions=_selection_actions("receipt"),
    )
    return _list_response(response, "billing.receipts_list", filters.to_args(page=page.page))


@bp.route("/factures")
def fee_invoices_list() -> Response:
    filters = FeeInvoiceFilters.from_args(request.args, chorus_enabled=_chorus_enabled())
    _flash_warnings(filters.warnings)
    page = queries.fee_invoices_page(filters)
    response = render(
        "billing/fee_invoices.html",
        "billing/_fee_invoices_table.html",
        filters=filters,
        results=page,
        companies=queries.companies(),
        selection_actions=_selection_actions("fee_invoice"),
    )
    return _list_response(response, "billing.fee_invoices_list", filters.to_args(page=page.page))


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


# -- receipts --------------------------------------------------------------------------------------


def _receipt_or_404(receipt_id: int) -> Receipt:
    receipt = queries.receipt(receipt_id)
    if receipt is None:
        abort(404)
    return receipt


def _amount(field: AmountField) -> Decimal:
    """The amount of a required field once the form is valid.

    ``InputRequired`` lets blanks through (``"  "``, ``"€"``): they read as no amount and are
    refused like an empty field.
    """
    if field.data is None:
        raise ValidationFailed({field.name: REQUIRED_AMOUNT.message})
    return field.data


def _receipt_input(form: ReceiptForm) -> services.ReceiptInput | None:
    contract = queries.contract_by_number(form.contract_number.data)
    if contract is None:
        form.contract_number.errors = [*form.contract_number.errors, "Contrat introuvable."]
        return None
    original = None
    if form.original_receipt_number.data:
        original = queries.receipt_by_number(form.original_receipt_number.data)
        if original is None:
            field = form.original_receipt_number
            field.errors = [*field.errors, "Aucune quittance ne porte ce numéro."]
            return None
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


def _save(form: Any, build: Callable[[], Any], save: Callable[[Any], Document]) -> Document | None:
    """Validate, build the input, call the service, commit; errors go next to the fields."""
    if not form.validate_on_submit():
        return None
    try:
        data = build()
        if data is None:
            return None
        document = save(data)
    except ValidationFailed as error:
        db.session.rollback()
        error.apply_to(form)
        return None
    db.session.commit()
    return document


@bp.route("/quittances/nouvelle", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def receipt_new() -> Any:
    form = ReceiptForm()
    if request.method == "GET" and request.args.get("contrat"):
        form.contract_number.data = request.args["contrat"][:40]
    receipt = _save(form, lambda: _receipt_input(form), services.save_receipt)
    if receipt is not None:
        flash(f"Quittance {receipt.number} enregistrée, avis d'échéance généré.", "success")
        return redirect(documents.url_of(receipt))
    return render("billing/receipt_form.html", form=form, receipt=None)


@bp.route("/quittances/contrats")
@requires(Role.GESTIONNAIRE)
def contract_suggestions() -> Response:
    """``<option>``s for the contract-number datalist of the document forms (HTMX)."""
    typed = (request.args.get("contract_number") or "").strip()[:40]
    return render(
        "billing/_contract_options.html",
        contracts=queries.contracts_starting_with(typed) if typed else [],
    )


@bp.route("/quittances/<int:receipt_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def receipt_edit(receipt_id: int) -> Any:
    receipt = _receipt_or_404(receipt_id)
    form = ReceiptForm(obj=receipt)
    if request.method == "GET":
        form.contract_number.data = receipt.contract.number
        original = receipt.original_receipt
        form.original_receipt_number.data = original.number if original else None
    saved = _save(
        form, lambda: _receipt_input(form), lambda data: services.save_receipt(data, receipt)
    )
    if saved is not None:
        flash(f"Quittance {saved.number} modifiée, avis d'échéance régénéré.", "success")
        return redirect(documents.url_of(saved))
    return render("billing/receipt_form.html", form=form, receipt=receipt)


@bp.route("/quittances/<int:receipt_id>")
def receipt_detail(receipt_id: int) -> Response:
    receipt = _receipt_or_404(receipt_id)
    return render(
        "billing/receipt_detail.html",
        receipt=receipt,
        document=receipt,
        allocations=queries.allocations_of(receipt),
        upload_form=PdfUploadForm(),
        pdf_blocked=services.pdf_change_blocked_reason(receipt),
    )


@bp.route("/quittances/<int:receipt_id>/avis-echeance.pdf")
def receipt_pdf(receipt_id: int) -> Response:
    receipt = _receipt_or_404(receipt_id)
    return _send_pdf(receipt, f"avis-echeance-{receipt.number}")


@bp.route("/quittances/<int:receipt_id>/pdf/regenerer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def receipt_regenerate_pdf(receipt_id: int) -> Response:
    return _regenerate(_receipt_or_404(receipt_id))


@bp.route("/quittances/<int:receipt_id>/pdf", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def receipt_upload_pdf(receipt_id: int) -> Response:
    return _upload(_receipt_or_404(receipt_id))


@bp.route("/quittances/<int:receipt_id>/integrite", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def receipt_check_integrity(receipt_id: int) -> Response:
    return _check_integrity(_receipt_or_404(receipt_id))


# -- fee invoices ----------------------------------------------------------------------------------


def _fee_invoice_or_404(invoice_id: int) -> FeeInvoice:
    invoice = queries.fee_invoice(invoice_id)
    if invoice is None:
        abort(404)
    return invoice


def _fee_invoice_form(
    invoice: FeeInvoice | None = None, *, client_id: int | None = None
) -> FeeInvoiceForm:
    form = FeeInvoiceForm(obj=invoice)
    if client_id is not None:
        form.client_id.data = client_id
    form.client_id.choices = client_picker.client_options(selected=form.client_id.data).options
    form.company_id.choices = [(None, "— Société du contrat —")] + [
        (company.id, company.name) for company in queries.companies()
    ]
    if request.method == "GET" and invoice is not None:
        form.contract_number.data = invoice.contract.number if invoice.contract else None
        original = invoice.original_fee_invoice
        form.original_fee_invoice_number.data = original.number if original else None
    return form


def _fee_invoice_input(form: FeeInvoiceForm) -> services.FeeInvoiceInput | None:
    client = db.session.get(Client, form.client_id.data)
    if client is None:
        form.client_id.errors = [*form.client_id.errors, "Client introuvable."]
        return None
    contract = None
    if form.contract_number.data:
        contract = queries.contract_by_number(form.contract_number.data)
        if contract is None:
            form.contract_number.errors = [*form.contract_number.errors, "Contrat introuvable."]
            return None
    company = db.session.get(Company, form.company_id.data) if form.company_id.data else None
    original = None
    if form.original_fee_invoice_number.data:
        original = queries.fee_invoice_by_number(form.original_fee_invoice_number.data)
        if original is None:
            field = form.original_fee_invoice_number
            field.errors = [*field.errors, "Aucune facture ne porte ce numéro."]
            return None
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


@bp.route("/factures/nouvelle", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def fee_invoice_new() -> Any:
    from_page = request.method == "GET"
    form = _fee_invoice_form(
        client_id=parse_row_id(request.args.get("client_id")) if from_page else None
    )
    if from_page:
        form.contract_number.data = (request.args.get("contrat") or "")[:40] or None
    invoice = _save(form, lambda: _fee_invoice_input(form), services.save_fee_invoice)
    if invoice is not None:
        flash(f"Facture {invoice.number} enregistrée, PDF généré.", "success")
        return redirect(documents.url_of(invoice))
    return render("billing/fee_invoice_form.html", form=form, invoice=None)


@bp.route("/factures/<int:invoice_id>/modifier", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def fee_invoice_edit(invoice_id: int) -> Any:
    invoice = _fee_invoice_or_404(invoice_id)
    form = _fee_invoice_form(invoice)
    saved = _save(
        form,
        lambda: _fee_invoice_input(form),
        lambda data: services.save_fee_invoice(data, invoice),
    )
    if saved is not None:
        flash(f"Facture {saved.number} modifiée, PDF régénéré.", "success")
        return redirect(documents.url_of(saved))
    return render("billing/fee_invoice_form.html", form=form, invoice=invoice)


@bp.route("/factures/<int:invoice_id>")
def fee_invoice_detail(invoice_id: int) -> Response:
    invoice = _fee_invoice_or_404(invoice_id)
    return render(
        "billing/fee_invoice_detail.html",
        invoice=invoice,
        document=invoice,
        allocations=queries.allocations_of(invoice),
        upload_form=PdfUploadForm(),
        pdf_blocked=services.pdf_change_blocked_reason(invoice),
    )


@bp.route("/factures/<int:invoice_id>/facture.pdf")
def fee_invoice_pdf(invoice_id: int) -> Response:
    invoice = _fee_invoice_or_404(invoice_id)
    return _send_pdf(invoice, f"facture-{invoice.number}")


@bp.route("/factures/<int:invoice_id>/pdf/regenerer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def fee_invoice_regenerate_pdf(invoice_id: int) -> Response:
    return _regenerate(_fee_invoice_or_404(invoice_id))


@bp.route("/factures/<int:invoice_id>/pdf", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def fee_invoice_upload_pdf(invoice_id: int) -> Response:
    return _upload(_fee_invoice_or_404(invoice_id))


@bp.route("/factures/<int:invoice_id>/integrite", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def fee_invoice_check_integrity(invoice_id: int) -> Response:
    return _check_integrity(_fee_invoice_or_404(invoice_id))


# -- re-issue under a new number (after a Chorus REJETEE) ------------------------------------------


@bp.route("/quittances/<int:receipt_id>/reemettre", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def receipt_reissue(receipt_id: int) -> Any:
    return _reissue(_receipt_or_404(receipt_id))


@bp.route("/factures/<int:invoice_id>/reemettre", methods=["GET", "POST"])
@requires(Role.GESTIONNAIRE)
def fee_invoice_reissue(invoice_id: int) -> Any:
    return _reissue(_fee_invoice_or_404(invoice_id))


def _reissue(document: Document) -> Any:
    """« Réémettre sous un nouveau numéro »: the proposed number, then the copy."""
    blocked = services.reissue_blocked_reason(document)
    if blocked:
        flash(blocked, "danger")
        return redirect(documents.url_of(document))
    form = ReissueForm()
    if request.method == "GET":
        form.number.data = services.proposed_reissue_number(document)
    copy = _save(
        form,
        lambda: form.number.data,
        lambda number: services.reissue(document, number, user=current_user),
    )
    if copy is not None:
        flash(
            f"{document.kind_label} {document.number} réémise sous le numéro {copy.number} : "
            "vérifiez-la, puis dématérialisez-la.",
            "success",
        )
        return redirect(documents.url_of(copy))
    return render(
        "billing/reissue_form.html",
        form=form,
        document=document,
        is_receipt=isinstance(document, Receipt),
    )


@bp.app_template_global("document_url")
def _document_url(document: Document, page: str = "detail") -> str:
    return documents.url_of(document, page)


@bp.app_template_global("document_page_url")
def _document_page_url(document_type: str, document_id: int, page: str = "detail") -> str:
    return documents.page_url(document_type, document_id, page)


# -- PDF actions shared by both kinds --------------------------------------------------------------


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
    db.session.commit()
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
        db.session.rollback()
        flash(
            f"Le fichier dépasse la taille maximale autorisée ({_size(limit)}).",
            "danger",
        )
        return redirect(documents.url_of(document))
    db.session.commit()
    flash("PDF déposé : il remplace le document généré.", "success")
    return redirect(documents.url_of(document))


def _size(limit: int) -> str:
    return fr_size(limit)


def _check_integrity(document: Document) -> Response:
    reason = services.refresh_integrity(document)
    db.session.commit()
    if reason:
        flash(f"Document corrompu : {reason}", "danger")
    else:
        flash("Intégrité vérifiée : montants cohérents et PDF intact.", "success")
    return redirect(documents.url_of(document))


# -- payments --------------------------------------------------------------------------------------


def _document_by_kind(kind: str | None, raw_id: str | None) -> Document | None:
    document_id = parse_row_id(raw_id)
    if document_id is None:
        return None
    if kind == "receipt":
        return queries.receipt(document_id)
    if kind == "fee_invoice":
        return queries.fee_invoice(document_id)
    return None


def _prefill_payment(form: PaymentEntryForm, document: Document) -> None:
    form.document_kind.data = "receipt" if isinstance(document, Receipt) else "fee_invoice"
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
        payment = _record_payment(form, document)
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
    )


def _record_payment(form: PaymentEntryForm, document: Document) -> Any:
    if not form.validate_on_submit():
        return None
    try:
        data = services.PaymentInput(
            received_on=form.received_on.data,
            amount=_amount(form.amount),
            method=PaymentMethod(form.method.data),
            reference=form.reference.data or "",
        )
        part = services.Part(document=document, amount=_amount(form.allocation_amount))
        payment = services.record_payment(document.client, data, user=current_user, allocation=part)
    except ValidationFailed as error:
        db.session.rollback()
        error.apply_to(form)
        return None
    db.session.commit()
    return payment


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
    kind = "receipt" if isinstance(document, Receipt) else "fee_invoice"
    return f"part-{kind}-{document.id}"


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
            db.session.rollback()
            part_errors = {k: v for k, v in error.errors.items() if k}
            general = [v for k, v in error.errors.items() if not k]
        else:
            db.session.commit()
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
    )


@bp.route("/encaissements/<int:payment_id>/supprimer", methods=["POST"])
@requires(Role.GESTIONNAIRE)
def payment_delete(payment_id: int) -> Response:
    payment = _payment_or_404(payment_id)
    services.delete_payment(payment)
    db.session.commit()
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
    db.session.commit()
    flash("Affectation supprimée : le reste à solder est rétabli.", "success")
    return redirect(back)
