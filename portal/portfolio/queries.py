"""Read-side SQL of the portfolio pages: lists, search, filters, choices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.portfolio.models import BankAccount, Client, Company, Contract
from portal.search import fold
from portal.validators import compact

PER_PAGE = 25


def client(client_id: int) -> Client | None:
    return db.session.get(Client, client_id)


def clients_sharing_siret(client: Client) -> Sequence[Client]:
    """The other clients with ``client``'s SIRET, the first created first.

    Two clients may share a SIRET (saving is allowed), but it is most often a duplicate:
    the pages say so and link to the others.
    """
    if not client.siret:
        return []
    return db.session.scalars(
        select(Client)
        .where(Client.siret == client.siret, Client.id != client.id)
        .order_by(Client.created_at, Client.id)
    ).all()


def client_if_matching(client_id: int, search: str | None) -> Client | None:
    """The client, if it matches ``search`` (any client matches no search)."""
    return db.session.scalars(_clients_matching(search).where(Client.id == client_id)).first()


def client_choices(search: str | None, limit: int) -> tuple[Sequence[Client], int]:
    """The first ``limit`` clients matching ``search`` by name, and how many match in all."""
    statement = _clients_matching(search)
    clients = db.session.scalars(statement.limit(limit)).all()
    if len(clients) < limit:
        return clients, len(clients)
    matching = select(func.count()).select_from(statement.order_by(None).subquery())
    return clients, db.session.scalar(matching) or 0


def company_choices() -> Sequence[Company]:
    """Every société, by name."""
    return db.session.scalars(select(Company).order_by(Company.name)).all()


def bank_accounts_of(company_id: int) -> Sequence[BankAccount]:
    """The bank accounts of one société, by label."""
    return db.session.scalars(
        select(BankAccount)
        .where(BankAccount.company_id == company_id)
        .order_by(BankAccount.label, BankAccount.id)
    ).all()


@dataclass(frozen=True)
class CompanyRow:
    company: Company
    bank_account_count: int
    contract_count: int


def companies_overview() -> list[CompanyRow]:
    """Sociétés with their number of bank accounts and contracts (one query)."""
    accounts = (
        select(func.count(BankAccount.id))
        .where(BankAccount.company_id == Company.id)
        .scalar_subquery()
    )
    contracts = (
        select(func.count(Contract.id)).where(Contract.company_id == Company.id).scalar_subquery()
    )
    rows = db.session.execute(select(Company, accounts, contracts).order_by(Company.name))
    return [CompanyRow(*row) for row in rows.tuples()]


def bank_account_usage(company_id: int) -> dict[int, int]:
    """Number of contracts paid into each bank account of a société."""
    rows = db.session.execute(
        select(BankAccount.id, func.count(Contract.id))
        .select_from(Contract)
        .join(BankAccount, BankAccount.id == Contract.bank_account_id)
        .where(BankAccount.company_id == company_id)
        .group_by(BankAccount.id)
    )
    return dict(rows.tuples().all())


def company_contract_count(company_id: int) -> int:
    return (
        db.session.scalar(select(func.count(Contract.id)).where(Contract.company_id == company_id))
        or 0
    )


def search_clients(query: str | None, page: int, per_page: int = PER_PAGE) -> Pagination:
    """Clients whose name, city or SIRET contains ``query`` (case-insensitive), by name."""
    return db.paginate(_clients_matching(query), page=page, per_page=per_page, error_out=False)


def _clients_matching(query: str | None) -> Select[tuple[Client]]:
    statement = select(Client).order_by(Client.name, Client.id)
    text = (query or "").strip()
    return statement.where(client_matches(text)) if text else statement


def client_matches(text: str) -> ColumnElement[bool]:
    """A client whose name, city or SIRET contains ``text``, whatever its case and accents."""
    conditions = [Client.search_key.contains(fold(text), autoescape=True)]
    digits = compact(text)
    if digits.isdigit():
        conditions.append(Client.siret.contains(digits, autoescape=True))
    return or_(*conditions)


@dataclass(frozen=True)
class ContractFilters:
    client_id: int | None = None
    client: str | None = None  # name, city or SIRET of the client, in part
    company_id: int | None = None
    number: str | None = None
    chorus: bool | None = None  # only applied while Chorus Pro is enabled (S1)

    @property
    def is_empty(self) -> bool:
        return (
            self.client_id is None
            and not self.client
            and self.company_id is None
            and not self.number
            and self.chorus is None
        )


def contracts_statement(filters: ContractFilters) -> Select[tuple[Contract]]:
    """Contracts matching the filters, by number, with client, company and account loaded."""
    statement = select(Contract).options(
        joinedload(Contract.client), joinedload(Contract.company), joinedload(Contract.bank_account)
    )
    if filters.client_id is not None:
        statement = statement.where(Contract.client_id == filters.client_id)
    if filters.client:
        statement = statement.where(Contract.client.has(client_matches(filters.client)))
    if filters.company_id is not None:
        statement = statement.where(Contract.company_id == filters.company_id)
    if filters.number:
        statement = statement.where(Contract.number.icontains(filters.number, autoescape=True))
    if filters.chorus is not None:
        statement = statement.where(Contract.is_chorus_enabled.is_(filters.chorus))
    return statement.order_by(Contract.number, Contract.id)


def contracts_page(filters: ContractFilters, page: int, per_page: int = PER_PAGE) -> Pagination:
    return db.paginate(contracts_statement(filters), page=page, per_page=per_page, error_out=False)


def contracts_of_client(client_id: int) -> Sequence[Contract]:
    """A client's contracts, with their société, by start date (latest first)."""
    return db.session.scalars(
        select(Contract)
        .options(joinedload(Contract.company))
        .where(Contract.client_id == client_id)
        .order_by(Contract.starts_on.desc(), Contract.number)
    ).all()


# -- « Mise en service » (Chorus go-live checklist) ---------------------------------------------


def has_siret() -> ColumnElement[bool]:
    return Client.siret.is_not(None) & (func.trim(Client.siret) != "")


def clients_with_siret(search: str | None, limit: int) -> tuple[Sequence[Client], int]:
    """The first ``limit`` clients with a SIRET matching ``search``, and how many match."""
    statement = _clients_matching(search).where(has_siret())
    clients = db.session.scalars(statement.limit(limit)).all()
    if len(clients) < limit:
        return clients, len(clients)
    matching = select(func.count()).select_from(statement.order_by(None).subquery())
    return clients, db.session.scalar(matching) or 0


def chorus_contracts_of(client_id: int) -> Sequence[Contract]:
    """A client's contracts with Chorus Pro enabled, by number."""
    return db.session.scalars(
        select(Contract)
        .where(Contract.client_id == client_id, Contract.is_chorus_enabled.is_(True))
        .order_by(Contract.number, Contract.id)
    ).all()


def bank_accounts_with_chorus_use() -> list[tuple[BankAccount, bool]]:
    """Every bank account (société loaded), and whether a Chorus-enabled contract uses it."""
    used = (
        select(Contract.id)
        .where(Contract.bank_account_id == BankAccount.id, Contract.is_chorus_enabled.is_(True))
        .exists()
    )
    rows = db.session.execute(
        select(BankAccount, used)
        .join(BankAccount.company)
        .options(joinedload(BankAccount.company))
        .order_by(Company.name, BankAccount.label, BankAccount.id)
    ).all()
    return [(account, bool(is_used)) for account, is_used in rows]
