"""Receipts and fee invoices seen as one kind of thing: a dematerializable document.

What differs between the two kinds by name (slug, French words, model) lives on
``DocumentType``; here are the ways to reach a document: load it, read its kind from a URL
(``<doctype:kind>``), and the paths of its pages.
"""

from __future__ import annotations

from typing import Any, cast

from flask import abort
from werkzeug.routing import BaseConverter, ValidationError

from portal.billing.models import FeeInvoice, Receipt
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.links import path_for

Document = Receipt | FeeInvoice


def load(document_type: DocumentType | str, document_id: int) -> Document | None:
    """The document a job item or a stored row names, if it still exists."""
    model = DocumentType(document_type).model
    return cast(Document | None, db.session.get(model, document_id))


def load_document_or_404(kind: DocumentType, document_id: int) -> Document:
    """The document a page's URL names, or « Page introuvable »."""
    document = load(kind, document_id)
    if document is None:
        abort(404)
    return document


class DocumentTypeConverter(BaseConverter):
    """``<doctype:kind>`` in a route: ``quittances`` or ``factures`` in the URL, a
    ``DocumentType`` in the view. Any other segment matches no route (a 404).
    ``url_for(..., kind=DocumentType.RECEIPT)`` (or its stored value) writes the slug."""

    regex = "|".join(kind.slug for kind in DocumentType)

    def to_python(self, value: str) -> DocumentType:
        kind = DocumentType.from_slug(value)
        if kind is None:
            raise ValidationError()
        return kind

    def to_url(self, value: Any) -> str:
        return DocumentType(value).slug


def page_url(document_type: DocumentType | str, document_id: int, page: str = "detail") -> str:
    """Path of one of a document's pages (endpoint ``billing.document_<page>``: ``detail``,
    ``pdf``, ``edit``, ``regenerate_pdf``, ``upload_pdf``, ``check_integrity``, ``reissue``),
    from a request or a background thread."""
    return path_for(
        f"billing.document_{page}", kind=DocumentType(document_type), document_id=document_id
    )


def url_of(document: Document, page: str = "detail") -> str:
    """Path of one of ``document``'s pages (see ``page_url``)."""
    return page_url(DocumentType.of(document), document.id, page)
