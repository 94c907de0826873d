"""Typed results of Chorus Pro calls: the rest of the portal never sees Chorus JSON.

Each ``from_json`` is lenient about what Chorus adds or leaves out (fields absent, dates as
``YYYY-MM-DD``, ISO date-times or epoch milliseconds, unknown statuses kept as they come).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

# Chorus Pro answers in French time: a date-time without an offset is taken in Paris.
PARIS = ZoneInfo("Europe/Paris")

Json = Mapping[str, Any]

PUBLIC_SERVICE_CODE = "FACTURES_PUBLIQUES"


# -- field readers ------------------------------------------------------------------------------


def _str(data: Json, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def as_int(value: Any) -> int | None:
    """An integer from a JSON number or digits; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int(data: Json, name: str) -> int | None:
    return as_int(data.get(name))


def _bool(data: Json, name: str) -> bool:
    value = data.get(name)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "oui", "yes"}
    return bool(value)


def _decimal(data: Json, name: str) -> Decimal | None:
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _obj(data: Json, name: str) -> Json:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def json_rows(data: Json, name: str) -> list[Json]:
    """The objects of the list ``name`` (anything else in it, or no list, is left out)."""
    value = data.get(name)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def parse_datetime(value: Any) -> datetime | None:
    """An aware datetime from Chorus's formats (naive values are Paris time)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment


def parse_date(value: Any) -> date | None:
    """A date from ``YYYY-MM-DD``, an ISO date-time (taken in Paris) or epoch milliseconds."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    moment = parse_datetime(value)
    return moment.astimezone(PARIS).date() if moment is not None else None


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """A PISTE token was obtained (the token itself stays inside the client)."""

    token_type: str
    expires_in: int


@dataclass(frozen=True)
class HealthStatus:
    ok: bool
    message: str

    @classmethod
    def from_json(cls, data: Json) -> HealthStatus:
        message = _str(data, "libelle") or _str(data, "statut") or "Chorus Pro répond."
        return cls(ok=True, message=message)


@dataclass(frozen=True)
class UploadedAttachment:
    piece_jointe_id: int

    @classmethod
    def from_json(cls, data: Json) -> UploadedAttachment:
        identifier = _int(data, "pieceJointeId")
        if identifier is None:
            raise ValueError("pieceJointeId absent")
        return cls(piece_jointe_id=identifier)


@dataclass(frozen=True)
class SubmittedInvoice:
    """Chorus's answer to ``soumettre``: the invoice exists in Chorus Pro."""

    identifiant_facture_cpp: int
    numero_facture: str | None
    statut: str | None
    date_depot: date | None
    empreinte_certificat_depot: str | None

    @classmethod
    def from_json(cls, data: Json) -> SubmittedInvoice:
        identifier = _int(data, "identifiantFactureCPP")
        if identifier is None:
            raise ValueError("identifiantFactureCPP absent")
        return cls(
            identifiant_facture_cpp=identifier,
            numero_facture=_str(data, "numeroFacture"),
            statut=_str(data, "statutFacture"),
            date_depot=parse_date(data.get("dateDepot")),
            empreinte_certificat_depot=_str(data, "empreinteCertificatDepot"),
        )


@dataclass(frozen=True)
class InvoiceSummary:
    """One line of ``rechercher/fournisseur``."""

    identifiant_facture_cpp: int
    numero_facture: str | None
    statut: str | None
    type_facture: str | None
    date_facture: date | None
    date_depot: date | None
    id_destinataire: int | None
    code_destinataire: str | None
    designation_destinataire: str | None
    montant_ttc: Decimal | None
    montant_a_payer: Decimal | None
    status_changed_at: datetime | None
    status_comment: str | None

    @classmethod
    def from_json(cls, data: Json) -> InvoiceSummary:
        return cls(
            identifiant_facture_cpp=_int(data, "identifiantFactureCPP") or 0,
            numero_facture=_str(data, "numeroFacture"),
            statut=_str(data, "statut"),
            type_facture=_str(data, "typeFacture"),
            date_facture=parse_date(data.get("dateFacture")),
            date_depot=parse_date(data.get("dateDepot")),
            id_destinataire=_int(data, "idDestinataire"),
            code_destinataire=_str(data, "codeDestinataire"),
            designation_destinataire=_str(data, "designationDestinataire"),
            montant_ttc=_decimal(data, "montantTTC"),
            montant_a_payer=_decimal(data, "montantAPayer"),
            status_changed_at=parse_datetime(data.get("dateHeureEtatCourant")),
            status_comment=_str(data, "commentaireEtatCourant"),
        )


