"""What each emulated operation does with a validated body (business rules, answers).

Each handler receives the state, the technical account's login and the body already checked
against its request model, and returns the answer (without the envelope) or raises
:class:`Refusal` with its ``codeRetour``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from portal.chorus.emulator.codes import Code, libelle
from portal.chorus.emulator.directory import (
    PUBLIC_SERVICE_CODE,
    PublicStructure,
    Service,
    Supplier,
)
from portal.chorus.emulator.state import EmulatorState, Invoice
from portal.chorus.limits import (
    ALLOWED_EXTENSIONS,
    MAX_FILE_BYTES,
    MAX_NAME_LENGTH,
    MAX_TOTAL_BYTES,
    is_acceptable_number,
)
from portal.chorus.results import PARIS

CENT = Decimal("0.01")
ZERO = Decimal("0")
MAX_SERVICES_PER_PAGE = 1000  # rechercher/services

Body = Mapping[str, Any]
Answer = dict[str, Any]


class Refusal(Exception):
    """A business refusal: HTTP 200 with a non-zero ``codeRetour``."""

    def __init__(self, code: Code, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.libelle = libelle(code, detail)


@dataclass(frozen=True)
class Context:
    state: EmulatorState
    login: str


# -- helpers ------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat(timespec="milliseconds")


def _page(body: Body | None, default_size: int) -> tuple[int, int]:
    params = body or {}
    page = params.get("pageResultatDemandee") or 1
    size = params.get("nbResultatsParPage") or default_size
    return max(int(page), 1), max(int(size), 1)


def _paginate(rows: list[Answer], page: int, size: int) -> tuple[list[Answer], Answer]:
    total = len(rows)
    pages = max((total + size - 1) // size, 1)
    selected = rows[(page - 1) * size : page * size]
    info = {"pageCourante": page, "pages": pages, "nbResultatsParPage": size, "total": total}
    return selected, info


def _owned_suppliers(ctx: Context) -> list[Supplier]:
    return ctx.state.directory.suppliers_of(ctx.login)


def _owned_supplier(ctx: Context, identifier: int) -> Supplier | None:
    return next((s for s in _owned_suppliers(ctx) if s.id_structure_cpp == identifier), None)


def _service_json(service: Service) -> Answer:
    return {
        "idService": service.id_service,
        "codeService": service.code,
        "libelleService": service.label,
        "estActif": service.is_active,
        "statutService": "ACTIF" if service.is_active else "INACTIF",
    }


# -- transverses --------------------------------------------------------------------------------


def health_check(ctx: Context, _body: Body | None) -> Answer:
    return {"libelle": "Chorus Pro (émulateur) est disponible.", "statut": "OK"}


def add_file(ctx: Context, body: Body) -> Answer:
    try:
        content = base64.b64decode(body["pieceJointeFichier"], validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(Code.FILE_EMPTY_OR_NOT_BASE64) from None
    if not content:
        raise Refusal(Code.FILE_EMPTY_OR_NOT_BASE64)
    if len(content) > MAX_FILE_BYTES:
        raise Refusal(Code.FILE_TOO_LARGE)
    name = body["pieceJointeNom"]
    if len(name) > MAX_NAME_LENGTH:
        raise Refusal(Code.FILE_NAME_TOO_LONG)
    extension = body["pieceJointeExtension"].lower().lstrip(".")
    if extension not in ALLOWED_EXTENSIONS:
        raise Refusal(Code.FILE_EXTENSION_REFUSED, f"(extension « {extension} »)")
    if not name.lower().endswith("." + extension):
        raise Refusal(
            Code.FILE_EXTENSION_REFUSED, f"(le nom doit se terminer par « .{extension} »)"
        )
    attachment = ctx.state.add_attachment(
        ctx.login, name, extension, body["pieceJointeTypeMime"], len(content)
    )
    return {"pieceJointeId": attachment.id}


def supplier_structures(ctx: Context, _body: Body) -> Answer:
    suppliers = _owned_suppliers(ctx)
    if not suppliers:
        raise Refusal(Code.EMPTY_RESULT)
    return {
        # Exactly the real answer's fields: the SIRET is ``identifiant`` here (EVIDENCE.md § 3).
        "listeStructures": [
            {
                "idStructureCPP": s.id_structure_cpp,
                "identifiant": s.siret,
                "designationStructure": s.designation,
            }
            for s in suppliers
        ]
    }


def bank_details(ctx: Context, body: Body) -> Answer:
    supplier = _owned_supplier(ctx, body["idStructure"])
    if supplier is None:
        raise Refusal(Code.STRUCTURE_NOT_OWNED)
    if not supplier.bank_coordinates:
        raise Refusal(Code.EMPTY_RESULT)
    # Only the id and the name, as the real API: no IBAN, no BIC (EVIDENCE.md § 3).
    return {
        "listeCoordonneeBancaire": [
            {"idCoordonneeBancaire": c.id_coordonnee_bancaire, "nomCoordonneeBancaire": c.name}
            for c in supplier.bank_coordinates
        ]
    }


# Illustrative reasons: the real list is only known to a connected account (API.md says `[?]`,
# EVIDENCE.md § 1). ``soumettre`` accepts these codes only (stricter than a free text).
VAT_EXEMPTION_REASONS = (
    ("ASSURANCE_261C", "Opérations d'assurance et de réassurance (article 261 C du CGI)"),
    ("FRANCHISE_293B", "TVA non applicable, article 293 B du CGI"),
    ("FORMATION_261_4", "Formation professionnelle continue (article 261-4-4° du CGI)"),
    ("AUTOLIQUIDATION", "Autoliquidation (article 283 du CGI)"),
)
VAT_EXEMPTION_LABELS = dict(VAT_EXEMPTION_REASONS)


def vat_exemption_reasons(_ctx: Context, _body: Body) -> Answer:
    return {
        "listeMotifsExonerationTva": [
            {"codeMotifExonerationTva": code, "libelleMotifExonerationTva": label}
            for code, label in VAT_EXEMPTION_REASONS
        ]
    }


# Illustrative secondary attachment types of invoices (EVIDENCE.md § 2): the answer's shape and
# the three-letter codes (``AUT`` « Autre ») follow Chorus's published example of
# ``recuperer/typespj``, which shows no invoice types. ``AUTRE``, the value the portal used to
# send unverified, is deliberately absent. ``soumettre`` accepts these codes only.
ATTACHMENT_OBJECT_TYPE = "FACTURE"
ATTACHMENT_TYPES = (
    ("AUT", "Autre"),
    ("ATT", "Attestation"),
    ("BDC", "Bon de commande"),
    ("CTR", "Contrat"),
    ("DEV", "Devis"),
    ("ASF", "Attestation de service fait"),
)
ATTACHMENT_TYPE_LABELS = dict(ATTACHMENT_TYPES)
FIRST_ATTACHMENT_TYPE_ID = 54100


def attachment_types(_ctx: Context, body: Body) -> Answer:
    if body.get("typeObjet") not in (None, ATTACHMENT_OBJECT_TYPE):
        raise Refusal(Code.EMPTY_RESULT)  # the emulator knows invoice attachments only
    return {
        "listeTypePieceJointe": [
            {
                "codeTypePieceJointe": code,
                "idTypePieceJointe": FIRST_ATTACHMENT_TYPE_ID + index,
                "libelleTypePieceJointe": label,
                "typeObjet": ATTACHMENT_OBJECT_TYPE,
            }
            for index, (code, label) in enumerate(ATTACHMENT_TYPES)
        ]
    }


# -- structures ---------------------------------------------------------------------------------


def _all_structures(ctx: Context) -> list[tuple[str, PublicStructure | Supplier]]:
    directory = ctx.state.directory
    return [
        *(("PUBLIQUE", s) for s in directory.public_structures),
        *(("PRIVEE", s) for s in directory.suppliers),
    ]


def search_structures(ctx: Context, body: Body) -> Answer:
    criteria = body.get("structure") or {}
    rows = []
    for kind, structure in _all_structures(ctx):
        active = structure.is_active if isinstance(structure, PublicStructure) else True
        # [?] Taken as "leave private structures out" when true; the portal sends false.
        if body.get("restreindreStructuresPrivees") and kind == "PRIVEE":
            continue
        if criteria.get("identifiantStructure") not in (None, structure.siret):
            continue
        if criteria.get("typeIdentifiantStructure") not in (None, "SIRET"):
            continue
        if criteria.get("typeStructure") not in (None, kind):
            continue
        wanted_status = criteria.get("statutStructure")
        if wanted_status is not None and (wanted_status == "ACTIF") != active:
            continue
        name = (
            criteria.get("raisonSocialeStructure")
            or criteria.get("libelleStructure")
            or criteria.get("nomStructure")
        )
        if name and name.lower() not in structure.designation.lower():
            continue
        rows.append(
            {
                "idStructureCPP": structure.id_structure_cpp,
                "identifiantStructure": structure.siret,
                "typeIdentifiantStructure": "SIRET",
                "designationStructure": structure.designation,
                "statut": "ACTIVE" if active else "INACTIVE",
            }
        )
    if not rows:
        raise Refusal(Code.EMPTY_RESULT)
    page, size = _page(body.get("parametres"), 10)
    selected, info = _paginate(rows, page, size)
    return {"listeStructures": selected, "parametresRetour": info}


def get_structure(ctx: Context, body: Body) -> Answer:
    identifier = body["idStructureCPP"]
    directory = ctx.state.directory
    public = directory.public_by_id(identifier)
    if public is not None:
        return {
            "informationGenerales": {
                "idStructureCPP": public.id_structure_cpp,
                "identifiantStructure": public.siret,
                "typeIdentifiantStructure": "SIRET",
                "libelleStructure": public.designation,
                "raisonSocialeStructure": public.designation,
                "structurePriveePublique": "PUBLIQUE",
            },
            "parametres": {
                "codeServiceDoitEtreRenseigne": public.service_code_required,
                "numeroEJDoitEtreRenseigne": public.engagement_required,
                "gestionNumeroEJOuCodeService": public.engagement_or_service_required,
                "statutMiseEnPaiementNestPasRemonte": public.payment_status_not_reported,
                "connexionEDI": False,
                "recevoirDonneesViaEDI": False,
            },
        }
    supplier = directory.supplier_by_id(identifier)
    if supplier is None:
        raise Refusal(Code.STRUCTURE_UNKNOWN)
    info: Answer = {
        "idStructureCPP": supplier.id_structure_cpp,
        "identifiantStructure": supplier.siret,
        "typeIdentifiantStructure": "SIRET",
        "libelleStructure": supplier.designation,
        "raisonSocialeStructure": supplier.designation,
        "structurePriveePublique": "PRIVEE",
    }
    if supplier.login == ctx.login and supplier.password_expires_on:
        info["dateExpirationMotPasseCompteTech"] = supplier.password_expires_on
    return {
        "informationGenerales": info,
        "parametres": {
            "codeServiceDoitEtreRenseigne": False,
            "numeroEJDoitEtreRenseigne": False,
            "gestionNumeroEJOuCodeService": False,
            "statutMiseEnPaiementNestPasRemonte": False,
        },
    }


def _services_of(ctx: Context, identifier: int) -> tuple[Service, ...]:
    directory = ctx.state.directory
    public = directory.public_by_id(identifier)
    if public is not None:
        return public.services
    supplier = directory.supplier_by_id(identifier)
    if supplier is not None:
        return supplier.services
    raise Refusal(Code.STRUCTURE_UNKNOWN)


def search_services(ctx: Context, body: Body) -> Answer:
    services = _services_of(ctx, body["idStructure"])
    if not services:
        raise Refusal(Code.EMPTY_RESULT)
    page, size = _page(body.get("parametresRechercherServicesStructure"), 10)
    # [?] Bet (EVIDENCE.md § 6): at most 1,000 services a page, whatever is asked for.
    size = min(size, MAX_SERVICES_PER_PAGE)
    selected, info = _paginate([_service_json(s) for s in services], page, size)
    return {"listeServices": selected, "parametresRetour": info}


def get_service(ctx: Context, body: Body) -> Answer:
    services = _services_of(ctx, body["idStructure"])
    service = next((s for s in services if s.id_service == body["idService"]), None)
    if service is None:
        raise Refusal(Code.SERVICE_UNKNOWN)
    public = ctx.state.directory.public_by_id(body["idStructure"])
    payment_reported = not (public is not None and public.payment_status_not_reported)
    return {
        "informationsGenerales": {
            "codeService": service.code,
            "nomService": service.label,
            "descriptionService": service.label,
        },
        "parametres": {
            "numeroEngagement": service.engagement_required,
            "miseEnPaiement": payment_reported,
        },
    }


# -- factures/soumettre -------------------------------------------------------------------------


def _cents(value: Any) -> Decimal:
    amount = Decimal(value)
    if amount != amount.quantize(CENT):
        raise Refusal(Code.AMOUNTS_INCONSISTENT, "(deux décimales au plus)")
    return amount


def _check_amounts(body: Body) -> dict[str, Decimal]:
    totals = body["montantTotal"]
    ht = _cents(totals["montantHtTotal"])
    tva = _cents(totals["montantTVA"])
    ttc = _cents(totals["montantTtcTotal"])
    to_pay = _cents(totals["montantAPayer"])
    discount = _cents(totals.get("montantRemiseGlobaleTTC") or 0)
    if min(ht, tva, ttc, to_pay, discount) < ZERO:
        # The type carries the sign: an AVOIR's amounts are positive too (EVIDENCE.md § 5).
        if body["references"]["typeFacture"] == "AVOIR":
            raise Refusal(Code.AMOUNTS_INCONSISTENT, "(un avoir porte des montants positifs)")
        raise Refusal(Code.AMOUNTS_INCONSISTENT, "(montants négatifs : utilisez un AVOIR)")
    if ht + tva - discount != ttc:
        raise Refusal(Code.AMOUNTS_INCONSISTENT, f"(HT {ht} + TVA {tva} ≠ TTC {ttc})")
    if to_pay > ttc:
        raise Refusal(Code.AMOUNTS_INCONSISTENT, "(montant à payer supérieur au TTC)")
    references = body["references"]
    if references["typeTva"] in ("EXONERATION", "SANS_TVA") and tva != ZERO:
        raise Refusal(Code.AMOUNTS_INCONSISTENT, "(TVA non nulle sur une facture exonérée)")
    if references["typeTva"] == "EXONERATION":
        reason = references.get("motifExonerationTva")
        if not reason:
            raise Refusal(Code.VAT_EXEMPTION_REASON_MISSING)
        if reason not in VAT_EXEMPTION_LABELS:
            raise Refusal(Code.VAT_EXEMPTION_REASON_UNKNOWN, f"({str(reason)[:60]})")
    return {"ht": ht, "tva": tva, "ttc": ttc, "a_payer": to_pay}


def _check_credit_note(body: Body) -> None:
    """B10 (EVIDENCE.md § 5): an AVOIR has no payment mode; only an AVOIR names an origin.

    The origin stays optional on an AVOIR (a refund of a premium Chorus never saw).
    """
    references = body["references"]
    if references["typeFacture"] == "AVOIR":
        if references.get("modePaiement") is not None:
            raise Refusal(Code.CREDIT_NOTE_PAYMENT_MODE)
    elif references.get("numeroFactureOrigine") is not None:
        raise Refusal(Code.ORIGIN_ON_INVOICE)


def _check_number(ctx: Context, supplier: Supplier, numero: str) -> None:
    """A number Chorus can take, never submitted by this supplier before, whatever its case
    or the earlier invoice's status — a rejected invoice's number included (EVIDENCE.md § 5)."""
    if not is_acceptable_number(numero):
        raise Refusal(Code.NUMBER_INVALID, f"({numero[:60]})")
    earlier = ctx.state.by_number.get((supplier.id_structure_cpp, numero.casefold()))
    if earlier:
        raise Refusal(
            Code.DUPLICATE_NUMBER,
            f"(facture n° {earlier[0].numero}, identifiant {earlier[0].id})",
        )


def _check_recipient(ctx: Context, body: Body) -> PublicStructure:
    directory = ctx.state.directory
    code = body["destinataire"]["codeDestinataire"]
    recipient = directory.public_by_siret(code)
    if recipient is None:
        if directory.supplier_by_siret(code) is not None:
            raise Refusal(Code.RECIPIENT_NOT_PUBLIC)
        raise Refusal(Code.RECIPIENT_UNKNOWN, f"(SIRET {code})")
    if not recipient.is_active:
        raise Refusal(Code.RECIPIENT_INACTIVE)
    service_code = body["destinataire"].get("codeServiceExecutant") or None
    engagement = body["references"].get("numeroBonCommande") or None
    if recipient.service_code_required and service_code is None:
        raise Refusal(Code.SERVICE_CODE_REQUIRED)
    if recipient.engagement_required and engagement is None:
        raise Refusal(Code.ENGAGEMENT_REQUIRED)
    if recipient.engagement_or_service_required and service_code is None and engagement is None:
        raise Refusal(Code.ENGAGEMENT_OR_SERVICE_REQUIRED)
    if service_code is not None:
        if service_code == PUBLIC_SERVICE_CODE:
            raise Refusal(Code.SERVICE_RESERVED)
        service = recipient.service_by_code(service_code)
        if service is None:
            raise Refusal(Code.SERVICE_UNKNOWN, f"(code « {service_code} »)")
        if not service.is_active:
            raise Refusal(Code.SERVICE_INACTIVE, f"(code « {service_code} »)")
        if service.engagement_required and engagement is None:
            raise Refusal(Code.SERVICE_ENGAGEMENT_REQUIRED)
    return recipient


def _check_supplier(ctx: Context, body: Body) -> Supplier:
    data = body["fournisseur"]
    supplier = _owned_supplier(ctx, data["idFournisseur"])
    if supplier is None:
        raise Refusal(Code.SUPPLIER_NOT_OWNED)
    service_id = data.get("idServiceFournisseur")
    if service_id is not None:
        service = supplier.service_by_id(service_id)
        if service is None or not service.is_active:
            raise Refusal(Code.SUPPLIER_SERVICE_UNKNOWN)
    bank_id = data.get("codeCoordonneesBancairesFournisseur")
    if bank_id is not None and bank_id not in {
        c.id_coordonnee_bancaire for c in supplier.bank_coordinates
    }:
        raise Refusal(Code.BANK_DETAILS_NOT_OWNED)
    return supplier


def _check_attachments(ctx: Context, body: Body) -> tuple[int, ...]:
    main = body.get("pieceJointePrincipale") or []
    if body["modeDepot"] != "SAISIE_API" and len(main) != 1:
        raise Refusal(Code.MAIN_ATTACHMENT_MISSING, "(une et une seule)")
    ids = [item["pieceJointePrincipaleId"] for item in main]
    secondary = body.get("pieceJointeComplementaire") or []
    ids += [item["pieceJointeComplementaireId"] for item in secondary]
    total = 0
    for identifier in ids:
        attachment = ctx.state.attachments.get(identifier)
        if attachment is None or attachment.owner != ctx.login:
            raise Refusal(Code.ATTACHMENT_UNKNOWN, f"(pieceJointeId {identifier})")
        total += attachment.size
    if total > MAX_TOTAL_BYTES:
        raise Refusal(Code.ATTACHMENTS_TOO_LARGE)
    for item in secondary:
        # Stricter than a free text: the type must be a code of ``recuperer/typespj``.
        kind = item.get("pieceJointeComplementaireType")
        if kind not in ATTACHMENT_TYPE_LABELS:
            shown = "absent" if not kind else str(kind)[:60]
            raise Refusal(Code.ATTACHMENT_TYPE_UNKNOWN, f"({shown})")
    return tuple(ids)


def submit(ctx: Context, body: Body) -> Answer:
    state = ctx.state
    numero = body["numeroFactureSaisi"]
    with state.lock:
        state.stats.submissions[numero] += 1
        if not numero.strip():
            raise Refusal(Code.INVALID_REQUEST, "(numeroFactureSaisi vide)")
        supplier = _check_supplier(ctx, body)
        _check_number(ctx, supplier, numero)
        recipient = _check_recipient(ctx, body)
        attachment_ids = _check_attachments(ctx, body)
        amounts = _check_amounts(body)
        _check_credit_note(body)
        now = state.clock.now()
        invoice = Invoice(
            id=state.new_invoice_id(),
            owner=ctx.login,
            supplier=supplier,
            recipient=recipient,
            numero=numero,
            type_facture=body["references"]["typeFacture"],
            date_facture=date.fromisoformat(body["dateFacture"]),
            deposited_at=now,
            body=_plain(body),
            attachment_ids=attachment_ids,
            amounts=amounts,
        )
        state.store_invoice(invoice)
    fingerprint = hashlib.sha256(f"{invoice.id}:{numero}".encode()).hexdigest()
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": numero,
        "statutFacture": "DEPOSEE",
        "dateDepot": _iso(now),
        "identifiantStructure": supplier.siret,
        "empreinteCertificatDepot": fingerprint,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# -- factures: follow-up ------------------------------------------------------------------------


def _owned_invoice(ctx: Context, identifier: int) -> Invoice:
    invoice = ctx.state.invoices.get(identifier)
    if invoice is None or invoice.owner != ctx.login:
        raise Refusal(Code.INVOICE_UNKNOWN, f"(identifiant {identifier})")
    return invoice


def _day(value: str) -> date:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


def search_invoices(ctx: Context, body: Body) -> Answer:
    state = ctx.state
    now = state.clock.now()
    statuses = set(body.get("statutCourant") or [])
    recipients = {
        item["idDestinataire"]
        for item in body.get("listeDestinataire") or []
        if item.get("idDestinataire") is not None
    }
    rows = []
    numero = body.get("numeroFacture")
    with state.lock:
        candidates = (
            list(state.by_numero.get(numero, ()))
            if numero is not None
            else list(state.invoices.values())
        )
        invoices = [i for i in candidates if i.owner == ctx.login]
    for invoice in invoices:
        status, changed_at, comment = invoice.status(now)
        deposit_day = invoice.deposited_at.astimezone(PARIS).date()
        if _matches(body, invoice, status, statuses, recipients, deposit_day):
            rows.append(_summary(invoice, status, changed_at, comment))
    if not rows:
        raise Refusal(Code.EMPTY_RESULT)
    paging = body.get("rechercheFactureParFournisseur") or {}
    page, size = _page(paging, 100)
    if paging.get("nbResultatsMaximum"):
        rows = rows[: paging["nbResultatsMaximum"]]
    selected, info = _paginate(rows, page, size)
    return {"listeFactures": selected, "parametresRetour": info}


def _matches(
    body: Body,
    invoice: Invoice,
    status: str,
    statuses: set[str],
    recipients: set[int],
    deposit_day: date,
) -> bool:
    deposit_from = body.get("periodeDateDepotDu")
    deposit_to = body.get("periodeDateDepotAu")
    return (
        body.get("numeroFacture") in (None, invoice.numero)
        and body.get("idFournisseur") in (None, invoice.supplier.id_structure_cpp)
        and body.get("typeFacture") in (None, invoice.type_facture)
        and (not statuses or status in statuses)
        and (not recipients or invoice.recipient.id_structure_cpp in recipients)
        and (deposit_from is None or deposit_day >= _day(deposit_from))
        and (deposit_to is None or deposit_day <= _day(deposit_to))
    )


def _summary(invoice: Invoice, status: str, changed_at: datetime, comment: str | None) -> Answer:
    references = invoice.body["references"]
    row: Answer = {
        "identifiantFactureCPP": invoice.id,
        "typeDemandePaiement": "FACTURE",
        "codeFournisseur": invoice.supplier.siret,
        "typeIdentifiantFournisseur": "SIRET",
        "designationFournisseur": invoice.supplier.designation,
        "idDestinataire": invoice.recipient.id_structure_cpp,
        "codeDestinataire": invoice.recipient.siret,
        "designationDestinataire": invoice.recipient.designation,
        "typeFacture": invoice.type_facture,
        "numeroFacture": invoice.numero,
        "dateFacture": invoice.date_facture.isoformat(),
        "dateDepot": _iso(invoice.deposited_at),
        "montantHT": invoice.amounts["ht"],
        "montantTTC": invoice.amounts["ttc"],
        "montantAPayer": invoice.amounts["a_payer"],
        "devise": references.get("deviseFacture", "EUR"),
        "statut": status,
        "modeDepot": invoice.body["modeDepot"],
        "dateHeureEtatCourant": _iso(changed_at),
        "rejetTraite": False,
    }
    service = invoice.recipient.service_by_code(invoice.service_code or "")
    if service is not None:
        row["idServiceExecutant"] = service.id_service
        row["codeServiceExecutant"] = service.code
        row["nomServiceExecutant"] = service.label
    for name in ("numeroMarche", "numeroBonCommande", "numeroFactureOrigine"):
        if references.get(name):
            row[name] = references[name]
    if comment:
        row["commentaireEtatCourant"] = comment
    return row


def get_invoice(ctx: Context, body: Body) -> Answer:
    with ctx.state.lock:
        invoice = _owned_invoice(ctx, body["identifiantFactureCPP"])
    status, _, comment = invoice.status(ctx.state.clock.now())
    sent = invoice.body
    references = sent["references"]
    supplier = sent["fournisseur"]
    recipient: Answer = {
        "idDestinataire": invoice.recipient.id_structure_cpp,
        "codeDestinataire": invoice.recipient.siret,
        "libelleDestinataire": invoice.recipient.designation,
        "designationDestinataire": invoice.recipient.designation,
        "miseEnPaiementDestinataire": not invoice.recipient.payment_status_not_reported,
    }
    service = invoice.recipient.service_by_code(invoice.service_code or "")
    if service is not None:
        recipient.update(
            idServiceExecutant=service.id_service,
            codeServiceExecutant=service.code,
            libelleServiceExecutant=service.label,
        )
    # The secondary attachments' types as sent, with their labels (Swagger ``PJointe``).
    sent_types = {
        item["pieceJointeComplementaireId"]: item.get("pieceJointeComplementaireType")
        for item in sent.get("pieceJointeComplementaire") or []
    }
    attachments = [
        {
            "pieceJointeTypeCode": "FACTURE" if index == 0 else sent_types.get(identifier),
            **(
                {"pieceJointeTypeLibelle": ATTACHMENT_TYPE_LABELS[sent_types[identifier]]}
                if index > 0 and sent_types.get(identifier) in ATTACHMENT_TYPE_LABELS
                else {}
            ),
            "pieceJointeDesignation": ctx.state.attachments[identifier].name
            if identifier in ctx.state.attachments
            else "",
            "pieceJointeId": identifier,
            "pieceJointeExtension": ctx.state.attachments[identifier].extension
            if identifier in ctx.state.attachments
            else "",
        }
        for index, identifier in enumerate(invoice.attachment_ids)
    ]
    reason_label = VAT_EXEMPTION_LABELS.get(references.get("motifExonerationTva") or "")
    facture: Answer = {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": invoice.numero,
        "statutFacture": status,
        "modeDepot": sent["modeDepot"],
        "rejetTraite": False,
        "destinataire": recipient,
        "fournisseur": {
            "idFournisseur": invoice.supplier.id_structure_cpp,
            "typeIdentifiantFournisseur": "SIRET",
            "codeFournisseur": invoice.supplier.siret,
            "raisonSocialeFournisseur": invoice.supplier.designation,
            "designationFournisseur": invoice.supplier.designation,
            **(
                {"idServiceFournisseur": supplier["idServiceFournisseur"]}
                if supplier.get("idServiceFournisseur") is not None
                else {}
            ),
            **(
                {"coordBancairesFournisseurId": supplier["codeCoordonneesBancairesFournisseur"]}
                if supplier.get("codeCoordonneesBancairesFournisseur") is not None
                else {}
            ),
        },
        "cadreDeFacturation": {
            "codeCadreFacturation": sent["cadreDeFacturation"]["codeCadreFacturation"]
        },
        "references": {
            "dateFacture": invoice.date_facture.isoformat(),
            "dateDepot": _iso(invoice.deposited_at),
            "codeDeviseFacture": references["deviseFacture"],
            "typeFacture": invoice.type_facture,
            "typeTva": references["typeTva"],
            **{
                name: references[name]
                for name in (
                    "motifExonerationTva",
                    "numeroMarche",
                    "numeroBonCommande",
                    "numeroFactureOrigine",
                    "modePaiement",
                )
                if references.get(name)
            },
            **({"libelleMotifExonerationTva": reason_label} if reason_label else {}),
        },
        "montantTotal": {
            "montantHtTotal": invoice.amounts["ht"],
            "montantTVA": invoice.amounts["tva"],
            "montantTtcTotal": invoice.amounts["ttc"],
            "montantAPayer": invoice.amounts["a_payer"],
        },
        "listeDesPiecesJointes": {
            "pieceJointe": attachments,
            "totalListePiecesJointe": len(attachments),
        },
    }
    if invoice.attachment_ids:
        facture["pieceJointePrincipale"] = {"idPieceJointePrincipale": invoice.attachment_ids[0]}
    if comment:
        facture["commentaire"] = comment
    return {"facture": facture}


def history(ctx: Context, body: Body) -> Answer:
    with ctx.state.lock:
        invoice = _owned_invoice(ctx, body["idFacture"])
    reached = invoice.history(ctx.state.clock.now())
    entries = [
        {
            "histoStatutId": invoice.id * 100 + index,
            "histoStatutCode": code,
            "histoStatutDatePassage": _iso(at),
            **({"histoStatutCommentaire": comment} if comment else {}),
        }
        for index, (code, at, comment) in enumerate(reached, start=1)
    ]
    entries.reverse()  # most recent first, as Chorus lists them
    limit = body.get("nbResultatsMaximum")
    if limit:
        entries = entries[:limit]
    return {
        "idFacture": invoice.id,
        "numeroFacture": invoice.numero,
        "modeDepot": invoice.body["modeDepot"],
        "statutCourantCode": reached[-1][0],
        "historiquesDesStatuts": {
            "histoStatut": entries,
            "pageCouranteHistoStatut": 1,
            "pagesHistoStatut": 1,
            "nbResultatsParPageHistoStatut": len(entries),
            "totalHistoStatut": len(reached),
        },
    }
