"""State changes for billing: documents, their PDFs and integrity, payments and allocations.

Services ``flush()``; the caller (request or job) commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, func, select, text, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import clock, storage
from portal.auth.models import User
from portal.billing import pdf, queries, rules
from portal.billing.models import ZERO, Allocation, FeeInvoice, Payment, PaymentMethod, Receipt
from portal.chorus.limits import MAX_NUMBER_LENGTH, NUMBER_RULE, is_acceptable_number
from portal.chorus.statuses import REJECTED_STATUS
from portal.db_types import Money
from portal.dematerialization import audit
from portal.dematerialization.models import DocumentType, ExchangeOutcome
from portal.extensions import db
from portal.portfolio.models import Client, Company, Contract
from portal.sql import changed_rows
from portal.validators import ValidationFailed

Document = Receipt | FeeInvoice
D = TypeVar("D", Receipt, FeeInvoice)


# -- files tied to the transaction ---------------------------------------------------------------
#
# A PDF written during a transaction that rolls back must not stay on disk, and the file it
# replaced must survive that rollback (the row still points to it). So replaced files are
# deleted only after commit, and new files are deleted on rollback.

_DELETE_ON_COMMIT = "portal.billing.delete_on_commit"
_DELETE_ON_ROLLBACK = "portal.billing.delete_on_rollback"


def _pending(session: Session, key: str) -> list[Path]:
    return session.info.setdefault(key, [])


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for path in session.info.pop(_DELETE_ON_COMMIT, []):
        path.unlink(missing_ok=True)
    session.info.pop(_DELETE_ON_ROLLBACK, None)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for path in session.info.pop(_DELETE_ON_ROLLBACK, []):
        path.unlink(missing_ok=True)
    session.info.pop(_DELETE_ON_COMMIT, None)


def _replace_pdf(document: Document, stored: storage.StoredFile, source: str) -> None:
    """Point ``document`` to a newly stored PDF; the old file goes once the change commits."""
    session = db.session()
    _pending(session, _DELETE_ON_ROLLBACK).append(storage.path_of(storage.PDF, stored.stored_name))
    if document.pdf_stored_name:
        _pending(session, _DELETE_ON_COMMIT).append(
            storage.path_of(storage.PDF, document.pdf_stored_name)
        )
    document.pdf_stored_name = stored.stored_name
    document.pdf_sha256 = stored.sha256
    document.pdf_size = stored.size
    document.pdf_source = source


# -- PDFs ------------------------------------------------------------------------------------------


def render_pdf(document: Document) -> bytes:
    """The generated PDF of a document (avis d'échéance or facture d'honoraires)."""
    if isinstance(document, Receipt):
        return pdf.render_due_notice(document)
    return pdf.render_fee_invoice(document)


def store_generated_pdf(document: Document) -> None:
    """Render the document's PDF, store it and reference it (replacing any previous file)."""
    data = render_pdf(document)
    stored = storage.save_bytes(storage.PDF, data, "pdf")
    _replace_pdf(document, stored, "generated")
    db.session.flush()


def regenerate_pdf(document: Document) -> str | None:
    """Regenerate the PDF, then re-check integrity; returns the corruption reason if any."""
    store_generated_pdf(document)
    return refresh_integrity(document)


def store_uploaded_pdf(document: Document, stream: Any, max_bytes: int) -> None:
    """Replace the document's PDF by an uploaded file (already checked to look like a PDF).

    Raises ``storage.FileTooLarge`` beyond ``max_bytes``.
    """
    stored = storage.save_stream(storage.PDF, stream, "pdf", max_bytes=max_bytes)
    _replace_pdf(document, stored, "uploaded")
    refresh_integrity(document)


# -- integrity -------------------------------------------------------------------------------------


