"""When may a document go to Chorus Pro? The rules, as pure functions (start reading here).

**Eligibility** (S9 + B3), answered without a database or a clock: may this receipt / fee
invoice be sent now? ``eligibility()`` returns *every* unmet condition as a ``Reason`` with a
stable ``code`` (used by the SQL twin in ``queries.py``, by job items and by the refusal
playbook) and a French ``message`` (the eligibility badge). A document is eligible when no
reason is *blocking*. Whether the daily run picks it (the due date) is ``portal.daily.rules``.

``queries.py`` expresses the very same rules in SQL for lists, mass sends and the daily run;
``tests/sending/test_agreement.py`` feeds both the same documents and asserts they
agree. Change a rule here → change it there too.

Conventions shared with the SQL:
- a text field counts as missing when it is ``None`` or only spaces;
- when a fee invoice has no contract, only ``S9_NO_CONTRACT`` is reported among the contract
  conditions (its service code, engagement number… are meaningless without one);
- B3 checks use the cached recipient structure of the client's SIRET, and only once it has
  been refreshed from Chorus; until then a *non-blocking* reason says it will be checked;
- a service's engagement rule is only known once consulted (``consulter/service``, asked for
  the services contracts use); until then the *non-blocking* ``B3_SERVICE_NOT_CHECKED`` says
  so, never "not required";
- a document sent as ``EXONERATION`` (every receipt, a fee invoice without VAT) needs a VAT
  exemption code chosen in Chorus's list: "a code is set" is what counts here (whether Chorus
  still lists it is checked by the connection test, which warns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal.billing.models import FeeInvoice, Receipt
from portal.chorus.limits import NUMBER_RULE, is_acceptable_number
from portal.db_types import to_money
from portal.dematerialization.models import PUBLIC_TO_PUBLIC_SERVICE
from portal.models_base import ChorusState
from portal.portfolio.models import ClientKind

if TYPE_CHECKING:
    from portal.dematerialization.models import RecipientService, RecipientStructure
    from portal.portfolio.models import Contract

Document = Receipt | FeeInvoice


@dataclass(frozen=True)
class Reason:
    """One unmet condition: a stable id for code, a French sentence for people."""

    code: str
    message: str
    blocking: bool = True


@dataclass(frozen=True)
class Eligibility:
    """The answer to "may this document be sent?": eligible iff no blocking reason."""

    reasons: tuple[Reason, ...] = ()

    @property
    def eligible(self) -> bool:
        return not any(reason.blocking for reason in self.reasons)

    @property
    def blocking(self) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if reason.blocking)

    @property
    def codes(self) -> frozenset[str]:
        """Codes of the blocking reasons."""
        return frozenset(reason.code for reason in self.blocking)

    @property
    def messages(self) -> list[str]:
        """French messages of every reason, blocking first (for the badge and reports)."""
        ordered = sorted(self.reasons, key=lambda reason: not reason.blocking)
        return [reason.message for reason in ordered]


# -- the catalogue of reasons -------------------------------------------------------------------
# Stable codes: stored in job items and matched by the playbook. Never rename one.

_CATALOGUE: tuple[Reason, ...] = (
    # S1
    Reason("S1_DISABLED", "La dématérialisation Chorus Pro n'est pas activée (paramètres)."),
    # S2 — Chorus settings every exempt document needs
    Reason(
        "S2_NO_VAT_EXEMPTION_CODE",
        "Aucun motif d'exonération de TVA Chorus Pro n'est choisi "
        "(Administration › Paramètres › Système).",
    ),
    # S9 — document, contract, client
    Reason("S9_NO_CONTRACT", "Aucun contrat n'est rattaché à la facture."),
    Reason("S9_CONTRACT_NOT_CHORUS", "Chorus Pro n'est pas activé sur le contrat."),
    Reason("S9_CLIENT_NOT_COMPANY", "Le client n'est pas de type Entreprise."),
    Reason("S9_NO_SIRET", "Le client n'a pas de SIRET."),
    Reason("S9_NO_SERVICE_CODE", "Le contrat n'a pas de code service."),
    Reason("S9_NO_DUE_NOTICE", "L'avis d'échéance (PDF) de la quittance n'existe pas."),
    Reason("S9_NO_INVOICE_PDF", "Le PDF de la facture n'existe pas."),
    Reason("S9_IN_PROGRESS", "Une dématérialisation est déjà en cours."),
    Reason("S9_ALREADY_SENT", "Le document est déjà dématérialisé."),
    Reason("S9_CORRUPTED", "Le document est corrompu."),
    # Chorus Pro's limits on numeroFactureSaisi (portal.chorus.limits; EVIDENCE.md § 5)
    Reason(
        "S9_NUMBER_INVALID",
        f"Le numéro du document ne convient pas à Chorus Pro ({NUMBER_RULE}).",
    ),
    # B3 — what Chorus says about the recipient structure
    Reason(
        "B3_STRUCTURE_NOT_FOUND", "Aucune structure Chorus Pro ne correspond au SIRET du client."
    ),
    Reason("B3_STRUCTURE_INACTIVE", "La structure destinataire est inactive dans Chorus Pro."),
    Reason(
        "B3_SERVICE_UNKNOWN",
        "Le code service du contrat n'existe pas dans la structure destinataire.",
    ),
    Reason("B3_SERVICE_INACTIVE", "Le service du contrat est inactif dans Chorus Pro."),
    Reason(
        "B3_SERVICE_PUBLIC_TO_PUBLIC",
        "Le service FACTURES_PUBLIQUES est réservé aux factures entre entités publiques.",
    ),
    Reason("B3_SERVICE_CODE_REQUIRED", "La structure destinataire exige un code service."),
    Reason(
        "B3_ENGAGEMENT_REQUIRED",
        "La structure destinataire exige un numéro d'engagement : le contrat n'en a pas.",
    ),
    Reason(
        "B3_SERVICE_ENGAGEMENT_REQUIRED",
        "Le service destinataire exige un numéro d'engagement : le contrat n'en a pas.",
    ),
    Reason(
        "B3_ENGAGEMENT_OR_SERVICE_REQUIRED",
        "La structure destinataire exige un code service ou un numéro d'engagement.",
    ),
    # Not blocking: the send checks the recipient anyway (B3: refreshed before each send).
    Reason(
        "B3_NOT_CHECKED",
        "Destinataire non encore vérifié dans Chorus Pro (vérification automatique avant l'envoi).",
        blocking=False,
    ),
    # Not blocking either: the service's engagement rule is asked for before the send.
    Reason(
        "B3_SERVICE_NOT_CHECKED",
        "Exigence de numéro d'engagement du service non encore consultée dans Chorus Pro "
        "(consultation automatique avant l'envoi).",
        blocking=False,
    ),
)

REASONS: dict[str, Reason] = {reason.code: reason for reason in _CATALOGUE}
BLOCKING_CODES: tuple[str, ...] = tuple(r.code for r in _CATALOGUE if r.blocking)
NOTE_CODES: tuple[str, ...] = tuple(r.code for r in _CATALOGUE if not r.blocking)

# Codes that can apply to each kind of document (a receipt always has a contract and a due
# notice; a fee invoice has its own PDF and an optional contract).
RECEIPT_CODES: tuple[str, ...] = tuple(
    c for c in BLOCKING_CODES if c not in ("S9_NO_CONTRACT", "S9_NO_INVOICE_PDF")
)
FEE_INVOICE_CODES: tuple[str, ...] = tuple(c for c in BLOCKING_CODES if c != "S9_NO_DUE_NOTICE")


def reasons_for(codes: set[str] | frozenset[str]) -> Eligibility:
    """The ``Eligibility`` made of these codes, in catalogue order (SQL rows → badge)."""
    return Eligibility(tuple(reason for reason in _CATALOGUE if reason.code in codes))


# -- helpers ------------------------------------------------------------------------------------


def clean(value: str | None) -> str:
    """A text field as the rules see it: ``None`` and blanks are empty.

    Only spaces are trimmed, exactly like SQL ``trim()`` on SQLite and PostgreSQL.
    """
    return (value or "").strip(" ")


# -- eligibility (S9 + B3) ----------------------------------------------------------------------


def eligibility(
    document: Document,
    *,
    chorus_enabled: bool,
    has_vat_exemption_code: bool,
    recipient: RecipientStructure | None,
    locked_by_caller: bool = False,
) -> Eligibility:
    """Every unmet condition for sending ``document`` to Chorus Pro now (S9 + B3).

    ``has_vat_exemption_code``: a VAT exemption code of Chorus's list is chosen (documents
    sent as ``EXONERATION`` need one, see ``is_vat_exempt``). ``recipient`` is the cached
    structure of the client's SIRET (``None`` when never looked up); its rules only count
    once it has been refreshed from Chorus. ``locked_by_caller``:
    the caller is the job that put the document *in progress* (the last check before
    sending), so that state is its own lock, not a reason.
    """
    codes: set[str] = set()
    contract = document.contract  # optional for fee invoices only
    client = document.client  # a fee invoice's own client, a receipt's contract's

    if not chorus_enabled:
        codes.add("S1_DISABLED")
    if not has_vat_exemption_code and is_vat_exempt(document):
        codes.add("S2_NO_VAT_EXEMPTION_CODE")
    if contract is None:
        codes.add("S9_NO_CONTRACT")
    elif not contract.is_chorus_enabled:
        codes.add("S9_CONTRACT_NOT_CHORUS")
    if client.kind != ClientKind.ENTREPRISE:
        codes.add("S9_CLIENT_NOT_COMPANY")
    if not clean(client.siret):
        codes.add("S9_NO_SIRET")
    service_code = clean(contract.chorus_service_code) if contract is not None else ""
    engagement = clean(contract.chorus_engagement_number) if contract is not None else ""
    if contract is not None and not service_code:
        codes.add("S9_NO_SERVICE_CODE")
    if not clean(document.pdf_stored_name):
        codes.add("S9_NO_DUE_NOTICE" if isinstance(document, Receipt) else "S9_NO_INVOICE_PDF")
    if document.chorus_state == ChorusState.IN_PROGRESS and not locked_by_caller:
        codes.add("S9_IN_PROGRESS")
    if document.chorus_state == ChorusState.SENT:
        codes.add("S9_ALREADY_SENT")
    if document.is_corrupted:
        codes.add("S9_CORRUPTED")
    if not is_acceptable_number(document.number):
        codes.add("S9_NUMBER_INVALID")

    if recipient is None or recipient.refreshed_at is None:
        if clean(client.siret):
            codes.add("B3_NOT_CHECKED")
    elif not recipient.is_found:
        codes.add("B3_STRUCTURE_NOT_FOUND")
    else:
        codes |= _recipient_codes(recipient, contract, service_code, engagement)
    return reasons_for(codes)


def is_vat_exempt(document: Document) -> bool:
    """Does the document go to Chorus as ``EXONERATION`` (then with an exemption code)?

    Receipts always (insurance premiums are exempt from VAT); fee invoices when their VAT
    amount is zero — the same split as ``portal.chorus.payload``.
    """
    if isinstance(document, Receipt):
        return True
    return to_money(document.vat_amount or 0) == 0


def service_needs_consulting(service: RecipientService) -> bool:
    """B3: is this service's engagement rule unknown though it may be invoiced?

    Only active services other than ``FACTURES_PUBLIQUES`` are consulted (the others are
    refused whatever their rule), and only those a contract uses.
    """
    return (
        service.is_active
        and service.code != PUBLIC_TO_PUBLIC_SERVICE
        and service.engagement_required is None
    )


def _recipient_codes(
    recipient: RecipientStructure, contract: Contract | None, service_code: str, engagement: str
) -> set[str]:
    """B3: what the found structure's cached rules say about the contract's data."""
    codes: set[str] = set()
    if not recipient.is_active:
        codes.add("B3_STRUCTURE_INACTIVE")
    if contract is None:
        return codes
    service = recipient.service(service_code) if service_code else None
    if service_code and service is None:
        codes.add("B3_SERVICE_UNKNOWN")
    if service is not None and not service.is_active:
        codes.add("B3_SERVICE_INACTIVE")
    if service_code == PUBLIC_TO_PUBLIC_SERVICE:
        codes.add("B3_SERVICE_PUBLIC_TO_PUBLIC")
    if recipient.service_code_required and not service_code:
        codes.add("B3_SERVICE_CODE_REQUIRED")
    if not engagement:
        if recipient.engagement_required:
            codes.add("B3_ENGAGEMENT_REQUIRED")
        if service is not None and service.engagement_required:
            codes.add("B3_SERVICE_ENGAGEMENT_REQUIRED")
        if service is not None and service_needs_consulting(service):
            codes.add("B3_SERVICE_NOT_CHECKED")
        if recipient.engagement_or_service and not service_code:
            codes.add("B3_ENGAGEMENT_OR_SERVICE_REQUIRED")
    return codes


def lock_refused(chorus_state: ChorusState) -> Reason:
    """Why a send could not lock a document: another send took it first, or it is sent (S9)."""
    if chorus_state == ChorusState.SENT:
        return Reason("S9_ALREADY_SENT", "Déjà dématérialisée dans Chorus Pro.")
    return Reason("S9_IN_PROGRESS", "Une dématérialisation est déjà en cours.")
