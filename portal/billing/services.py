"""State changes for billing: documents, their PDFs and integrity, payments and allocations.

Services ``flush()``; the caller (request or job) commits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import storage
from portal.billing import pdf, rules
from portal.billing.models import FeeInvoice, Receipt
from portal.extensions import db

Document = Receipt | FeeInvoice


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
