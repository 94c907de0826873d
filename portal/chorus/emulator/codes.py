"""``codeRetour`` values the emulator answers with, and their French ``libelle``.

Only ``0``, ``20000`` (empty search) and ``20003`` (file over 10 MB) are documented codes of
the real API; the others are the emulator's own, one per refusal, so tests and the portal's
refusal playbook (B8) can tell them apart. Transport errors carry the HTTP status as
``codeRetour`` (401, 404, 415, 429, 500, 503…).
"""

from __future__ import annotations

import enum

from portal.chorus.limits import NUMBER_RULE


@enum.unique  # two refusals sharing a number would silently become one
class Code(enum.IntEnum):
    OK = 0
    EMPTY_RESULT = 20000
    INVALID_REQUEST = 20001
    FILE_EMPTY_OR_NOT_BASE64 = 20002
    FILE_TOO_LARGE = 20003
    FILE_NAME_TOO_LONG = 20004
    FILE_EXTENSION_REFUSED = 20005
    RECIPIENT_UNKNOWN = 20101
    RECIPIENT_INACTIVE = 20102
    RECIPIENT_NOT_PUBLIC = 20103
    SERVICE_CODE_REQUIRED = 20104
    ENGAGEMENT_REQUIRED = 20105
    ENGAGEMENT_OR_SERVICE_REQUIRED = 20106
    SERVICE_UNKNOWN = 20107
    SERVICE_INACTIVE = 20108
    SERVICE_RESERVED = 20109
    SERVICE_ENGAGEMENT_REQUIRED = 20110
    SUPPLIER_NOT_OWNED = 20111
    SUPPLIER_SERVICE_UNKNOWN = 20112
    BANK_DETAILS_NOT_OWNED = 20113
    ATTACHMENT_UNKNOWN = 20114
    ATTACHMENTS_TOO_LARGE = 20115
    AMOUNTS_INCONSISTENT = 20116
    DUPLICATE_NUMBER = 20117
    MAIN_ATTACHMENT_MISSING = 20118
    VAT_EXEMPTION_REASON_MISSING = 20119
    VAT_EXEMPTION_REASON_UNKNOWN = 20120
    ATTACHMENT_TYPE_UNKNOWN = 20121
    NUMBER_INVALID = 20130
    CREDIT_NOTE_PAYMENT_MODE = 20131
    ORIGIN_ON_INVOICE = 20132
    STRUCTURE_UNKNOWN = 20201
    INVOICE_UNKNOWN = 20202
    STRUCTURE_NOT_OWNED = 20203


SUCCESS_LIBELLE = "GCU_MSG_01_000"

LIBELLES: dict[Code, str] = {
    Code.EMPTY_RESULT: "La recherche n'a retourné aucun résultat.",
    Code.INVALID_REQUEST: "Paramètre d'entrée invalide.",
    Code.FILE_EMPTY_OR_NOT_BASE64: "Le fichier est vide ou n'est pas encodé en base 64.",
    Code.FILE_TOO_LARGE: "La taille du fichier dépasse la taille maximale autorisée (10 Mo).",
    Code.FILE_NAME_TOO_LONG: "Le nom du fichier dépasse 50 caractères.",
    Code.FILE_EXTENSION_REFUSED: "Le format du fichier n'est pas autorisé.",
    Code.RECIPIENT_UNKNOWN: "Le destinataire est inconnu de Chorus Pro.",
    Code.RECIPIENT_INACTIVE: "Le destinataire n'est pas actif dans Chorus Pro.",
    Code.RECIPIENT_NOT_PUBLIC: "Le destinataire n'est pas une structure publique.",
    Code.SERVICE_CODE_REQUIRED: "Le code service est obligatoire pour ce destinataire.",
    Code.ENGAGEMENT_REQUIRED: "Le numéro d'engagement est obligatoire pour ce destinataire.",
    Code.ENGAGEMENT_OR_SERVICE_REQUIRED: (
        "Le numéro d'engagement ou le code service doit être renseigné pour ce destinataire."
    ),
    Code.SERVICE_UNKNOWN: "Le service exécutant est inconnu pour ce destinataire.",
    Code.SERVICE_INACTIVE: "Le service exécutant n'est pas actif.",
    Code.SERVICE_RESERVED: (
        "Le service FACTURES_PUBLIQUES est réservé aux factures entre entités publiques."
    ),
    Code.SERVICE_ENGAGEMENT_REQUIRED: (
        "Le numéro d'engagement est obligatoire pour ce service exécutant."
    ),
    Code.SUPPLIER_NOT_OWNED: "Le fournisseur n'est pas rattaché au compte technique utilisé.",
    Code.SUPPLIER_SERVICE_UNKNOWN: "Le service du fournisseur est inconnu.",
    Code.BANK_DETAILS_NOT_OWNED: (
        "Les coordonnées bancaires ne sont pas valides pour ce fournisseur."
    ),
    Code.ATTACHMENT_UNKNOWN: "La pièce jointe est introuvable pour ce compte.",
    Code.ATTACHMENTS_TOO_LARGE: (
        "La taille totale des pièces jointes dépasse la taille maximale autorisée (120 Mo)."
    ),
    Code.AMOUNTS_INCONSISTENT: "Les montants de la facture sont incohérents.",
    Code.DUPLICATE_NUMBER: "Le numéro de facture a déjà été utilisé par ce fournisseur.",
    Code.MAIN_ATTACHMENT_MISSING: "La pièce jointe principale est obligatoire.",
    Code.VAT_EXEMPTION_REASON_MISSING: "Le motif d'exonération de TVA est obligatoire.",
    Code.VAT_EXEMPTION_REASON_UNKNOWN: (
        "Le motif d'exonération de TVA n'est pas un code de la liste des motifs de Chorus Pro."
    ),
    Code.ATTACHMENT_TYPE_UNKNOWN: (
        "Le type de la pièce jointe complémentaire n'est pas un code de la liste des types de "
        "pièces jointes de Chorus Pro."
    ),
    Code.NUMBER_INVALID: (
        f"Le numéro de facture ne respecte pas le format attendu ({NUMBER_RULE})."
    ),
    Code.CREDIT_NOTE_PAYMENT_MODE: "Un avoir ne porte pas de mode de paiement.",
    Code.ORIGIN_ON_INVOICE: "La référence à une facture d'origine est réservée aux avoirs.",
    Code.STRUCTURE_UNKNOWN: "La structure est inconnue de Chorus Pro.",
    Code.INVOICE_UNKNOWN: "La facture est introuvable pour ce fournisseur.",
    Code.STRUCTURE_NOT_OWNED: "La structure n'est pas rattachée au compte technique utilisé.",
}


def libelle(code: Code, detail: str | None = None) -> str:
    """The French message of ``code``, with an optional precision appended."""
    text = LIBELLES.get(code, SUCCESS_LIBELLE)
    return f"{text} {detail}" if detail else text
