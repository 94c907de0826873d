"""The broker's companies and bank accounts, clients with their stored documents, contracts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.db_types import AwareDateTime, EnumText
from portal.extensions import db
from portal.search import search_key
from portal.validators import format_iban


class Company(db.Model):  # type: ignore[name-defined,misc]
    """Société: the broker's own legal entity."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    siren: Mapped[str | None] = mapped_column(String(9))
    orias_number: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    bank_accounts: Mapped[list[BankAccount]] = relationship(
        back_populates="company", order_by="BankAccount.label", cascade="all, delete-orphan"
    )


class BankAccount(db.Model):  # type: ignore[name-defined,misc]
    """Compte bancaire of a company, with its two Chorus codes (S6)."""

    __tablename__ = "bank_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    # S6: "Code du service du fournisseur" → fournisseur.idServiceFournisseur
    chorus_supplier_service_id: Mapped[int | None] = mapped_column(BigInteger)
    # S6: "Code du compte bancaire fournisseur" → fournisseur.codeCoordonneesBancairesFournisseur
    chorus_bank_details_id: Mapped[int | None] = mapped_column(BigInteger)

    company: Mapped[Company] = relationship(back_populates="bank_accounts")

    @property
    def iban_display(self) -> str:
        """IBAN grouped by four characters (stored without spaces)."""
        return format_iban(self.iban)


class ClientKind(enum.StrEnum):
    ENTREPRISE = "entreprise"
    PARTICULIER = "particulier"

    @property
    def label(self) -> str:
        return "Entreprise" if self is ClientKind.ENTREPRISE else "Particulier"


class Client(db.Model):  # type: ignore[name-defined,misc]
    """The insured (S7): only an *Entreprise* with a SIRET can be dematerialized."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ClientKind] = mapped_column(
        EnumText(ClientKind, 20), default=ClientKind.ENTREPRISE
    )
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    # Name and city folded for searching (portal.search), kept in step by ``_fold_words``.
    search_key: Mapped[str] = mapped_column(Text, default="")

    documents: Mapped[list[ClientDocument]] = relationship(
        back_populates="client", order_by="ClientDocument.uploaded_at.desc()"
    )
    contracts: Mapped[list[Contract]] = relationship(back_populates="client")

    @property
    def is_company(self) -> bool:
        return self.kind == ClientKind.ENTREPRISE


@event.listens_for(Client, "before_insert")
@event.listens_for(Client, "before_update")
def _fold_words(_mapper: Any, _connection: Any, client: Client) -> None:
    client.search_key = search_key(client.name, client.city)


class ClientDocument(db.Model):  # type: ignore[name-defined,misc]
    """A file of the client's GED, stored on disk under a generated name."""

    __tablename__ = "client_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    mime_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    client: Mapped[Client] = relationship(back_populates="documents")

    @property
    def extension(self) -> str:
        return self.original_name.rsplit(".", 1)[-1].lower() if "." in self.original_name else ""


class Term(enum.StrEnum):
    """Terme: premium payable at period start (à échoir) or end (échu)."""

    ADVANCE = "advance"
    ARREARS = "arrears"

    @property
    def label(self) -> str:
        return "À échoir" if self is Term.ADVANCE else "Échu"


class Contract(db.Model):  # type: ignore[name-defined,misc]
    """Insurance contract of a client through one of the broker's companies (S8)."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("bank_accounts.id"))
    product: Mapped[str] = mapped_column(String(160))
    insurer: Mapped[str] = mapped_column(String(160))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()
    term: Mapped[Term] = mapped_column(EnumText(Term, 10), default=Term.ADVANCE)
    # S8
    is_chorus_enabled: Mapped[bool] = mapped_column(default=False, index=True)
    chorus_service_code: Mapped[str | None] = mapped_column(String(100))
    chorus_engagement_number: Mapped[str | None] = mapped_column(String(50))
    chorus_market_number: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    client: Mapped[Client] = relationship(back_populates="contracts")
    company: Mapped[Company] = relationship()
    bank_account: Mapped[BankAccount | None] = relationship()
