"""State changes of the portfolio area. Each function checks its input, changes rows and
``flush()``es; the caller commits. Refusals raise ``ValidationFailed`` whose keys are the form
field names, so the view shows each message next to its field; nothing is changed then.

Formats are checked again here (not only by the forms) so the CLI and other areas get the
same guarantees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from portal import storage, transactions
from portal.extensions import db
from portal.formatting import fr_size
from portal.portfolio import rules
from portal.portfolio.models import (
    BankAccount,
    Client,
    ClientDocument,
    ClientKind,
    Company,
    Contract,
    Term,
)
from portal.validators import (
    InvalidValue,
    ValidationFailed,
    check_date_order,
    clean_bic,
    clean_digits,
    clean_iban,
    clean_siren,
    clean_siret,
)

T = TypeVar("T")


@dataclass
class CompanyData:
    name: str
    siren: str | None = None
    orias_number: str | None = None
    address: str = ""


@dataclass
class BankAccountChorus:
    """S6 codes. Absent (``None`` on ``BankAccountData``) while Chorus Pro is off: unchanged."""

    supplier_service_id: int | None = None
    bank_details_id: int | None = None


@dataclass
class BankAccountData:
    label: str
    iban: str
    bic: str
    chorus: BankAccountChorus | None = None


@dataclass
class ClientData:
    name: str
    kind: ClientKind = ClientKind.ENTREPRISE
    address: str = ""
    postal_code: str = ""
    city: str = ""
    email: str | None = None
    siret: str | None = None


@dataclass
class ContractChorus:
    """S8 options. Absent (``None`` on ``ContractData``) while Chorus Pro is off: unchanged."""

    is_enabled: bool = False
    service_code: str | None = None
    engagement_number: str | None = None
    market_number: str | None = None


@dataclass
class ContractData:
    number: str
    client_id: int | None
    company_id: int | None
    product: str
    insurer: str
    starts_on: date | None
    bank_account_id: int | None = None
    ends_on: date | None = None
    term: Term = Term.ADVANCE
    chorus: ContractChorus | None = None


class _Errors:
    """Collects French messages per field; ``clean`` runs a ``clean_*`` function."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def clean(self, field: str, cleaner: Callable[[str], T], value: str) -> T | None:
        try:
            return cleaner(value)
        except InvalidValue as error:
            self.add(field, str(error))
            return None

    def required(self, field: str, value: str | None, message: str) -> str:
        text = (value or "").strip()
        if not text:
            self.add(field, message)
        return text

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _taken(
    column: InstrumentedAttribute[str], value: str, current: Company | Contract | None
) -> bool:
    """Another row than ``current`` holds ``value`` in ``column`` (case-insensitively)."""
    model = column.class_
    query = select(model.id).where(func.lower(column) == value.lower())
    if current is not None:
        query = query.where(model.id != current.id)
    return db.session.scalar(query) is not None


def _flush(errors_on_conflict: dict[str, str]) -> None:
    """Flush; a unique constraint hit by a concurrent request becomes a French error.

    The session is rolled back then, so nothing of this request is half-saved.
    """
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise ValidationFailed(errors_on_conflict) from error


# -- companies and bank accounts -----------------------------------------------------------------

COMPANY_NAME_TAKEN = "Une société porte déjà ce nom."


def _check_company(data: CompanyData, current: Company | None) -> CompanyData:
    errors = _Errors()
    name = errors.required("name", data.name, "Saisissez la raison sociale.")
    siren = errors.clean("siren", clean_siren, data.siren) if data.siren else None
    orias = data.orias_number
    if orias:
        orias = errors.clean("orias_number", clean_digits, orias)
        if orias is not None and len(orias) != 8:
            errors.add("orias_number", "Le n° ORIAS comporte 8 chiffres.")
    if name and _taken(Company.name, name, current):
        errors.add("name", COMPANY_NAME_TAKEN)
    errors.raise_if_any()
    return CompanyData(name=name, siren=siren, orias_number=orias or None, address=data.address)


def create_company(data: CompanyData) -> Company:
    """Create a société."""
    clean = _check_company(data, None)
    company = Company(
        name=clean.name, siren=clean.siren, orias_number=clean.orias_number, address=clean.address
    )
    db.session.add(company)
    _flush({"name": COMPANY_NAME_TAKEN})
    return company


def update_company(company: Company, data: CompanyData) -> Company:
    """Change a société's identity and address."""
    clean = _check_company(data, company)
    company.name = clean.name
    company.siren = clean.siren
    company.orias_number = clean.orias_number
    company.address = clean.address
    _flush({"name": COMPANY_NAME_TAKEN})
    return company