@dataclass(frozen=True)
class InvoiceDetail:
    """``consulter/fournisseur``: the invoice as Chorus Pro holds it."""

    identifiant_facture_cpp: int
    numero_facture: str | None
    statut: str | None
    type_facture: str | None
    date_facture: date | None
    date_depot: date | None
    id_destinataire: int | None
    code_destinataire: str | None
    code_service_executant: str | None
    id_fournisseur: int | None
    montant_ht: Decimal | None
    montant_tva: Decimal | None
    montant_ttc: Decimal | None
    montant_a_payer: Decimal | None
    numero_facture_origine: str | None
    commentaire: str | None

    @classmethod
    def from_json(cls, data: Json) -> InvoiceDetail:
        invoice = _obj(data, "facture")
        recipient = _obj(invoice, "destinataire")
        supplier = _obj(invoice, "fournisseur")
        references = _obj(invoice, "references")
        totals = _obj(invoice, "montantTotal")
        return cls(
            identifiant_facture_cpp=_int(invoice, "identifiantFactureCPP") or 0,
            numero_facture=_str(invoice, "numeroFacture"),
            statut=_str(invoice, "statutFacture"),
            type_facture=_str(references, "typeFacture"),
            date_facture=parse_date(references.get("dateFacture")),
            date_depot=parse_date(references.get("dateDepot")),
            id_destinataire=_int(recipient, "idDestinataire"),
            code_destinataire=_str(recipient, "codeDestinataire"),
            code_service_executant=_str(recipient, "codeServiceExecutant"),
            id_fournisseur=_int(supplier, "idFournisseur"),
            montant_ht=_decimal(totals, "montantHtTotal"),
            montant_tva=_decimal(totals, "montantTVA"),
            montant_ttc=_decimal(totals, "montantTtcTotal"),
            montant_a_payer=_decimal(totals, "montantAPayer"),
            numero_facture_origine=_str(references, "numeroFactureOrigine"),
            commentaire=_str(invoice, "commentaire"),
        )


@dataclass(frozen=True)
class StatusEntry:
    code: str
    passed_at: datetime | None
    comment: str | None


@dataclass(frozen=True)
class InvoiceHistory:
    """``consulter/historique``: current status and its history, oldest first."""

    id_facture: int | None
    numero_facture: str | None
    current_status: str | None
    entries: tuple[StatusEntry, ...] = field(default_factory=tuple)

    @property
    def latest_comment(self) -> str | None:
        """The recipient's comment on the current status, when there is one."""
        for entry in reversed(self.entries):
            if entry.code == self.current_status:
                return entry.comment
        return None

    @classmethod
    def from_json(cls, data: Json) -> InvoiceHistory:
        entries = [
            StatusEntry(
                code=_str(item, "histoStatutCode") or "",
                passed_at=parse_datetime(item.get("histoStatutDatePassage")),
                comment=_str(item, "histoStatutCommentaire"),
            )
            for item in json_rows(_obj(data, "historiquesDesStatuts"), "histoStatut")
        ]
        oldest = datetime.min.replace(tzinfo=UTC)
        entries.sort(key=lambda entry: entry.passed_at or oldest)
        current = _str(data, "statutCourantCode") or (entries[-1].code if entries else None)
        return cls(
            id_facture=_int(data, "idFacture"),
            numero_facture=_str(data, "numeroFacture"),
            current_status=current,
            entries=tuple(entries),
        )


@dataclass(frozen=True)
class StructureSummary:
    """One line of ``structures/rechercher``."""

    id_structure_cpp: int
    identifiant: str | None
    designation: str | None
    statut: str | None
    type_identifiant: str | None

    @property
    def is_active(self) -> bool:
        return self.statut == "ACTIVE"

    @classmethod
    def from_json(cls, data: Json) -> StructureSummary:
        return cls(
            id_structure_cpp=_int(data, "idStructureCPP") or 0,
            identifiant=_str(data, "identifiantStructure"),
            designation=_str(data, "designationStructure"),
            statut=_str(data, "statut"),
            type_identifiant=_str(data, "typeIdentifiantStructure"),
        )


@dataclass(frozen=True)
class StructureDetail:
    """``structures/consulter``: the structure's invoicing rules (B3) and general data."""

    id_structure_cpp: int
    identifiant: str | None
    designation: str | None
    public_or_private: str | None
    service_code_required: bool
    engagement_required: bool
    engagement_or_service_required: bool
    payment_status_not_reported: bool
    password_expires_on: date | None

    @property
    def is_public(self) -> bool:
        return self.public_or_private == "PUBLIQUE"

    @classmethod
    def from_json(cls, data: Json) -> StructureDetail:
        info = _obj(data, "informationGenerales")
        rules = _obj(data, "parametres")
        designation = (
            _str(info, "raisonSocialeStructure")
            or _str(info, "libelleStructure")
            or _str(info, "nomStructure")
        )
        return cls(
            id_structure_cpp=_int(info, "idStructureCPP") or 0,
            identifiant=_str(info, "identifiantStructure"),
            designation=designation,
            public_or_private=_str(info, "structurePriveePublique"),
            service_code_required=_bool(rules, "codeServiceDoitEtreRenseigne"),
            engagement_required=_bool(rules, "numeroEJDoitEtreRenseigne"),
            engagement_or_service_required=_bool(rules, "gestionNumeroEJOuCodeService"),
            payment_status_not_reported=_bool(rules, "statutMiseEnPaiementNestPasRemonte"),
            password_expires_on=parse_date(info.get("dateExpirationMotPasseCompteTech")),
        )


