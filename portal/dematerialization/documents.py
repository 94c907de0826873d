"""Receipts and fee invoices seen as one kind of thing: a dematerializable document."""

from __future__ import annotations

from typing import cast

from portal.billing.models import FeeInvoice, Receipt
from portal.dematerialization.models import DocumentType
from portal.extensions import db

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
