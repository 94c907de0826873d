"""Chorus Pro invoice statuses: the official enumeration, French labels, which ones are final.

The one table of ``statutFacture`` / ``histoStatutCode`` / ``statutCourantCode`` values: the
56 codes of the official Swagger enum (``factures.json``, model ``HistoriqueStatus``), each with
its French label and whether Chorus Pro may still report a status after it (EVIDENCE.md § 4).
A code outside the table is stored and shown as it comes, with a warning, and keeps being
read (it is never taken as final).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Finality(enum.Enum):
    """Will Chorus Pro report another status after this one?"""

    NOT_FINAL = "not_final"
    FINAL = "final"
    # MANDATEE and the accounting steps after it are the last news a structure with
    # ``statutMiseEnPaiementNestPasRemonte`` sends (it never reports MISE_EN_PAIEMENT).
    FINAL_IF_PAYMENT_NOT_REPORTED = "final_if_payment_not_reported"


@dataclass(frozen=True)
class InvoiceStatus:
    code: str
    label: str
    finality: Finality = Finality.NOT_FINAL


_FINAL = Finality.FINAL
_SILENT = Finality.FINAL_IF_PAYMENT_NOT_REPORTED

# In the Swagger enum's order.
OFFICIAL: tuple[InvoiceStatus, ...] = (
    InvoiceStatus("BROUILLON", "Brouillon"),
    InvoiceStatus("A_VALIDER_1", "À valider (1er valideur)"),
    InvoiceStatus("ERREUR_FOURNISSEUR_SUR_VALIDEUR", "Erreur du fournisseur sur le valideur"),
    InvoiceStatus("REFUSEE_1", "Refusée par le 1er valideur", _FINAL),
    InvoiceStatus("VALIDEE_1", "Validée par le 1er valideur"),
    InvoiceStatus("ABSENCE_VALIDATION_1_HORS_DELAI", "Non validée dans le délai (1er valideur)"),
    InvoiceStatus("A_VALIDER_2", "À valider (2e valideur)"),
    InvoiceStatus("ERREUR_COTRAITANT_SUR_VALIDEUR", "Erreur du cotraitant sur le valideur"),
    InvoiceStatus("REFUSEE_2", "Refusée par le 2e valideur", _FINAL),
    InvoiceStatus("VALIDEE_2", "Validée par le 2e valideur"),
    InvoiceStatus("ABSENCE_VALIDATION_2_HORS_DELAI", "Non validée dans le délai (2e valideur)"),
    InvoiceStatus("DEPOSEE", "Déposée"),
    InvoiceStatus("ERREUR_FOURNISSEUR_SUR_MOE", "Erreur du fournisseur sur la maîtrise d'œuvre"),
    InvoiceStatus("EN_COURS_ACHEMINEMENT", "En cours d'acheminement"),
    InvoiceStatus("MISE_A_DISPOSITION", "Mise à disposition"),
    InvoiceStatus("A_RECYCLER", "À recycler"),
    InvoiceStatus("SUSPENDUE", "Suspendue"),
    InvoiceStatus("REJETEE", "Rejetée", _FINAL),
    InvoiceStatus("MANDATEE", "Mandatée", _SILENT),
    InvoiceStatus("MISE_EN_PAIEMENT", "Mise en paiement", _FINAL),
    InvoiceStatus("COMPTABILISEE", "Comptabilisée", _SILENT),
    InvoiceStatus("MISE_A_DISPOSITION_COMPTABLE", "Mise à disposition du comptable", _SILENT),
    InvoiceStatus("ABANDONNEE", "Abandonnée", _FINAL),
    InvoiceStatus("SUPPRIMEE", "Supprimée", _FINAL),
    InvoiceStatus("ASSOCIEE", "Associée"),
    InvoiceStatus("EN_COURS_TRAITEMENT_PIVOT_S", "En cours de traitement"),
    InvoiceStatus("A_VALIDER_MOE", "À valider par la maîtrise d'œuvre"),
    InvoiceStatus("REFUSEE_MOE", "Refusée par la maîtrise d'œuvre", _FINAL),
    InvoiceStatus("EN_ATTENTE_RECYCLAGE_FOURNISSEUR", "En attente de recyclage par le fournisseur"),
    InvoiceStatus("ERREUR_MOE_SUR_FOURNISSEUR", "Erreur de la maîtrise d'œuvre sur le fournisseur"),
    InvoiceStatus(
        "ERREUR_MOA_SUR_FOURNISSEUR", "Erreur de la maîtrise d'ouvrage sur le fournisseur"
    ),
    InvoiceStatus("INTERPRETEE_OCR", "Interprétée (OCR)"),
    InvoiceStatus("COMPLETEE", "Complétée"),
    InvoiceStatus("ERREUR_FOURNISSEUR_SUR_MOA", "Erreur du fournisseur sur la maîtrise d'ouvrage"),
    InvoiceStatus("ERREUR_MOE_SUR_MOA", "Erreur de la maîtrise d'œuvre sur la maîtrise d'ouvrage"),
    InvoiceStatus("ERREUR_DESTINATAIRE_PD", "Erreur de destinataire (PD)"),
    InvoiceStatus("ERREUR_DESTINATAIRE_EA", "Erreur de destinataire (EA)"),
    InvoiceStatus("SERVICE_FAIT", "Service fait"),
    InvoiceStatus("NON_CONFORME", "Non conforme"),
    InvoiceStatus("A_ASSOCIER_MOE", "À associer par la maîtrise d'œuvre"),
    InvoiceStatus("ERREUR_DE_MOE", "Erreur de maîtrise d'œuvre"),
    InvoiceStatus("MISE_A_DISPOSITION_MOE", "Mise à disposition de la maîtrise d'œuvre"),
    InvoiceStatus("PRISE_EN_COMPTE_MOE", "Prise en compte par la maîtrise d'œuvre"),
    InvoiceStatus("A_ASSOCIER_MOA", "À associer par la maîtrise d'ouvrage"),
    InvoiceStatus("ERREUR_DE_MOA", "Erreur de maîtrise d'ouvrage"),
    InvoiceStatus("REFUSEE_MOA", "Refusée par la maîtrise d'ouvrage", _FINAL),
    InvoiceStatus("A_ASSOCIER_FOURNISSEUR", "À associer par le fournisseur"),
    InvoiceStatus("REFUSEE_FOURNISSEUR", "Refusée par le fournisseur", _FINAL),
    InvoiceStatus("A_COMPLETER", "À compléter"),
    InvoiceStatus("TRANSMISE_MOA", "Transmise à la maîtrise d'ouvrage"),
    InvoiceStatus("PRISE_EN_COMPTE_DESTINATAIRE", "Prise en compte par le destinataire"),
    InvoiceStatus("REMPLACEE_PAR_A22", "Remplacée par un décompte général tacite (A22)", _FINAL),
    InvoiceStatus("DUPLIQUE_APRES_REFUS", "Dupliquée après refus", _FINAL),
    InvoiceStatus("MISE_A_DISPOSITION_MOA", "Mise à disposition de la maîtrise d'ouvrage"),
    InvoiceStatus("PRISE_EN_COMPTE_MOA", "Prise en compte par la maîtrise d'ouvrage"),
    InvoiceStatus("TECHNIQUE_INCONNU", "Statut technique inconnu"),
)

STATUSES: dict[str, InvoiceStatus] = {status.code: status for status in OFFICIAL}
OFFICIAL_CODES: tuple[str, ...] = tuple(STATUSES)

PAID_STATUS = "MISE_EN_PAIEMENT"
REJECTED_STATUS = "REJETEE"
# Sent back to the supplier by the recipient: notified, explained by the playbook (B8).
RETURNED_STATUSES = frozenset({REJECTED_STATUS, "SUSPENDUE", "A_RECYCLER"})
FINAL_STATUSES = frozenset(s.code for s in OFFICIAL if s.finality is Finality.FINAL)
FINAL_IF_PAYMENT_NOT_REPORTED = frozenset(s.code for s in OFFICIAL if s.finality is _SILENT)


def is_known(code: str | None) -> bool:
    """Is ``code`` one of the official statuses (False for None and for unknown codes)?"""
    return code in STATUSES


def label(code: str | None) -> str:
    """French label of a status; an unknown code is shown exactly as Chorus sent it."""
    if not code:
        return "Inconnu"
    known = STATUSES.get(code)
    return known.label if known is not None else code


def is_final(code: str | None, payment_not_reported: bool) -> bool:
    """Will Chorus Pro never report another status after ``code``?

    Unknown and missing codes are not final: the document keeps being read.
    """
    known = STATUSES.get(code or "")
    if known is None:
        return False
    if known.finality is Finality.FINAL:
        return True
    return payment_not_reported and known.finality is _SILENT
