"""The one mapping from a receipt or fee invoice to the ``factures/soumettre`` body.

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
from typing import Any

from portal.billing.models import FeeInvoice, Receipt
from portal.chorus.limits import MAX_NAME_LENGTH, extension_of
from portal.db_types import to_money
from portal.portfolio.models import BankAccount, Client, Contract
from portal.settings.chorus import ChorusSettings

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

Document = Receipt | FeeInvoice


class PayloadError(ValueError):
    """The document cannot be described to Chorus Pro (French message, shown to users)."""


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
    document: Document,
    *,
    settings: ChorusSettings,
    invoice_date: date,
    main_attachment: AttachmentRef,
    secondary_attachments: Sequence[AttachmentRef] = (),
) -> dict[str, Any]:
    """The ``soumettre`` body for ``document`` (``invoice_date``: day of sending, S15)."""
    if settings.supplier_id is None:
        raise PayloadError("L'identifiant fournisseur Chorus Pro n'est pas renseigné.")
    client, contract = _parties(document)
    if not client.siret:
        raise PayloadError(f"Le client « {client.name} » n'a pas de SIRET.")
    bank_account = contract.bank_account if contract is not None else None
    ht, tva, ttc = _amounts(document)
    is_credit_note = ttc < ZERO

    body: dict[str, Any] = {
        "modeDepot": MODE_DEPOT,
        "numeroFactureSaisi": document.number,
        "dateFacture": invoice_date.isoformat(),
    }
    if settings.user_id is not None:
        body["idUtilisateurCourant"] = settings.user_id
    body["destinataire"] = _recipient(client, contract)
    body["fournisseur"] = _supplier(settings.supplier_id, bank_account)
    body["cadreDeFacturation"] = {"codeCadreFacturation": CADRE_FACTURATION}
    body["references"] = _references(
        document, contract, settings, tva, bank_account, is_credit_note=is_credit_note
    )
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


def _parties(document: Document) -> tuple[Client, Contract | None]:
    if isinstance(document, Receipt):
        return document.contract.client, document.contract
    return document.client, document.contract


def _amounts(document: Document) -> tuple[Decimal, Decimal, Decimal]:
    """(HT, TVA, TTC) rounded to the cent, with the document's sign."""
    if isinstance(document, Receipt):
        total = to_money(document.total)
        return total, ZERO, total
    ht = to_money(document.amount_ht)
    tva = to_money(document.vat_amount)
    ttc = to_money(document.total)
    if ht + tva != ttc:
        raise PayloadError(
            f"Montants incohérents sur la facture {document.number} : "
            f"HT {ht} + TVA {tva} ≠ TTC {ttc}."
        )
    return ht, tva, ttc


def _recipient(client: Client, contract: Contract | None) -> dict[str, Any]:
    recipient: dict[str, Any] = {"codeDestinataire": client.siret}
    service_code = (contract.chorus_service_code or "").strip() if contract else ""
    if service_code:
        recipient["codeServiceExecutant"] = service_code
    return recipient


def _supplier(supplier_id: int, bank_account: BankAccount | None) -> dict[str, Any]:
    supplier: dict[str, Any] = {"idFournisseur": supplier_id}
    if bank_account is not None and bank_account.chorus_supplier_service_id is not None:
        supplier["idServiceFournisseur"] = int(bank_account.chorus_supplier_service_id)
    if bank_account is not None and bank_account.chorus_bank_details_id is not None:
        supplier["codeCoordonneesBancairesFournisseur"] = int(bank_account.chorus_bank_details_id)
    return supplier


def _references(
    document: Document,
    contract: Contract | None,
    settings: ChorusSettings,
    tva: Decimal,
    bank_account: BankAccount | None,
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
    origin = origin_of(document)
    if origin is not None:
        references["numeroFactureOrigine"] = origin.number
    engagement = (contract.chorus_engagement_number or "").strip() if contract else ""
    if engagement:
        references["numeroBonCommande"] = engagement
    market = (contract.chorus_market_number or "").strip() if contract else ""
    if market:
        references["numeroMarche"] = market
    if not is_credit_note:
        references["modePaiement"] = "VIREMENT" if bank_account is not None else "AUTRE"
    return references


def origin_of(document: Document) -> Document | None:
    """The document a credit note refunds, or the copy that replaced it (re-issue).

    Call it while ``document`` is attached to its session to load that chain.
    """
    origin: Document | None = (
        document.original_receipt
        if isinstance(document, Receipt)
        else document.original_fee_invoice
    )
    seen: set[int] = set()
    while origin is not None and origin.replaced_by is not None and origin.id not in seen:
        seen.add(origin.id)
        origin = origin.replaced_by
    return origin


# -- attachment names ---------------------------------------------------------------------------


def main_attachment_designation(document: Document) -> str:
    """How the main PDF is described to the recipient."""
    if isinstance(document, Receipt):
        return f"Avis d'échéance {document.number}"
    return f"Facture d'honoraires {document.number}"


def main_attachment_file_name(document: Document) -> str:
    """File name of the main PDF as stored in Chorus Pro."""
    prefix = "Avis_echeance" if isinstance(document, Receipt) else "Facture_honoraires"
    return chorus_file_name(f"{prefix}_{document.number}.pdf")


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
