"""« Mise en service »: what the page does around the checklist of :mod:`portal.connection.golive`.

The choice of a public client (and contract) is checked here, with French messages for the
form; the run is throttled across processes (:mod:`portal.connection.throttle`) because it calls
Chorus about ten times; the lists and the password expiry read on the way are stored like the
connection test and the lookups do. Flushes; the request commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from portal.chorus.errors import ChorusError
from portal.connection import golive, password_expiry, services, throttle
from portal.connection.factory import client_from_settings
from portal.extensions import db
from portal.models_base import MAX_ROW_ID
from portal.portfolio import queries
from portal.portfolio.client_picker import ClientOptions
from portal.portfolio.models import Client, Contract
from portal.sending.rules import clean
from portal.settings import chorus as chorus_settings
from portal.validators import ValidationFailed

THROTTLE_NAME = "go_live"
INTERVAL = timedelta(seconds=30)
CLIENT_LIMIT = 50  # clients offered at once in the select
MAX_SEARCH = 100
_ID = re.compile(r"[0-9]{1,18}")

CHOOSE_CLIENT = "Choisissez un client de la liste."
UNKNOWN_CLIENT = "Ce client n'existe pas ou plus : choisissez-en un dans la liste."
NO_SIRET = "Ce client n'a pas de SIRET : renseignez-le sur sa fiche, ou choisissez un autre client."
CHOOSE_CONTRACT = "Choisissez un contrat de la liste."
CONTRACT_WITHOUT_CLIENT = "Choisissez d'abord le client du contrat."
NOT_HIS_CONTRACT = "Ce contrat n'est pas un contrat Chorus Pro de ce client : choisissez-en un."


# -- the choice of a public client ---------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    client: Client | None = None
    contract: Contract | None = None


def parse_id(raw: str | None) -> int | None:
    """A positive row id, None when empty; raises ``ValueError`` otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    if not _ID.fullmatch(text) or not 0 < int(text) <= MAX_ROW_ID:
        raise ValueError(text)
    return int(text)


def parse_choice(raw_client: str | None, raw_contract: str | None) -> Choice:
    """The client (with a SIRET) and contract chosen; raises ``ValidationFailed`` (French)."""
    errors: dict[str, str] = {}
    client: Client | None = None
    contract: Contract | None = None
    try:
        client_id = parse_id(raw_client)
    except ValueError:
        client_id = None
        errors["client_id"] = CHOOSE_CLIENT
    try:
        contract_id = parse_id(raw_contract)
    except ValueError:
        contract_id = None
        errors["contract_id"] = CHOOSE_CONTRACT
    if client_id is not None:
        client = queries.client(client_id)
        if client is None:
            errors["client_id"] = UNKNOWN_CLIENT
        elif not clean(client.siret):
            errors["client_id"] = NO_SIRET
    if contract_id is not None and "client_id" not in errors:
        contract = db.session.get(Contract, contract_id)
        if client is None:
            errors["contract_id"] = CONTRACT_WITHOUT_CLIENT
        elif contract is None or contract.client_id != client.id or not contract.is_chorus_enabled:
            errors["contract_id"] = NOT_HIS_CONTRACT
    if errors:
        raise ValidationFailed(errors)
    return Choice(client, contract)


def client_options(search: str | None, selected: int | None) -> ClientOptions:
    """The select's options: clients with a SIRET matching ``search`` (the chosen one kept)."""
    text = (search or "").strip()[:MAX_SEARCH]
    clients, matching = queries.clients_with_siret(text, CLIENT_LIMIT)
    offered = list(clients)
    chosen = queries.client(selected) if selected is not None else None
    if chosen is not None and clean(chosen.siret) and chosen not in offered:
        offered.insert(0, chosen)
    if not matching:
        placeholder = (
            f"Aucun client avec SIRET ne correspond à « {text} »"
            if text
            else "Aucun client n'a de SIRET"
        )
    elif matching > CLIENT_LIMIT:
        placeholder = f"Aucun client (les {CLIENT_LIMIT} premiers sur {matching} : précisez)"
    else:
        placeholder = "Aucun client (étapes du client non vérifiées)"
    options: list[tuple[int | str, str]] = [("", placeholder)]
    options += [(c.id, f"{c.name} — SIRET {c.siret}") for c in offered]
    return ClientOptions(options, chosen.id if chosen is not None and chosen in offered else None)


def contract_options(client_id: int | None) -> list[tuple[int | str, str]]:
    """The contract select's options for a client: its Chorus-enabled contracts."""
    contracts = queries.chorus_contracts_of(client_id) if client_id else []
    placeholder = "Aucun contrat (étape du service non vérifiée)"
    if client_id and not contracts:
        placeholder = "Ce client n'a aucun contrat Chorus Pro"
    options: list[tuple[int | str, str]] = [("", placeholder)]
    for contract in contracts:
        service = clean(contract.chorus_service_code) or "sans code service"
        options.append((contract.id, f"{contract.number} — {contract.product} ({service})"))
    return options


# -- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """The checklist as shown: the report, or why it could not run."""

    environment_label: str
    report: golive.Report | None = None
    configuration_error: str | None = None
    reminded: bool = False

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok


def claim() -> int | None:
    """Claim a run now: None when allowed, else the seconds to wait. Flushes (commit it)."""
    return throttle.claim(THROTTLE_NAME, INTERVAL)


def throttled_message(seconds: int) -> str:
    return (
        f"Une vérification vient d'être lancée (au plus une toutes les "
        f"{int(INTERVAL.total_seconds())} secondes, car chacune interroge Chorus Pro une "
        f"dizaine de fois) : relancez-la dans {seconds} s."
    )


def inputs(settings: chorus_settings.ChorusSettings, choice: Choice) -> golive.Inputs:
    """The plain values the checklist checks, from the settings and the portal's data."""
    accounts = tuple(
        golive.BankAccountCode(
            label=f"{account.company.name} — {account.label}",
            code=account.chorus_bank_details_id,
            used_for_chorus=used,
        )
        for account, used in queries.bank_accounts_with_chorus_use()
    )
    recipient = None
    if choice.client is not None:
        contract = choice.contract
        recipient = golive.Recipient(
            client_name=choice.client.name,
            siret=clean(choice.client.siret),
            contract_number=contract.number if contract is not None else None,
            service_code=contract.chorus_service_code if contract is not None else None,
            engagement_number=contract.chorus_engagement_number if contract is not None else None,
        )
    return golive.Inputs(
        supplier_id=settings.supplier_id,
        vat_exemption_code=settings.vat_exemption_code,
        default_attachment_type=settings.default_attachment_type,
        bank_accounts=accounts,
        recipient=recipient,
    )


def run(choice: Choice) -> Run:
    """Every step against the configured environment; stores what it read. Flushes."""
    settings = chorus_settings.load()
    label = settings.environment.label
    log = golive.ExchangeLog()
    try:
        client = client_from_settings(settings, retry=services.INTERACTIVE_RETRY, observer=log)
    except ChorusError as error:
        return Run(label, configuration_error=str(error))
    with client:
        report = golive.run(client, inputs(settings, choice), log)
    reminded = False
    supplier = report.supplier_structure
    if supplier is not None and supplier.password_expires_on is not None:
        password_expiry.record_password_expiry(supplier.password_expires_on)
        reminded = password_expiry.remind_if_due(supplier.password_expires_on)
    if report.vat_reasons:
        services.store_vat_exemption_reasons(report.vat_reasons, api_url=settings.api_url)
    if report.attachment_types:
        services.store_attachment_types(report.attachment_types, api_url=settings.api_url)
    return Run(label, report=report, reminded=reminded)