def _check_bank_account(
    company: Company, data: BankAccountData, current: BankAccount | None
) -> BankAccountData:
    errors = _Errors()
    label = errors.required("label", data.label, "Saisissez un libellé.")
    iban = errors.clean("iban", clean_iban, data.iban or "")
    bic = errors.clean("bic", clean_bic, data.bic or "")
    if iban:
        query = select(BankAccount.id).where(
            BankAccount.company_id == company.id, BankAccount.iban == iban
        )
        if current is not None:
            query = query.where(BankAccount.id != current.id)
        if db.session.scalar(query) is not None:
            errors.add("iban", "Cette société a déjà un compte avec cet IBAN.")
    chorus = data.chorus
    if chorus is not None:
        for field, value in (
            ("chorus_supplier_service_id", chorus.supplier_service_id),
            ("chorus_bank_details_id", chorus.bank_details_id),
        ):
            if value is not None and not 0 <= value < 10**18:
                errors.add(field, "Ce code ne doit contenir que des chiffres (18 au plus).")
    errors.raise_if_any()
    return BankAccountData(label=label, iban=iban or "", bic=bic or "", chorus=chorus)


def _apply_bank_account(account: BankAccount, clean: BankAccountData) -> None:
    account.label = clean.label
    account.iban = clean.iban
    account.bic = clean.bic
    if clean.chorus is not None:
        account.chorus_supplier_service_id = clean.chorus.supplier_service_id
        account.chorus_bank_details_id = clean.chorus.bank_details_id


def create_bank_account(company: Company, data: BankAccountData) -> BankAccount:
    """Add a compte bancaire to a société (S6 codes only when given)."""
    clean = _check_bank_account(company, data, None)
    account = BankAccount(company=company)
    _apply_bank_account(account, clean)
    db.session.add(account)
    db.session.flush()
    return account


def update_bank_account(account: BankAccount, data: BankAccountData) -> BankAccount:
    """Change a compte bancaire; its S6 codes are left alone when ``data.chorus`` is None."""
    clean = _check_bank_account(account.company, data, account)
    _apply_bank_account(account, clean)
    db.session.flush()
    return account


def delete_bank_account(account: BankAccount) -> None:
    """Delete a compte bancaire no contract is paid into."""
    used = db.session.scalar(
        select(func.count()).select_from(Contract).where(Contract.bank_account_id == account.id)
    )
    if used:
        plural = "s" if used > 1 else ""
        raise ValidationFailed(
            f"Le compte « {account.label} » est utilisé par {used} contrat{plural} : "
            "il ne peut pas être supprimé. Changez d'abord le compte de ces contrats."
        )
    db.session.delete(account)
    db.session.flush()


# -- clients and their documents -------------------------------------------------------------------


def _check_client(data: ClientData) -> ClientData:
    errors = _Errors()
    name = errors.required("name", data.name, "Saisissez le nom du client.")
    siret = errors.clean("siret", clean_siret, data.siret) if data.siret else None
    errors.raise_if_any()
    return ClientData(
        name=name,
        kind=ClientKind(data.kind),
        address=data.address or "",
        postal_code=(data.postal_code or "").strip(),
        city=(data.city or "").strip(),
        email=(data.email or "").strip() or None,
        siret=siret,
    )


def _apply_client(client: Client, clean: ClientData) -> None:
    client.kind = clean.kind
    client.name = clean.name
    client.address = clean.address
    client.postal_code = clean.postal_code
    client.city = clean.city
    client.email = clean.email
    client.siret = clean.siret


def create_client(data: ClientData) -> Client:
    """Create a client."""
    clean = _check_client(data)
    client = Client()
    _apply_client(client, clean)
    db.session.add(client)
    db.session.flush()
    return client


def update_client(client: Client, data: ClientData) -> Client:
    """Change a client's identity, address and SIRET."""
    _apply_client(client, _check_client(data))
    db.session.flush()
    return client


