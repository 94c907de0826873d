"""Receipts and fee invoices seen as one kind of thing: a dematerializable document."""

from __future__ import annotations

from typing import cast

from portal.billing.models import FeeInvoice, Receipt
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.links import path_for

Document = Receipt | FeeInvoice

MODELS: dict[DocumentType, type[Receipt] | type[FeeInvoice]] = {
    DocumentType.RECEIPT: Receipt,
    DocumentType.FEE_INVOICE: FeeInvoice,
}


def type_of(document: Document) -> DocumentType:
    return DocumentType.RECEIPT if isinstance(document, Receipt) else DocumentType.FEE_INVOICE


def model_of(document_type: str) -> type[Receipt] | type[FeeInvoice]:
    return MODELS[DocumentType(document_type)]


def load(document_type: str, document_id: int) -> Document | None:
    return cast(Document | None, db.session.get(model_of(document_type), document_id))


# The pages of each kind: endpoints ``billing.<prefix>_<page>`` taking ``<argument>``.
_PAGES: dict[DocumentType, tuple[str, str]] = {
    DocumentType.RECEIPT: ("billing.receipt", "receipt_id"),
    DocumentType.FEE_INVOICE: ("billing.fee_invoice", "invoice_id"),
}


def page_url(document_type: DocumentType | str, document_id: int, page: str = "detail") -> str:
    """Path of one of a document's pages (``detail``, ``pdf``, ``edit``, ``regenerate_pdf``,
    ``upload_pdf``, ``check_integrity``), from a request or a background thread."""
    prefix, argument = _PAGES[DocumentType(document_type)]
    return path_for(f"{prefix}_{page}", **{argument: document_id})


def url_of(document: Document, page: str = "detail") -> str:
    """Path of one of ``document``'s pages (see ``page_url``)."""
    return page_url(type_of(document), document.id, page)
