"""What the Chorus screens do: test the connection (B5) and the B4 lookups.

Each function builds the client from the stored settings, calls one of
:mod:`portal.connection.diagnostics` and returns a small result whose errors are French
sentences (configuration gaps, Chorus failures); none ever holds a secret. State changes
flush; the request commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from portal.chorus.client import ChorusClient, RetryPolicy
from portal.chorus.errors import ChorusError
from portal.chorus.results import (
    AttachmentType,
    BankDetails,
    ServiceSummary,
    SupplierStructure,
    VatExemptionReason,
)
from portal.connection import diagnostics, password_expiry, throttle
from portal.connection.factory import client_from_settings
from portal.extensions import db
from portal.settings import chorus as chorus_settings
from portal.settings import reference_lists, store
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
    """Token, health-check, supplier structure and VAT exemption code with the stored
    settings (B5).

    The technical password's expiry date read on the way is stored, and reminded to the
    Administrateurs Chorus when close; the list of VAT exemption reasons read replaces the
    stored copy. Flushes.
    """
    settings = chorus_settings.load()
    try:
        client = _client(settings)
    except ChorusError as error:
        return ConnectionTest(configuration_error=str(error))
    with client:
        report = diagnostics.check_connection(client, settings.supplier_id)
        vat = (
            diagnostics.check_vat_exemption_code(client, settings.vat_exemption_code)
            if diagnostics.token_obtained(report)
            else diagnostics.vat_exemption_not_checked()
        )
    report = replace(report, steps=(*report.steps, vat.step))
    store_vat_exemption_reasons(vat.reasons, api_url=settings.api_url)
    reminded = False
    if report.password_expires_on is not None:
        password_expiry.record_password_expiry(report.password_expires_on)
        reminded = password_expiry.remind_if_due(report.password_expires_on)
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
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
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

    def iban_hints(self, iban: str) -> dict[int, str]:
        """French hints for the bank details whose name contains the IBAN typed in the form.

        Chorus gives no IBAN, only names: a name that happens to contain the account's IBAN
        helps to choose, nothing more (the choice is the user's, by name).
        """
        compact = "".join((iban or "").split()).upper()
        return {
            details.id_coordonnee_bancaire: f"le nom contient l'IBAN …{compact[-4:]} du compte"
            for details in self.bank_details
            if details.name_mentions_iban(compact)
        }


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


# -- Listes de référence de Chorus (API.md: codes of Chorus's lists, never guessed) ---------------


class ReferenceEntry(Protocol):
    """One row of a Chorus reference list: a code and Chorus's label for it."""

    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str | None: ...


Entry = TypeVar("Entry", bound=ReferenceEntry)


@dataclass(frozen=True)
class ReferenceLookup(Generic[Entry]):
    """The rows of a Chorus list just read, or the French reason it could not be read."""

    items: tuple[Entry, ...] = ()
    error: str | None = None


def read_and_store(
    name: str, read: Callable[[ChorusClient], Sequence[Entry]]
) -> ReferenceLookup[Entry]:
    """Read reference list ``name`` from Chorus with the stored settings; the rows read
    replace the stored copy the screens offer (an empty answer keeps it). Flushes."""
    settings = chorus_settings.load()
    try:
        with _client(settings) as client:
            items = tuple(read(client))
    except ChorusError as error:
        return ReferenceLookup(error=str(error))
    store_reference_list(name, items, api_url=settings.api_url)
    return ReferenceLookup(items=items)


def store_reference_list(name: str, items: Sequence[ReferenceEntry], *, api_url: str) -> None:
    """Keep the rows Chorus answered as the codes that may be chosen (not an empty answer,
    which says more about that answer than about the list). Flushes."""
    if not items:
        return
    reference_lists.save(name, [(item.code, item.label) for item in items], api_url=api_url)
    db.session.flush()


# -- Motif d'exonération de TVA (API.md: a code of Chorus's list) -------------------------------


def lookup_vat_exemption_reasons() -> ReferenceLookup[VatExemptionReason]:
    """``recuperer/motifs/exonerationtva``, stored for the Système tab. Flushes."""
    return read_and_store(
        reference_lists.VAT_EXEMPTION_REASONS, ChorusClient.list_vat_exemption_reasons
    )


def store_vat_exemption_reasons(reasons: Sequence[VatExemptionReason], *, api_url: str) -> None:
    """Keep the reasons read (see :func:`store_reference_list`). Flushes."""
    store_reference_list(reference_lists.VAT_EXEMPTION_REASONS, reasons, api_url=api_url)


# -- Types de pièces jointes complémentaires (EVIDENCE.md § 2) ----------------------------------

ATTACHMENT_TYPES_THROTTLE = "attachment_types"
# Read from the Système tab and from every send screen: at most one call to Chorus at a time.
ATTACHMENT_TYPES_INTERVAL = timedelta(seconds=5)


def claim_attachment_types_lookup() -> ReferenceLookup[AttachmentType] | None:
    """Claim a read of the list now (throttled across processes): None when allowed, else
    the lookup to show instead. Flushes: commit before calling :func:`lookup_attachment_types`."""
    wait = throttle.claim(ATTACHMENT_TYPES_THROTTLE, ATTACHMENT_TYPES_INTERVAL)
    if wait is None:
        return None
    return ReferenceLookup(
        error=(
            "La liste des types de pièces jointes vient d'être demandée à Chorus Pro : "
            f"réessayez dans {wait} s."
        )
    )


def lookup_attachment_types() -> ReferenceLookup[AttachmentType]:
    """``recuperer/typespj``, stored for the Système tab and the send screen. Flushes."""
    return read_and_store(reference_lists.ATTACHMENT_TYPES, ChorusClient.list_attachment_types)


def store_attachment_types(types: Sequence[AttachmentType], *, api_url: str) -> None:
    """Keep the types read (see :func:`store_reference_list`). Flushes."""
    store_reference_list(reference_lists.ATTACHMENT_TYPES, types, api_url=api_url)
