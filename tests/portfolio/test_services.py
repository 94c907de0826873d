"""Services called directly (CLI, demo seed, other areas): same checks as the forms."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.portfolio import services
from portal.portfolio.models import ClientKind, Company, Contract, Term
from portal.portfolio.services import (
    BankAccountChorus,
    BankAccountData,
    ClientData,
    CompanyData,
    ContractChorus,
    ContractData,
)
from portal.validators import ValidationFailed
from tests import factories


def _contract_data(**overrides) -> ContractData:
    company = factories.make_company()
    account = factories.make_bank_account(company)
    values = {
        "number": "CT-1",
        "client_id": factories.make_client().id,
        "company_id": company.id,
        "bank_account_id": account.id,
        "product": "Flotte",
        "insurer": "SMACL",
        "starts_on": date(2026, 1, 1),
    }
    values.update(overrides)
    return ContractData(**values)


def test_create_contract_returns_the_flushed_contract(app) -> None:
    contract = services.create_contract(
        _contract_data(term=Term.ARREARS, chorus=ContractChorus(True, "SRV", None, None))
    )
    assert contract.id is not None
    assert contract.term == "arrears"
    assert (contract.is_chorus_enabled, contract.chorus_service_code) == (True, "SRV")


def test_create_contract_collects_every_refusal_by_field(app) -> None:
    other_account = factories.make_bank_account()
    with pytest.raises(ValidationFailed) as caught:
        services.create_contract(
            _contract_data(
                number=" ",
                product="",
                bank_account_id=other_account.id,
                starts_on=date(2026, 2, 1),
                ends_on=date(2026, 1, 31),
            )
        )
    assert set(caught.value.errors) == {"number", "product", "bank_account_id", "ends_on"}
    assert db.session.scalar(select(func.count()).select_from(Contract)) == 0


def test_update_contract_keeps_the_chorus_options_when_none_are_given(app) -> None:
    contract = factories.make_contract(is_chorus_enabled=True, chorus_service_code="KEEP")
    data = _contract_data(
        number=contract.number,
        company_id=contract.company_id,
        bank_account_id=contract.bank_account_id,
    )
    services.update_contract(contract, data)
    assert (contract.is_chorus_enabled, contract.chorus_service_code) == (True, "KEEP")


def test_services_check_formats_themselves(app) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.create_client(ClientData(name="X", siret="2175000160001"))
    assert "14 chiffres" in caught.value.errors["siret"]
    with pytest.raises(ValidationFailed) as caught:
        services.create_bank_account(
            factories.make_company(), BankAccountData(label="", iban="FR00", bic="X")
        )
    assert set(caught.value.errors) == {"label", "iban", "bic"}
    with pytest.raises(ValidationFailed):
        services.create_company(CompanyData(name="Y", siren="123"))


def test_create_client_normalises_its_values(app) -> None:
    client = services.create_client(
        ClientData(
            name="  Commune  ".strip(), kind=ClientKind.PARTICULIER, siret="217 500 016 00019"
        )
    )
    assert (client.kind, client.siret, client.email) == ("particulier", "21750001600019", None)


def test_bank_account_chorus_codes_change_only_when_given(app) -> None:
    account = factories.make_bank_account(chorus_supplier_service_id=1, chorus_bank_details_id=2)
    data = BankAccountData(label="L", iban=account.iban, bic=account.bic)
    services.update_bank_account(account, data)
    assert (account.chorus_supplier_service_id, account.chorus_bank_details_id) == (1, 2)
    data.chorus = BankAccountChorus(supplier_service_id=None, bank_details_id=7)
    services.update_bank_account(account, data)
    assert (account.chorus_supplier_service_id, account.chorus_bank_details_id) == (None, 7)


def test_a_unique_constraint_hit_by_a_concurrent_request_becomes_a_french_error(app) -> None:
    db.session.add_all([Company(name="Doublon"), Company(name="Doublon")])
    with pytest.raises(ValidationFailed) as caught:
        services._flush({"name": services.COMPANY_NAME_TAKEN})
    assert caught.value.errors == {"name": "Une société porte déjà ce nom."}
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_add_client_document_leaves_no_file_when_refused(app) -> None:
    client = factories.make_client()
    with pytest.raises(ValidationFailed) as caught:
        services.add_client_document(client, "a.pdf", io.BytesIO(b"not a pdf"), max_bytes=100)
    assert "PDF" in caught.value.errors["file"]