def check_integrity(document: Document) -> str | None:
    """Why the document is corrupted (French, for the UI), or None when it is sound."""
    reasons = list(rules.amount_inconsistencies(document))
    if document.pdf_stored_name:
        digest = storage.sha256_of(storage.PDF, document.pdf_stored_name)
        if digest is None:
            reasons.append("Le fichier PDF est introuvable sur le disque.")
        elif digest != document.pdf_sha256:
            reasons.append(
                "Le fichier PDF a été modifié depuis son enregistrement "
                "(empreinte SHA-256 différente)."
            )
    return " ".join(reasons) or None


def refresh_integrity(document: Document) -> str | None:
    """Store the result of ``check_integrity`` on the document; returns the reason."""
    reason = check_integrity(document)
    document.is_corrupted = reason is not None
    document.corruption_reason = reason
    db.session.flush()
    return reason


# -- receipts and fee invoices -------------------------------------------------------------------

NUMBER_TAKEN = {
    "receipt": "Ce numéro est déjà utilisé par une quittance.",
    "fee_invoice": "Ce numéro est déjà utilisé par une facture d'honoraires.",
}
CLIENT_LOCKED = (
    "Des encaissements de ce client sont déjà affectés au document : "
    "supprimez les affectations avant de changer de client."
)


@dataclass(frozen=True)
class ReceiptInput:
    """What the quittance form provides (already typed)."""

    number: str
    contract: Contract
    period_start_on: date
    period_end_on: date
    entered_on: date
    net_premium: Decimal
    taxes: Decimal
    total: Decimal
    # B10: the receipt a refund refunds (sent to Chorus as the credit note's origin).
    original_receipt: Receipt | None = None


@dataclass(frozen=True)
class FeeInvoiceInput:
    """What the facture d'honoraires form provides; VAT and TTC are computed here."""

    number: str
    client: Client
    contract: Contract | None
    company: Company | None
    label: str
    entered_on: date
    amount_ht: Decimal
    vat_rate: Decimal
    # B10: the invoice a credit note cancels (sent to Chorus as the credit note's origin).
    original_fee_invoice: FeeInvoice | None = None


def _check_editable(document: Document | None) -> None:
    if document is None:
        return
    reason = rules.edit_blocked_reason(document.chorus_state, document.kind_label)
    if reason:
        raise ValidationFailed(reason)


# Any PostgreSQL advisory lock id of this namespace guards one document number.
_NUMBER_LOCK_NAMESPACE = 0x0B111