class _Prefixed:
    """A stream whose first bytes were already read for the content check."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0:
                data, self.head = self.head + self.rest.read(), b""
                return data
            data, self.head = self.head[:size], self.head[size:]
            return data
        return self.rest.read(size)


def add_client_document(
    client: Client,
    filename: str | None,
    stream: BinaryIO,
    *,
    max_bytes: int,
    uploaded_by_id: int | None = None,
) -> ClientDocument:
    """Store an uploaded file in the client's GED.

    Refuses empty files, unknown types and contents that do not match their extension, and
    files over ``max_bytes``. The original name is kept for display only; the file is stored
    under a generated name with its size, SHA-256 and MIME type.
    """
    name = rules.sanitize_original_name(filename)
    head = stream.read(rules.SNIFF_BYTES)
    problem = rules.upload_problem(name, head)
    if problem:
        raise ValidationFailed({"file": problem})
    extension = rules.extension_of(name)
    try:
        stored = storage.save_stream(
            storage.GED,
            cast(BinaryIO, _Prefixed(head, stream)),
            suffix=extension,
            max_bytes=max_bytes,
        )
    except storage.FileTooLarge as error:
        raise ValidationFailed(
            {"file": f"Le fichier dépasse la taille autorisée ({fr_size(max_bytes)})."}
        ) from error
    document = ClientDocument(
        client=client,
        original_name=name,
        stored_name=stored.stored_name,
        mime_type=rules.mime_type_for(extension),
        size_bytes=stored.size,
        sha256=stored.sha256,
        uploaded_by_id=uploaded_by_id,
    )
    db.session.add(document)
    try:
        db.session.flush()
    except Exception:
        storage.delete(storage.GED, stored.stored_name)
        raise
    return document


def delete_client_document(document: ClientDocument) -> None:
    """Delete the row; its file goes once the deletion is committed (a rolled-back deletion
    keeps its file)."""
    stored_name = document.stored_name
    db.session.delete(document)
    db.session.flush()
    transactions.after_commit(lambda: storage.delete(storage.GED, stored_name))


# -- contracts -------------------------------------------------------------------------------------

CONTRACT_NUMBER_TAKEN = "Ce numéro de contrat existe déjà."


def _check_contract(data: ContractData, current: Contract | None) -> dict[str, object]:
    errors = _Errors()
    number = errors.required("number", data.number, "Saisissez le numéro du contrat.")
    product = errors.required("product", data.product, "Saisissez le produit.")
    insurer = errors.required("insurer", data.insurer, "Saisissez l'assureur.")
    if number and _taken(Contract.number, number, current):
        errors.add("number", CONTRACT_NUMBER_TAKEN)
    client = db.session.get(Client, data.client_id) if data.client_id else None
    if client is None:
        errors.add("client_id", "Choisissez un client existant.")
    company = db.session.get(Company, data.company_id) if data.company_id else None
    if company is None:
        errors.add("company_id", "Choisissez une société existante.")
    account = db.session.get(BankAccount, data.bank_account_id) if data.bank_account_id else None
    if data.bank_account_id and account is None:
        errors.add("bank_account_id", "Ce compte bancaire n'existe pas.")
    elif account is not None and company is not None and account.company_id != company.id:
        errors.add(
            "bank_account_id",
            f"Ce compte bancaire n'appartient pas à la société « {company.name} ».",
        )
    if data.starts_on is None:
        errors.add("starts_on", "Saisissez la date de début.")
    try:
        check_date_order(data.starts_on, data.ends_on)
    except InvalidValue as error:
        errors.add("ends_on", str(error))
    chorus = data.chorus
    if chorus is not None:
        for field, value, limit in (
            ("chorus_service_code", chorus.service_code, 100),
            ("chorus_engagement_number", chorus.engagement_number, 50),
            ("chorus_market_number", chorus.market_number, 50),
        ):
            if value and len(value.strip()) > limit:
                errors.add(field, f"{limit} caractères au maximum.")
    errors.raise_if_any()
    return {
        "number": number,
        "product": product,
        "insurer": insurer,
        "client": client,
        "company": company,
        "bank_account": account,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "term": Term(data.term),
    }


def _apply_contract(
    contract: Contract, values: dict[str, object], chorus: ContractChorus | None
) -> None:
    for key, value in values.items():
        setattr(contract, key, value)
    if chorus is not None:
        contract.is_chorus_enabled = chorus.is_enabled
        contract.chorus_service_code = (chorus.service_code or "").strip() or None
        contract.chorus_engagement_number = (chorus.engagement_number or "").strip() or None
        contract.chorus_market_number = (chorus.market_number or "").strip() or None


def create_contract(data: ContractData) -> Contract:
    """Create a contrat; S8 options only when ``data.chorus`` is given (S1 on)."""
    values = _check_contract(data, None)
    contract = Contract(is_chorus_enabled=False)
    _apply_contract(contract, values, data.chorus)
    db.session.add(contract)
    _flush({"number": CONTRACT_NUMBER_TAKEN})
    return contract


def update_contract(contract: Contract, data: ContractData) -> Contract:
    """Change a contrat; its S8 options are left alone when ``data.chorus`` is None."""
    values = _check_contract(data, contract)
    _apply_contract(contract, values, data.chorus)
    _flush({"number": CONTRACT_NUMBER_TAKEN})
    return contract
