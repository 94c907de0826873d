"""What the Chorus screens do: test the connection (B5) and the B4 lookups.

Each function builds the client from the stored settings, calls one of
:mod:`portal.chorus.diagnostics` and returns a small result whose errors are French
sentences (configuration gaps, Chorus failures); none ever holds a secret. State changes
flush; the view commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.chorus import diagnostics, health
from portal.chorus.client import ChorusClient, RetryPolicy
from portal.chorus.errors import ChorusError
from portal.chorus.factory import client_from_settings
from portal.chorus.results import (
    BankDetails,
    ServiceSummary,
    SupplierStructure,
    VatExemptionReason,
)
from portal.extensions import db
from portal.settings import chorus as chorus_settings
from portal.settings import store
from portal.validators import ValidationFailed

# A person waits for these answers: one quick retry of a transient failure, not three.
INTERACTIVE_RETRY = RetryPolicy(max_attempts=2, base_delay=0.5)
SUPPLIER_ENV_VARIABLE = chorus_settings.ENV_OVERRIDES[chorus_settings.SUPPLIER_ID]
MISSING_SUPPLIER = (
    "L'identifiant fournisseur n'est pas renseigné : récupérez-le d'abord dans "
    "Administration › Paramètres › Système."
)


def _client(settings: chorus_settings.ChorusSettings) -> ChorusClient:
    """Raises ``ChorusConfigurationError`` (French list of what is missing)."""
    return client_from_settings(settings, retry=INTERACTIVE_RETRY)


# -- Tester la connexion (B5) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionTest:
    """The connection test as shown: the report, or why it could not run."""

    report: diagnostics.ConnectionReport | None = None
    configuration_error: str | None = None
    reminded: bool = False

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok

    @property
    def summary(self) -> str:
        if self.report is None:
            return self.configuration_error or "Test impossible."
        return self.report.summary


def run_connection_test() -> ConnectionTest:
    """Token, health-check and supplier structure with the stored settings (B5).

    The technical password's expiry date read on the way is stored, and reminded to the
    Administrateurs Chorus when close. Flushes.
    """
    settings = chorus_settings.load()
    try:
        client = _client(settings)
    except ChorusError as error:
        return ConnectionTest(configuration_error=str(error))
    with client:
        report = diagnostics.check_connection(client, settings.supplier_id)
    reminded = False
    if report.password_expires_on is not None:
        health.record_password_expiry(report.password_expires_on)
        reminded = health.remind_if_due(report.password_expires_on)
    return ConnectionTest(report=report, reminded=reminded)


# -- Identifiant fournisseur (B4) -----------------------------------------------------------------


@dataclass(frozen=True)
class SupplierLookup:
    """Candidates for the "Identifiant fournisseur", or the French reason there are none."""

    structures: tuple[SupplierStructure, ...] = ()
    error: str | None = None
    current_id: int | None = None
    # The id comes from the CHORUS_SUPPLIER_ID environment variable: read-only here.
    overridden: bool = False
    env_variable: str = SUPPLIER_ENV_VARIABLE


def supplier_overridden() -> bool:
    return chorus_settings.env_override(chorus_settings.SUPPLIER_ID) is not None


def lookup_supplier_structures() -> SupplierLookup:
    """``recuperer/structures/actives/fournisseur`` with the stored settings."""
    settings = chorus_settings.load()
    overridden = supplier_overridden()
    try:
        with _client(settings) as client:
            found = diagnostics.fetch_supplier_structures(client)
    except ChorusError as error:
        return SupplierLookup(
            error=str(error), current_id=settings.supplier_id, overridden=overridden
        )
    usable = tuple(structure for structure in found if structure.id_structure_cpp > 0)
    return SupplierLookup(structures=usable, current_id=settings.supplier_id, overridden=overridden)


SUPPLIER_OVERRIDDEN_ERROR = (
    f"L'identifiant fournisseur est défini par la variable d'environnement "
    f"{SUPPLIER_ENV_VARIABLE} du serveur : il est en lecture seule ici."
)


def use_supplier_id(raw: str) -> int:
    """Store the chosen "Identifiant fournisseur"; raises ``ValidationFailed``. Flushes."""
    if supplier_overridden():
        raise ValidationFailed({"supplier_id": SUPPLIER_OVERRIDDEN_ERROR})
    text = re.sub(r"\s+", "", raw or "")
    if not text.isdigit() or len(text) > 18 or int(text) <= 0:
        raise ValidationFailed({"supplier_id": "Choisissez une structure de la liste."})
    store.put(chorus_settings.SUPPLIER_ID, text)
    db.session.flush()
    return int(text)


# -- Coordonnées bancaires et service du fournisseur (B4, S6) -------------------------------------


@dataclass(frozen=True)
class BankLookup:
    """What a bank account's Chorus codes can be chosen from."""

    bank_details: tuple[BankDetails, ...] = ()
    services: tuple[ServiceSummary, ...] = ()
    error: str | None = None
    # A failure of the services lookup alone (the bank details may still be shown).
    services_error: str | None = None
    supplier_id: int | None = None

    def matching_id(self, iban: str) -> int | None:
        """The bank coordinates whose IBAN is the one typed in the form, if any."""
        wanted = _compact_iban(iban)
        if not wanted:
            return None
        for details in self.bank_details:
            if details.iban and _compact_iban(details.iban) == wanted:
                return details.id_coordonnee_bancaire
        return None


def _compact_iban(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def lookup_bank_choices() -> BankLookup:
    """The supplier's valid bank coordinates and usable services, from Chorus Pro."""
    settings = chorus_settings.load()
    if settings.supplier_id is None:
        return BankLookup(error=MISSING_SUPPLIER)
    supplier_id = settings.supplier_id
    try:
        with _client(settings) as client:
            bank_details = tuple(
                details
                for details in diagnostics.fetch_bank_details(client, supplier_id)
                if details.id_coordonnee_bancaire > 0
            )
            try:
                services = [
                    service
                    for service in diagnostics.fetch_supplier_services(client, supplier_id)
                    if service.is_usable
                ]
            except ChorusError as error:
                return BankLookup(
                    bank_details=bank_details,
                    services_error=str(error),
                    supplier_id=supplier_id,
                )
    except ChorusError as error:
        return BankLookup(error=str(error), supplier_id=supplier_id)
    return BankLookup(
        bank_details=bank_details,
        services=tuple(s for s in services if s.id_service > 0),
        supplier_id=supplier_id,
    )


# -- Motif d'exonération de TVA (API.md: a code of Chorus's list) -------------------------------


@dataclass(frozen=True)
class VatReasonLookup:
    """The VAT exemption reasons Chorus accepts, or the French reason they could not be read."""

    reasons: tuple[VatExemptionReason, ...] = ()
    error: str | None = None
    current: str | None = None


def lookup_vat_exemption_reasons() -> VatReasonLookup:
    """``recuperer/motifs/exonerationtva`` with the stored settings."""
    settings = chorus_settings.load()
    try:
        with _client(settings) as client:
            reasons = tuple(client.list_vat_exemption_reasons())
    except ChorusError as error:
        return VatReasonLookup(error=str(error), current=settings.vat_exemption_reason)
    return VatReasonLookup(reasons=reasons, current=settings.vat_exemption_reason)