@dataclass(frozen=True)
class ServiceSummary:
    """One service of a structure (``rechercher/services``)."""

    id_service: int
    code: str
    label: str | None
    is_active: bool

    @property
    def is_usable(self) -> bool:
        """Active and not the public-to-public service, which a supplier must never use."""
        return self.is_active and self.code != PUBLIC_SERVICE_CODE

    @classmethod
    def from_json(cls, data: Json) -> ServiceSummary:
        return cls(
            id_service=_int(data, "idService") or 0,
            code=_str(data, "codeService") or "",
            label=_str(data, "libelleService"),
            is_active=_bool(data, "estActif"),
        )


@dataclass(frozen=True)
class ServiceDetail:
    """``structures/consulter/service``."""

    id_service: int
    code: str | None
    name: str | None
    engagement_required: bool
    payment_reported: bool

    @classmethod
    def from_json(cls, data: Json, id_service: int) -> ServiceDetail:
        info = _obj(data, "informationsGenerales")
        rules = _obj(data, "parametres")
        return cls(
            id_service=id_service,
            code=_str(info, "codeService"),
            name=_str(info, "nomService"),
            engagement_required=_bool(rules, "numeroEngagement"),
            payment_reported=_bool(rules, "miseEnPaiement"),
        )


@dataclass(frozen=True)
class SupplierStructure:
    """A structure the technical account may invoice as (the "Identifiant fournisseur")."""

    id_structure_cpp: int
    identifiant: str | None
    designation: str | None

    @property
    def label(self) -> str:
        """French one-line description for a choice list."""
        parts = [str(self.id_structure_cpp)]
        if self.designation:
            parts.append(f"— {self.designation}")
        if self.identifiant:
            parts.append(f"(SIRET {self.identifiant})")
        return " ".join(parts)

    @classmethod
    def from_json(cls, data: Json) -> SupplierStructure:
        return cls(
            id_structure_cpp=_int(data, "idStructureCPP") or 0,
            # The SIRET is ``identifiant`` in this answer, not ``identifiantStructure``.
            identifiant=_str(data, "identifiant"),
            designation=_str(data, "designationStructure") or _str(data, "libelleStructure"),
        )


# Shorter than any country's IBAN: too little to say a name mentions it.
MIN_IBAN_LENGTH = 15


@dataclass(frozen=True)
class BankDetails:
    """Valid bank coordinates of a supplier structure (``recuperer/coordbanc/valides``).

    Chorus answers only the id and the name the supplier gave them — no IBAN, no BIC — so
    they are chosen by name.
    """

    id_coordonnee_bancaire: int
    name: str | None

    @property
    def label(self) -> str:
        """French one-line description for a choice list."""
        if not self.name:
            return str(self.id_coordonnee_bancaire)
        return f"{self.id_coordonnee_bancaire} — {self.name}"

    def name_mentions_iban(self, iban: str) -> bool:
        """Is ``iban`` written in the name (spaces and case ignored)? A hint, never a proof."""
        wanted = _compact(iban)
        return len(wanted) >= MIN_IBAN_LENGTH and wanted in _compact(self.name or "")

    @classmethod
    def from_json(cls, data: Json) -> BankDetails:
        return cls(
            id_coordonnee_bancaire=_int(data, "idCoordonneeBancaire") or 0,
            name=_str(data, "nomCoordonneeBancaire"),
        )


def _compact(text: str) -> str:
    return "".join(text.split()).upper()


@dataclass(frozen=True)
class VatExemptionReason:
    """A VAT exemption reason accepted by Chorus (``recuperer/motifs/exonerationtva``)."""

    code: str
    label: str | None

    @classmethod
    def from_json(cls, data: Json) -> VatExemptionReason:
        # Clients in the wild read the long names; one documentation shows short ones.
        return cls(
            code=_str(data, "codeMotifExonerationTva") or _str(data, "code") or "",
            label=_str(data, "libelleMotifExonerationTva") or _str(data, "libelle"),
        )


@dataclass(frozen=True)
class AttachmentType:
    """A secondary attachment type Chorus accepts (``recuperer/typespj``, EVIDENCE.md § 2).

    ``code`` is what ``pieceJointeComplementaireType`` carries; ``object_type`` is the
    ``typeObjet`` Chorus files the type under (``FACTURE`` for invoices), when it says.
    """

    code: str
    label: str | None
    object_type: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> AttachmentType:
        return cls(
            code=_str(data, "codeTypePieceJointe") or "",
            label=_str(data, "libelleTypePieceJointe"),
            object_type=_str(data, "typeObjet"),
        )
