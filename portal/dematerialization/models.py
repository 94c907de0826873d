"""Chorus facts kept by the portal: recipient structures (B3), exchanges (B9), statuses (B1)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.billing.models import FeeInvoice, Receipt
from portal.clock import utcnow
from portal.db_types import AwareDateTime, EnumText
from portal.extensions import db


class DocumentType(enum.StrEnum):
    """A receipt or a fee invoice: the stored value, its URL slug, its French words, its model.

    The one place that knows what differs between the two kinds of document by name; the
    ``<doctype:kind>`` URL converter (``portal.dematerialization.documents``) reads the slug.
    """

    RECEIPT = "receipt"
    FEE_INVOICE = "fee_invoice"

    @classmethod
    def of(cls, document: Receipt | FeeInvoice) -> DocumentType:
        return cls.RECEIPT if isinstance(document, Receipt) else cls.FEE_INVOICE

    @classmethod
    def from_slug(cls, slug: str) -> DocumentType | None:
        """The type a URL segment or query argument names (``quittances``), if any."""
        return next((kind for kind in cls if kind.slug == slug), None)

    @property
    def model(self) -> type[Receipt] | type[FeeInvoice]:
        return Receipt if self is DocumentType.RECEIPT else FeeInvoice

    @property
    def slug(self) -> str:
        """In URLs: ``/quittances/42``, ``/dematerialisation/factures/7/envoyer``."""
        return "quittances" if self is DocumentType.RECEIPT else "factures"

    @property
    def dom_name(self) -> str:
        """In element ids: ``receipt-42``, ``chorus-badge-fee-invoice-7``."""
        return "receipt" if self is DocumentType.RECEIPT else "fee-invoice"

    @property
    def label(self) -> str:
        """« Quittance », « Facture d'honoraires » (lowercase in a sentence: ``|lower``)."""
        return "Quittance" if self is DocumentType.RECEIPT else "Facture d'honoraires"

    @property
    def plural(self) -> str:
        return "Quittances" if self is DocumentType.RECEIPT else "Factures d'honoraires"

    @property
    def short_label(self) -> str:
        """Where space is short (menus, breadcrumbs, tables): « Quittance », « Facture »."""
        return "Quittance" if self is DocumentType.RECEIPT else "Facture"

    @property
    def short_plural(self) -> str:
        return "Quittances" if self is DocumentType.RECEIPT else "Factures"

    @property
    def pdf_noun(self) -> str:
        """What its generated PDF is called: « avis d'échéance », « PDF »."""
        return "avis d'échéance" if self is DocumentType.RECEIPT else "PDF"

    @property
    def pdf_title(self) -> str:
        """The title its PDF bears: « Avis d'échéance », « Facture d'honoraires »."""
        return "Avis d'échéance" if self is DocumentType.RECEIPT else "Facture d'honoraires"


class RecipientStructure(db.Model):  # type: ignore[name-defined,misc]
    """What Chorus says about the public structure behind a SIRET (cached, B3)."""

    __tablename__ = "recipient_structures"

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    is_found: Mapped[bool] = mapped_column(default=False)
    chorus_structure_id: Mapped[int | None] = mapped_column(BigInteger)
    designation: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=False)
    service_code_required: Mapped[bool] = mapped_column(default=False)
    engagement_required: Mapped[bool] = mapped_column(default=False)
    engagement_or_service: Mapped[bool] = mapped_column(default=False)
    payment_not_reported: Mapped[bool] = mapped_column(default=False)
    refreshed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    services: Mapped[list[RecipientService]] = relationship(
        back_populates="structure", order_by="RecipientService.code", cascade="all, delete-orphan"
    )

    def service(self, code: str | None) -> RecipientService | None:
        """The service with this code, if Chorus lists it."""
        return next((s for s in self.services if s.code == code), None) if code else None

    @property
    def active_services(self) -> list[RecipientService]:
        """Services one may invoice (active, never the public-to-public default)."""
        return [s for s in self.services if s.is_active and s.code != PUBLIC_TO_PUBLIC_SERVICE]


# Every structure has this default service, reserved to invoices between public bodies.
PUBLIC_TO_PUBLIC_SERVICE = "FACTURES_PUBLIQUES"


class RecipientService(db.Model):  # type: ignore[name-defined,misc]
    """A service of a recipient structure, as Chorus lists it (B3)."""

    __tablename__ = "recipient_services"
    __table_args__ = (UniqueConstraint("structure_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("recipient_structures.id"))
    chorus_service_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # From ``consulter/service``, asked only for the services contracts use: None until
    # consulted since the structure's last refresh (unknown, never "not required").
    engagement_required: Mapped[bool | None] = mapped_column(default=None)

    structure: Mapped[RecipientStructure] = relationship(back_populates="services")


class ExchangeOutcome(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"
    AUTHENTICATION = "authentication"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return {
            ExchangeOutcome.OK: "Succès",
            ExchangeOutcome.REFUSED: "Refus",
            ExchangeOutcome.UNAVAILABLE: "Indisponible",
            ExchangeOutcome.AUTHENTICATION: "Authentification",
            ExchangeOutcome.UNKNOWN: "Issue inconnue",
        }[self]


class ChorusExchange(db.Model):  # type: ignore[name-defined,misc]
    """One call to Chorus about a document (B9): never secrets, never file contents."""

    __tablename__ = "chorus_exchanges"
    __table_args__ = (Index("ix_chorus_exchanges_document", "document_type", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[DocumentType] = mapped_column(EnumText(DocumentType, 20))
    document_id: Mapped[int] = mapped_column()
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    operation: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column()
    outcome: Mapped[ExchangeOutcome] = mapped_column(EnumText(ExchangeOutcome, 20))
    code_retour: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    chorus_invoice_id: Mapped[int | None] = mapped_column(BigInteger)
    attachment_id: Mapped[int | None] = mapped_column(BigInteger)


class ChorusStatusEvent(db.Model):  # type: ignore[name-defined,misc]
    """One step of a sent document's Chorus status history (B1)."""

    __tablename__ = "chorus_status_events"
    __table_args__ = (
        UniqueConstraint("document_type", "document_id", "status_code", "changed_at"),
        Index("ix_chorus_status_events_document", "document_type", "document_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[DocumentType] = mapped_column(EnumText(DocumentType, 20))
    document_id: Mapped[int] = mapped_column()
    status_code: Mapped[str] = mapped_column(String(60))
    changed_at: Mapped[datetime] = mapped_column(AwareDateTime)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
