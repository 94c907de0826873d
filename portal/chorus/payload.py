"""The one mapping from a receipt or fee invoice to the ``factures/soumettre`` body.

It takes plain values (:class:`Invoice`, settings as :class:`SupplierAccount`) and knows
nothing of the portal's models: :mod:`portal.sending.payload_input` reads a document into them.

It follows the table of the API notes (§2) field by field. Decisions taken here:

- **Receipts** (insurance premiums) are exempt from VAT; the insurance tax is not VAT, so
  ``montantHtTotal`` = ``montantTtcTotal`` = ``montantAPayer`` = the receipt total and
  ``montantTVA`` = 0, with ``typeTva`` ``EXONERATION`` and the exemption **code** chosen in
  Chorus's list (``recuperer/motifs/exonerationtva``), never a free text: without one the
  payload cannot be built (the eligibility rule ``S2_NO_VAT_EXEMPTION_CODE`` stops it first).
- **Fee invoices**: HT = ``amount_ht``, TVA = ``vat_amount``, TTC = ``total`` (which must be
  HT + TVA); ``TVA_SUR_DEBIT`` when there is VAT, else ``EXONERATION``.
- **Negative documents** (refunds, B10) are sent as ``AVOIR`` with **positive** amounts: in
  Chorus Pro the invoice type carries the sign. A refund receipt (a fee-invoice credit note)
  references the receipt (invoice) it refunds in ``numeroFactureOrigine`` — or the copy that
  replaced it after a rejection, the number Chorus knows. An ``AVOIR`` carries no
  ``modePaiement``: nothing is paid to the supplier (EVIDENCE.md § 5).
- **Secondary attachments** carry in ``pieceJointeComplementaireType`` a code of Chorus's
  list (``recuperer/typespj``) chosen per attachment; one without a type stops the payload.
- Optional fields are left out when empty rather than sent as ``null``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from portal.chorus.limits import MAX_NAME_LENGTH, extension_of

MODE_DEPOT = "DEPOT_PDF_API"
CADRE_FACTURATION = "A1_FACTURE_FOURNISSEUR"
CURRENCY = "EUR"

ZERO = Decimal("0.00")

NO_VAT_EXEMPTION_CODE = (
    "Aucun motif d'exonération de TVA Chorus Pro n'est choisi : un administrateur le choisit "
    "dans la liste de Chorus Pro (Administration › Paramètres › Système)."
)

NO_ATTACHMENT_TYPE = (
    "La pièce jointe complémentaire « {name} » n'a pas de type Chorus Pro : choisissez-le "
    "sur l'écran d'envoi, ou faites choisir un type par défaut par un administrateur "
    "(Administration › Paramètres › Système)."
)


class PayloadError(ValueError):
    """The document cannot be described to Chorus Pro (French message, shown to users)."""


class SupplierAccount(Protocol):
    """The settings a submission reads (the portal's ``ChorusSettings`` is one)."""

    @property
    def supplier_id(self) -> int | None: ...

    @property
    def user_id(self) -> int | None: ...

    @property
    def vat_exemption_code(self) -> str | None: ...


@dataclass(frozen=True)
class BankAccountIds:
    """The supplier's bank account as Chorus knows it (ids read by the B4 lookup)."""

    supplier_service_id: int | None = None
    bank_details_id: int | None = None


@dataclass(frozen=True)
class Invoice:
    """One receipt or fee invoice as Chorus is told about it, in plain values.

    Amounts are rounded to the cent and carry the document's sign (negative: a credit
    note); ``origin_number`` is the invoice a credit note refunds; ``bank_account`` is the
    one the contract pays into (None: no bank account).
    """

    number: str
    amount_ht: Decimal
    vat_amount: Decimal
    total: Decimal
    recipient_name: str
    recipient_siret: str | None
    service_code: str | None = None
    engagement_number: str | None = None
    market_number: str | None = None
    origin_number: str | None = None
    bank_account: BankAccountIds | None = None


@dataclass(frozen=True)
class AttachmentRef:
    """A file already stored in Chorus Pro by ``ajouter/fichier``.

    ``type``: for a secondary attachment, a code of Chorus's list (``recuperer/typespj``)
    chosen on the send screen or the administrator's default — never a guessed value.
    """

    piece_jointe_id: int
    designation: str
    type: str | None = None


def build_submission(
    invoice: Invoice,
    *,
    settings: SupplierAccount,
    invoice_date: date,
    main_attachment: AttachmentRef,
    secondary_attachments: Sequence[AttachmentRef] = (),
) -> dict[str, Any]:
    """The ``soumettre`` body for ``invoice`` (``invoice_date``: day of sending, S15)."""
    if settings.supplier_id is None:
        raise PayloadError("L'identifiant fournisseur Chorus Pro n'est pas renseigné.")
    if not invoice.recipient_siret:
        raise PayloadError(f"Le client « {invoice.recipient_name} » n'a pas de SIRET.")
    ht, tva, ttc = _amounts(invoice)
    is_credit_note = ttc < ZERO

    body: dict[str, Any] = {
        "modeDepot": MODE_DEPOT,
        "numeroFactureSaisi": invoice.number,
        "dateFacture": invoice_date.isoformat(),
    }
    if settings.user_id is not None:
        body["idUtilisateurCourant"] = settings.user_id
    body["destinataire"] = _recipient(invoice.recipient_siret, invoice.service_code)
    body["fournisseur"] = _supplier(settings.supplier_id, invoice.bank_account)
    body["cadreDeFacturation"] = {"codeCadreFacturation": CADRE_FACTURATION}
    body["references"] = _references(invoice, settings, tva, is_credit_note=is_credit_note)
    body["montantTotal"] = {
        "montantHtTotal": abs(ht),
        "montantTVA": abs(tva),
        "montantTtcTotal": abs(ttc),
        "montantAPayer": abs(ttc),
    }
    body["pieceJointePrincipale"] = [
        {
            "pieceJointePrincipaleDesignation": main_attachment.designation,
            "pieceJointePrincipaleId": main_attachment.piece_jointe_id,
        }
    ]
    for attachment in secondary_attachments:
        if not attachment.type:
            raise PayloadError(NO_ATTACHMENT_TYPE.format(name=attachment.designation))
    if secondary_attachments:
        body["pieceJointeComplementaire"] = [
            {
                "pieceJointeComplementaireDesignation": attachment.designation,
                "pieceJointeComplementaireType": attachment.type,
                "pieceJointeComplementaireId": attachment.piece_jointe_id,
            }
            for attachment in secondary_attachments
        ]
    return body


def _amounts(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    """(HT, TVA, TTC) with the document's sign; refused when HT + TVA is not TTC."""
    ht, tva, ttc = invoice.amount_ht, invoice.vat_amount, invoice.total
    if ht + tva != ttc:
        raise PayloadError(
            f"Montants incohérents sur la facture {invoice.number} : "
            f"HT {ht} + TVA {tva} ≠ TTC {ttc}."
        )
    return ht, tva, ttc


def _recipient(siret: str, service_code: str | None) -> dict[str, Any]:
    recipient: dict[str, Any] = {"codeDestinataire": siret}
    code = (service_code or "").strip()
    if code:
        recipient["codeServiceExecutant"] = code
    return recipient


def _supplier(supplier_id: int, bank_account: BankAccountIds | None) -> dict[str, Any]:
    supplier: dict[str, Any] = {"idFournisseur": supplier_id}
    if bank_account is not None and bank_account.supplier_service_id is not None:
        supplier["idServiceFournisseur"] = int(bank_account.supplier_service_id)
    if bank_account is not None and bank_account.bank_details_id is not None:
        supplier["codeCoordonneesBancairesFournisseur"] = int(bank_account.bank_details_id)
    return supplier


def _references(
    invoice: Invoice,
    settings: SupplierAccount,
    tva: Decimal,
    *,
    is_credit_note: bool,
) -> dict[str, Any]:
    references: dict[str, Any] = {
        "deviseFacture": CURRENCY,
        "typeFacture": "AVOIR" if is_credit_note else "FACTURE",
    }
    if tva != ZERO:
        references["typeTva"] = "TVA_SUR_DEBIT"
    else:
        if not settings.vat_exemption_code:
            raise PayloadError(NO_VAT_EXEMPTION_CODE)
        references["typeTva"] = "EXONERATION"
        references["motifExonerationTva"] = settings.vat_exemption_code
    if invoice.origin_number is not None:
        references["numeroFactureOrigine"] = invoice.origin_number
    engagement = (invoice.engagement_number or "").strip()
    if engagement:
        references["numeroBonCommande"] = engagement
    market = (invoice.market_number or "").strip()
    if market:
        references["numeroMarche"] = market
    if not is_credit_note:
        references["modePaiement"] = "VIREMENT" if invoice.bank_account is not None else "AUTRE"
    return references


# -- attachment names ---------------------------------------------------------------------------


def chorus_file_name(name: str) -> str:
    """A name Chorus accepts: ASCII, no path, at most 50 characters extension included."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._") or "document"
    extension = extension_of(ascii_name)
    stem = ascii_name[: -(len(extension) + 1)] if extension else ascii_name
    suffix = f".{extension}" if extension else ""
    room = MAX_NAME_LENGTH - len(suffix)
    return (stem[:room].rstrip("._-") or "document") + suffix
