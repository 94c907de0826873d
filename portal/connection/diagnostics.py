"""Service functions behind the Système tab: "Tester la connexion" (B5) and the B4 lookups.

They take a built client (see :func:`portal.connection.factory.client_from_settings`) so the
settings screen stays thin and tests can pass a client aimed at the emulator.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from portal.chorus.client import ChorusClient
from portal.chorus.errors import ChorusError
from portal.chorus.results import (
    BankDetails,
    ServiceSummary,
    SupplierStructure,
    VatExemptionReason,
)


class StepStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckStep:
    """One step of the connection test or the go-live checklist, in French for the screen.

    ``answer``: what Chorus answered (operation, HTTP status, ``codeRetour``, ``libelle``;
    never a secret); ``advice``: what to do about a failure.
    """

    label: str
    status: StepStatus
    message: str
    answer: tuple[str, ...] = ()
    advice: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is StepStatus.OK


@dataclass(frozen=True)
class ConnectionReport:
    steps: tuple[CheckStep, ...]
    supplier_name: str | None = None
    password_expires_on: date | None = None

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def summary(self) -> str:
        """One French sentence: success, or the first failure."""
        if self.ok:
            return "Connexion à Chorus Pro réussie."
        failed = next(step for step in self.steps if step.status is StepStatus.FAILED)
        return f"Échec de la connexion à Chorus Pro ({failed.label}) : {failed.message}"


TOKEN_STEP = "Jeton d'accès PISTE"  # noqa: S105  (a step label, not a secret)
HEALTH_STEP = "Disponibilité de l'API Chorus Pro"
SUPPLIER_STEP = "Structure du fournisseur"


def check_connection(client: ChorusClient, supplier_id: int | None) -> ConnectionReport:
    """Token (a fresh one), health-check, then the supplier's own structure."""
    steps: list[CheckStep] = []
    try:
        info = client.obtain_token(force=True)
    except ChorusError as error:
        steps.append(CheckStep(TOKEN_STEP, StepStatus.FAILED, str(error)))
        skipped = "Non vérifié : aucun jeton d'accès n'a pu être obtenu."
        steps.append(CheckStep(HEALTH_STEP, StepStatus.SKIPPED, skipped))
        steps.append(CheckStep(SUPPLIER_STEP, StepStatus.SKIPPED, skipped))
        return ConnectionReport(tuple(steps))
    minutes = max(info.expires_in // 60, 1)
    steps.append(CheckStep(TOKEN_STEP, StepStatus.OK, f"Jeton obtenu (valable {minutes} min)."))

    try:
        client.health_check()
    except ChorusError as error:
        steps.append(CheckStep(HEALTH_STEP, StepStatus.FAILED, str(error)))
    else:
        steps.append(CheckStep(HEALTH_STEP, StepStatus.OK, "L'API Chorus Pro répond."))

    if supplier_id is None:
        message = "L'identifiant fournisseur n'est pas renseigné : utilisez « Rechercher »."
        steps.append(CheckStep(SUPPLIER_STEP, StepStatus.FAILED, message))
        return ConnectionReport(tuple(steps))
    try:
        structure = client.get_structure(supplier_id)
    except ChorusError as error:
        steps.append(CheckStep(SUPPLIER_STEP, StepStatus.FAILED, str(error)))
        return ConnectionReport(tuple(steps))
    name = structure.designation or f"n° {supplier_id}"
    message = f"Structure {supplier_id} « {name} » trouvée."
    if structure.password_expires_on is not None:
        expiry = structure.password_expires_on.strftime("%d/%m/%Y")
        message += f" Mot de passe du compte technique valable jusqu'au {expiry}."
    steps.append(CheckStep(SUPPLIER_STEP, StepStatus.OK, message))
    return ConnectionReport(
        tuple(steps),
        supplier_name=structure.designation,
        password_expires_on=structure.password_expires_on,
    )


def fetch_supplier_structures(client: ChorusClient) -> list[SupplierStructure]:
    """Candidates for the "Identifiant fournisseur" (B4); raises ``ChorusError``."""
    return client.list_supplier_structures()


def fetch_bank_details(client: ChorusClient, supplier_id: int) -> list[BankDetails]:
    """The supplier's valid bank coordinates to choose from (B4); raises ``ChorusError``."""
    return client.list_bank_details(supplier_id)


def fetch_supplier_services(client: ChorusClient, supplier_id: int) -> list[ServiceSummary]:
    """Active services of the supplier's structure ("Code du service du fournisseur", S6)."""
    return [service for service in client.list_services(supplier_id) if service.is_active]


# -- VAT exemption code (EVIDENCE.md § 1) ---------------------------------------------------------

VAT_EXEMPTION_STEP = "Motif d'exonération de TVA"
CHOOSE_VAT_REASON = (
    "Choisissez un motif avec « Choisir parmi les motifs de Chorus Pro » "
    "(Administration › Paramètres › Système), puis enregistrez."
)
RETRY_LATER = (
    "Relancez la vérification plus tard ; si la liste reste vide, signalez-le au support "
    "Chorus Pro."
)


@dataclass(frozen=True)
class VatExemptionCheck:
    """The connection test's VAT exemption step, with the list Chorus answered (if read)."""

    step: CheckStep
    reasons: tuple[VatExemptionReason, ...] = ()


def token_obtained(report: ConnectionReport) -> bool:
    """Did the connection test get an access token (so later calls are worth making)?"""
    return any(step.label == TOKEN_STEP and step.ok for step in report.steps)


def check_vat_exemption_code(client: ChorusClient, code: str | None) -> VatExemptionCheck:
    """Is the stored VAT exemption code in Chorus's list (``recuperer/motifs/exonerationtva``)?

    A missing code, a code Chorus no longer lists or an empty list fail the step: documents
    sent as ``EXONERATION`` would be blocked or refused.
    """
    try:
        reasons = tuple(client.list_vat_exemption_reasons())
    except ChorusError as error:
        return VatExemptionCheck(CheckStep(VAT_EXEMPTION_STEP, StepStatus.FAILED, str(error)))
    return VatExemptionCheck(vat_exemption_verdict(reasons, code), reasons)


def vat_exemption_verdict(reasons: Sequence[VatExemptionReason], code: str | None) -> CheckStep:
    """Pure: the VAT exemption step for the list Chorus answered and the stored code."""
    if not reasons:
        message = "Chorus Pro ne renvoie aucun motif d'exonération de TVA."
        return CheckStep(VAT_EXEMPTION_STEP, StepStatus.FAILED, message, advice=RETRY_LATER)
    listed = next((reason for reason in reasons if reason.code == code), None)
    if code is None:
        message = f"Aucun motif n'est choisi ({len(reasons)} proposés par Chorus Pro)."
    elif listed is None:
        message = f"Le motif « {code} » n'est plus dans la liste de Chorus Pro."
    else:
        label = f" ({listed.label})" if listed.label else ""
        message = f"Le motif « {code} »{label} est dans la liste de Chorus Pro."
        return CheckStep(VAT_EXEMPTION_STEP, StepStatus.OK, message)
    return CheckStep(VAT_EXEMPTION_STEP, StepStatus.FAILED, message, advice=CHOOSE_VAT_REASON)


def vat_exemption_not_checked() -> VatExemptionCheck:
    """The VAT exemption step when no access token could be obtained."""
    skipped = "Non vérifié : aucun jeton d'accès n'a pu être obtenu."
    return VatExemptionCheck(CheckStep(VAT_EXEMPTION_STEP, StepStatus.SKIPPED, skipped))