def _reserve_number(number: str) -> None:
    """Serialize, until commit, the transactions saving this number (case-insensitively).

    Each table's unique ``number_key`` stops two receipts (or two fee invoices) sharing a
    number, but no constraint spans both tables: a receipt and a fee invoice saved at the
    same moment under « A1 » and « a1 » would both pass ``number_taken``. On PostgreSQL this
    transaction-scoped advisory lock makes the second wait for the first to commit, then its
    own check sees the number. SQLite lets one writer at a time: the second transaction
    fails to write instead of saving a duplicate.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(lower(:number)))"),
            {"namespace": _NUMBER_LOCK_NAMESPACE, "number": number},
        )


def _flush_unique(message: str) -> None:
    """Flush; a concurrent insert of the same number becomes a French validation error."""
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise ValidationFailed({"number": message}) from error


def _write(
    model: type[D],
    document: D | None,
    data: ReceiptInput | FeeInvoiceInput,
    number_taken: str,
    **computed: Decimal,
) -> D:
    """Create (``document=None``) or update the document from its checked input (each field of
    the input is the document's attribute of that name) and ``computed`` amounts, then
    (re)generate its PDF."""
    if document is None:
        document = model(allocated_amount=ZERO)
        db.session.add(document)
    values = {item.name: getattr(data, item.name) for item in fields(data)}
    for name, value in {**values, **computed}.items():
        setattr(document, name, value)
    _flush_unique(number_taken)
    regenerate_pdf(document)
    return document


def save_receipt(data: ReceiptInput, receipt: Receipt | None = None) -> Receipt:
    """Create (``receipt=None``) or update a quittance, then (re)generate its avis d'échéance.

    Raises ``ValidationFailed`` (messages keyed by form field) without changing anything.
    """
    _check_editable(receipt)
    errors = rules.receipt_amount_errors(data.net_premium, data.taxes, data.total)
    if data.period_end_on < data.period_start_on:
        errors["period_end_on"] = (
            "La fin de période doit être postérieure ou égale au début de période."
        )
    _reserve_number(data.number)
    taken = queries.number_taken(
        data.number, except_receipt=receipt.id if receipt is not None else None
    )
    if taken:
        errors["number"] = NUMBER_TAKEN[taken]
    if (
        receipt is not None
        and receipt.allocated_amount
        and data.contract.client_id != receipt.contract.client_id
    ):
        errors["contract_number"] = CLIENT_LOCKED
    if receipt is not None and "total" not in errors:
        change = rules.total_change_error(data.total, receipt.allocated_amount)
        if change:
            errors["total"] = change
    original = data.original_receipt
    if original is not None:
        link = rules.refund_link_error(
            total=data.total,
            original_total=original.total,
            is_self=receipt is not None and original.id == receipt.id,
            same_contract=original.contract_id == data.contract.id,
            same_client=original.contract.client_id == data.contract.client_id,
        )
        if link:
            errors["original_receipt_number"] = link
    if errors:
        raise ValidationFailed(errors)

    return _write(Receipt, receipt, data, NUMBER_TAKEN["receipt"])


def save_fee_invoice(data: FeeInvoiceInput, invoice: FeeInvoice | None = None) -> FeeInvoice:
    """Create or update a facture d'honoraires (VAT and TTC computed), then its PDF."""
    _check_editable(invoice)
    errors = rules.fee_invoice_amount_errors(data.amount_ht, data.vat_rate)
    if data.contract is not None and data.contract.client_id != data.client.id:
        errors["contract_number"] = "Ce contrat n'appartient pas au client choisi."
    if data.contract is None and data.company is None:
        errors["company_id"] = "Choisissez la société émettrice (ou un contrat)."
    _reserve_number(data.number)
    taken = queries.number_taken(
        data.number, except_fee_invoice=invoice.id if invoice is not None else None
    )
    if taken:
        errors["number"] = NUMBER_TAKEN[taken]
    if invoice is not None and invoice.allocated_amount and data.client.id != invoice.client_id:
        errors["client_id"] = CLIENT_LOCKED
    if rules.amount_error(data.amount_ht) or rules.amount_error(data.vat_rate):
        raise ValidationFailed(errors)  # no VAT nor total to compute from such amounts
    vat, total = rules.fee_invoice_amounts(data.amount_ht, data.vat_rate)
    if invoice is not None and not errors:
        change = rules.total_change_error(total, invoice.allocated_amount)
        if change:
            errors["amount_ht"] = change
    original = data.original_fee_invoice
    if original is not None:
        link = rules.refund_link_error(
            total=total,
            original_total=original.total,
            is_self=invoice is not None and original.id == invoice.id,
            same_contract=data.contract is not None and original.contract_id == data.contract.id,
            same_client=original.client_id == data.client.id,
            noun="facture",
        )
        if link:
            errors["original_fee_invoice_number"] = link
    if errors:
        raise ValidationFailed(errors)

    return _write(
        FeeInvoice, invoice, data, NUMBER_TAKEN["fee_invoice"], vat_amount=vat, total=total
    )


# -- re-issue under a new number (after a Chorus REJETEE) ------------------------------------------

REISSUE = "portail/reemission"  # the audit trail's operation (B9), shown on both documents
NUMBER_REFUSED_BY_CHORUS = f"Chorus Pro n'accepte pas ce numéro ({NUMBER_RULE})."


def reissue_blocked_reason(document: Document) -> str | None:
    """Why ``document`` cannot be re-issued under a new number (None: it can)."""
    if document.replaced_by is not None:
        return f"{document.kind_label} déjà réémise sous le numéro {document.replaced_by.number}."
    if document.chorus_status != REJECTED_STATUS:
        return (
            "Seul un document rejeté par son destinataire dans Chorus Pro (statut REJETEE) "
            "se réémet sous un nouveau numéro."
        )
    return None


def proposed_reissue_number(document: Document) -> str:
    """A free number for the copy: ``<number>-R1`` (or ``-R2``…), within Chorus's limits."""
    candidates = list(
        rules.reissue_number_candidates(document.number, max_length=MAX_NUMBER_LENGTH)
    )
    for candidate in candidates:
        if is_acceptable_number(candidate) and queries.number_taken(candidate) is None:
            return candidate
    return candidates[0]


def reissue(document: Document, number: str, *, user: User | None) -> Document:
    """Copy a rejected document under a new number; the original becomes « Remplacée ».

    The copy takes every field of the original except its number, its date of entry (today)
    and everything Chorus- or payment-related; its PDF is generated anew. Both documents get
    a line in their audit trail. Raises ``ValidationFailed`` (``number`` field, or a form
    error) and changes nothing then; the caller rolls back on error.
    """
    blocked = reissue_blocked_reason(document)
    if blocked:
        raise ValidationFailed(blocked)
    if not is_acceptable_number(number):
        raise ValidationFailed({"number": NUMBER_REFUSED_BY_CHORUS})
    _reserve_number(number)
    taken = queries.number_taken(number)
    if taken:
        raise ValidationFailed({"number": NUMBER_TAKEN[taken]})
    copy = _copy_of(document, number)
    db.session.add(copy)
    _flush_unique(NUMBER_TAKEN[DocumentType.of(copy)])
    # Compare-and-set: of two concurrent re-issues of one original, only one links its copy.
    model = type(document)
    linked = changed_rows(
        update(model)
        .where(
            model.id == document.id,
            model.replaced_by_id.is_(None),
            model.chorus_status == REJECTED_STATUS,
        )
        .values(replaced_by_id=copy.id)
        .execution_options(synchronize_session=False)
    )
    if linked != 1:
        raise ValidationFailed(f"{document.kind_label} {document.number} vient d'être réémise.")
    db.session.refresh(document)
    regenerate_pdf(copy)
    _audit_reissue(document, copy, user)
    return copy


def _copy_of(document: Document, number: str) -> Document:
    today = clock.today()
    if isinstance(document, Receipt):
        return Receipt(
            number=number,
            contract=document.contract,
            period_start_on=document.period_start_on,
            period_end_on=document.period_end_on,
            entered_on=today,
            net_premium=document.net_premium,
            taxes=document.taxes,
            total=document.total,
            allocated_amount=ZERO,
            original_receipt=document.original_receipt,
        )
    return FeeInvoice(
        number=number,
        client=document.client,
        contract=document.contract,
        company=document.company,
        label=document.label,
        entered_on=today,
        amount_ht=document.amount_ht,
        vat_rate=document.vat_rate,
        vat_amount=document.vat_amount,
        total=document.total,
        allocated_amount=ZERO,
        original_fee_invoice=document.original_fee_invoice,
    )


def _audit_reissue(original: Document, copy: Document, user: User | None) -> None:
    """One line in each document's trail (B9), in the caller's transaction."""
    document_type = DocumentType.of(original)
    user_id = user.id if user is not None else None
    lines = (
        (original, f"Rejetée dans Chorus Pro : réémise sous le numéro {copy.number}"),
        (copy, f"Réémission de {original.number}, rejetée dans Chorus Pro"),
    )
    for document, message in lines:
        scope = audit.AuditScope(document_type, document.id, user_id=user_id)
        audit.note(
            scope,
            REISSUE,
            ExchangeOutcome.OK,
            chorus_invoice_id=original.chorus_invoice_id,
            message=message,
        )
        audit.save_pending(scope)


def pdf_change_blocked_reason(document: Document) -> str | None:
    """The main attachment cannot change while Chorus has, or is receiving, the document."""
    return rules.edit_blocked_reason(document.chorus_state, document.kind_label)


# -- payments and allocations ------------------------------------------------------------------


def _lock(model: Any, row_id: int) -> Any:
    """Reload a row locked for update (PostgreSQL), so concurrent allocations queue up."""
    return db.session.execute(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _document_client_id(document: Document) -> int:
    if isinstance(document, Receipt):
        return document.contract.client_id
    return document.client_id


def _payment_unallocated(payment: Payment) -> Decimal:
    allocated = db.session.execute(
        select(type_coerce(func.coalesce(func.sum(Allocation.amount), 0), Money)).where(
            Allocation.payment_id == payment.id
        )
    ).scalar_one()
    return payment.amount - allocated


@dataclass(frozen=True)
class Part:
    """An amount of a payment to allocate to one document."""

    document: Document
    amount: Decimal
    field: str = "allocation_amount"


def allocate(payment: Payment, parts: Sequence[Part]) -> list[Allocation]:
    """Allocate parts of ``payment`` to documents of its client, all or nothing.

    Each document row (and the payment row) is locked, its remaining amount re-read, the
    rules checked, then ``allocated_amount`` updated in the same transaction.
    Raises ``ValidationFailed`` (keyed by ``Part.field``) and rolls nothing half-done:
    the caller rolls back on error.
    """
    if not parts:
        raise ValidationFailed("Indiquez au moins un montant à affecter.")
    payment = _lock(Payment, payment.id)
    unallocated = _payment_unallocated(payment)
    errors: dict[str, str] = {}
    planned: list[tuple[Document, Decimal]] = []
    for part in parts:
        document = _lock(type(part.document), part.document.id)
        already = sum((amount for doc, amount in planned if doc is document), ZERO)
        problems = rules.allocation_errors(
            part.amount,
            document_total=document.total,
            document_remaining=document.remaining_amount - already,
            payment_unallocated=unallocated,
            same_client=_document_client_id(document) == payment.client_id,
        )
        if problems:
            errors[part.field] = " ".join(problems)
            continue
        planned.append((document, part.amount))
        unallocated -= part.amount
    if errors:
        raise ValidationFailed(errors)

    created = []
    for document, amount in planned:
        allocation = Allocation(payment=payment, amount=amount)
        if isinstance(document, Receipt):
            allocation.receipt = document
        else:
            allocation.fee_invoice = document
        document.allocated_amount = document.allocated_amount + amount
        db.session.add(allocation)
        created.append(allocation)
    db.session.flush()
    return created


@dataclass(frozen=True)
class PaymentInput:
    received_on: date
    amount: Decimal
    method: PaymentMethod
    reference: str


def record_payment(
    client: Client,
    data: PaymentInput,
    *,
    user: User | None,
    allocation: Part | None = None,
) -> Payment:
    """Record an encaissement and, optionally, its allocation, in one transaction."""
    settled = allocation.document.total if allocation is not None else None
    error = rules.payment_amount_error(data.amount, settled)
    if error:
        raise ValidationFailed({"amount": error})
    payment = Payment(
        client=client,
        received_on=data.received_on,
        amount=data.amount,
        method=data.method,
        reference=data.reference,
        created_by_id=user.id if user is not None else None,
    )
    db.session.add(payment)
    db.session.flush()
    if allocation is not None:
        allocate(payment, [allocation])
    return payment


def _release(allocation: Allocation) -> None:
    """Give the allocated amount back to the document (row locked)."""
    if allocation.receipt_id is not None:
        document = _lock(Receipt, allocation.receipt_id)
    elif allocation.fee_invoice_id is not None:
        document = _lock(FeeInvoice, allocation.fee_invoice_id)
    else:  # excluded by the check constraint
        raise LookupError(f"allocation {allocation.id} has no document")
    document.allocated_amount = document.allocated_amount - allocation.amount


def delete_allocation(allocation: Allocation) -> None:
    """Remove an affectation: the document's remaining amount comes back."""
    _release(allocation)
    allocation.payment.allocations.remove(allocation)
    db.session.delete(allocation)
    db.session.flush()


def delete_payment(payment: Payment) -> None:
    """Remove an encaissement and its affectations (restoring the documents' remaining)."""
    for allocation in payment.allocations:
        _release(allocation)
    db.session.delete(payment)  # the allocations go with it (cascade)
    db.session.flush()
