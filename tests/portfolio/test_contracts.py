"""Contrats (S8): list with filters, create / edit with server-side checks, HTMX bank accounts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.extensions import db
from portal.portfolio.models import Contract
from tests import factories
from tests.portfolio.conftest import text


@pytest.fixture
def parties(app) -> dict[str, Any]:
    company = factories.make_company(name="Cabinet Durand")
    account = factories.make_bank_account(company, label="Compte BNP")
    other_company = factories.make_company(name="Cabinet Martin")
    other_account = factories.make_bank_account(other_company, label="Compte Martin")
    client = factories.make_client(name="Commune de Sceaux")
    db.session.commit()
    return {
        "company": company,
        "account": account,
        "other_account": other_account,
        "client": client,
    }


def _data(parties: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = {
        "number": "CT-2026-001",
        "client_id": parties["client"].id,
        "company_id": parties["company"].id,
        "bank_account_id": parties["account"].id,
        "product": "Dommages aux biens",
        "insurer": "SMACL Assurances",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "term": "advance",
    }
    data.update(overrides)
    return data


def _contracts() -> int:
    return db.session.scalar(select(func.count()).select_from(Contract))


def test_a_contract_is_created_and_shown(as_gestionnaire, post, parties) -> None:
    form = text(as_gestionnaire.get("/contrats/nouveau"))
    for label in ("N° de contrat", "Client", "Société", "Compte bancaire", "Date de début"):
        assert label in form
    assert "Chorus" not in form
    response = post("/contrats/nouveau", _data(parties, number=" CT-2026-001 "))
    assert response.status_code == 302
    contract = db.session.scalar(select(Contract))
    assert contract.number == "CT-2026-001"
    assert contract.bank_account_id == parties["account"].id
    assert (contract.starts_on, contract.ends_on) == (date(2026, 1, 1), date(2026, 12, 31))
    assert contract.is_chorus_enabled is False
    page = text(as_gestionnaire.get(response.headers["Location"]))
    assert "Contrat CT-2026-001" in page
    assert "Commune de Sceaux" in page
    assert "FR76 3000 6000 0112 3456 7890 189" in page
    assert "31/12/2026" in page
    assert "À échoir" in page


def test_a_duplicate_contract_number_is_refused(as_gestionnaire, post, parties) -> None:
    factories.make_contract(number="CT-2026-001")
    db.session.commit()
    response = post("/contrats/nouveau", _data(parties, number="ct-2026-001"))
    assert response.status_code == 422
    assert "Ce numéro de contrat existe déjà." in text(response)
    assert _contracts() == 1


def test_an_end_date_before_the_start_is_refused(as_gestionnaire, post, parties) -> None:
    response = post("/contrats/nouveau", _data(parties, ends_on="2025-12-31"))
    assert response.status_code == 422
    assert "La date de fin doit être postérieure ou égale à la date de début." in text(response)
    assert _contracts() == 0


def test_the_same_start_and_end_day_is_accepted(as_gestionnaire, post, parties) -> None:
    response = post("/contrats/nouveau", _data(parties, ends_on="2026-01-01"))
    assert response.status_code == 302


def test_a_bank_account_of_another_company_is_refused(as_gestionnaire, post, parties) -> None:
    response = post(
        "/contrats/nouveau", _data(parties, bank_account_id=parties["other_account"].id)
    )
    assert response.status_code == 422
    assert "Ce compte bancaire n&#39;appartient pas à la société « Cabinet Durand »." in text(
        response
    )
    assert _contracts() == 0


def test_unknown_client_company_or_account_are_refused(as_gestionnaire, post, parties) -> None:
    response = post(
        "/contrats/nouveau",
        _data(parties, client_id=9999, company_id=9999, bank_account_id=9999),
    )
    assert response.status_code == 422
    page = text(response)
    assert "Choisissez un client existant." in page
    assert "Choisissez une société existante." in page
    assert "Ce compte bancaire n&#39;existe pas." in page


def test_missing_fields_are_explained_in_french(as_gestionnaire, post, parties) -> None:
    response = post(
        "/contrats/nouveau",
        _data(parties, number="", client_id="", company_id="", starts_on="", product=""),
    )
    assert response.status_code == 422
    page = text(response)
    for message in (
        "Saisissez le numéro du contrat.",
        "Choisissez le client.",
        "Choisissez la société.",
        "Saisissez la date de début.",
        "Saisissez le produit.",
    ):
        assert message in page
    assert "N&#39;est pas une date valide." in text(
        post("/contrats/nouveau", _data(parties, starts_on="31/12/2026"))
    )


def test_a_contract_without_bank_account_is_accepted(as_gestionnaire, post, parties) -> None:
    assert post("/contrats/nouveau", _data(parties, bank_account_id="")).status_code == 302
    assert db.session.scalar(select(Contract)).bank_account_id is None


def test_the_bank_account_select_follows_the_company_over_htmx(as_gestionnaire, parties):
    response = as_gestionnaire.get(
        "/contrats/champ-compte-bancaire",
        query_string={"company_id": parties["company"].id},
        headers={"HX-Request": "true"},
    )
    page = text(response)
    assert page.lstrip().startswith('<div id="bank-account-field">')
    assert "Compte BNP" in page
    assert "Compte Martin" not in page
    empty = text(as_gestionnaire.get("/contrats/champ-compte-bancaire"))
    assert "Choisissez d&#39;abord la société" in empty
    form = text(as_gestionnaire.get("/contrats/nouveau"))
    assert 'hx-get="/contrats/champ-compte-bancaire"' in form
    assert 'hx-target="#bank-account-field"' in form


def test_the_create_form_is_prefilled_from_the_client_page(as_gestionnaire, parties) -> None:
    client_id = parties["client"].id
    page = text(as_gestionnaire.get(f"/contrats/nouveau?client_id={client_id}"))
    assert f'<option selected value="{client_id}">' in page or (
        f'value="{client_id}" selected' in page
    )


def test_a_contract_is_edited_and_a_refusal_changes_nothing(as_gestionnaire, post, parties):
    contract = factories.make_contract(
        number="CT-1", company=parties["company"], bank_account=parties["account"]
    )
    factories.make_contract(number="CT-2")
    db.session.commit()
    edit = text(as_gestionnaire.get(f"/contrats/{contract.id}/modifier"))
    assert "CT-1" in edit
    assert "Compte BNP" in edit
    refused = post(f"/contrats/{contract.id}/modifier", _data(parties, number="CT-2"))
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).number == "CT-1"
    kept = post(f"/contrats/{contract.id}/modifier", _data(parties, number="CT-1", term="arrears"))
    assert kept.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).term == "arrears"


def test_with_s1_the_chorus_block_is_saved(as_gestionnaire, post, parties, chorus_on) -> None:
    form = text(as_gestionnaire.get("/contrats/nouveau"))
    for label in ("Activer Chorus Pro ?", "Code service", "Numéro d&#39;engagement"):
        assert label in form
    assert "Numéro de marché" in form
    response = post(
        "/contrats/nouveau",
        _data(
            parties,
            is_chorus_enabled="y",
            chorus_service_code=" SERVICE-FIN ",
            chorus_engagement_number="EJ-42",
            chorus_market_number="",
        ),
    )
    assert response.status_code == 302
    contract = db.session.scalar(select(Contract))
    assert contract.is_chorus_enabled is True
    assert contract.chorus_service_code == "SERVICE-FIN"
    assert contract.chorus_engagement_number == "EJ-42"
    assert contract.chorus_market_number is None
    page = text(as_gestionnaire.get(response.headers["Location"]))
    assert 'id="contract-chorus-recipient"' in page
    assert "SERVICE-FIN" in page


def test_with_s1_the_chorus_fields_are_length_checked(as_gestionnaire, post, parties, chorus_on):
    response = post("/contrats/nouveau", _data(parties, chorus_engagement_number="E" * 51))
    assert response.status_code == 422
    assert _contracts() == 0


def test_without_s1_chorus_fields_are_hidden_and_ignored(as_gestionnaire, post, parties) -> None:
    contract = factories.make_contract(
        number="CT-1",
        company=parties["company"],
        bank_account=parties["account"],
        is_chorus_enabled=True,
        chorus_service_code="KEEP",
    )
    db.session.commit()
    assert "Chorus" not in text(as_gestionnaire.get(f"/contrats/{contract.id}/modifier"))
    detail = text(as_gestionnaire.get(f"/contrats/{contract.id}"))
    assert "Chorus" not in detail
    assert "contract-chorus-recipient" not in detail
    response = post(
        f"/contrats/{contract.id}/modifier",
        _data(
            parties,
            number="CT-1",
            is_chorus_enabled="",
            chorus_service_code="FORGED",
            chorus_engagement_number="E" * 80,
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.is_chorus_enabled is True
    assert contract.chorus_service_code == "KEEP"
    assert contract.chorus_engagement_number is None
    created = post("/contrats/nouveau", _data(parties, number="CT-9", is_chorus_enabled="y"))
    assert created.status_code == 302
    new = db.session.scalar(select(Contract).where(Contract.number == "CT-9"))
    assert new.is_chorus_enabled is False


# -- list ----------------------------------------------------------------------------------------


@pytest.fixture
def listed(app) -> dict[str, Any]:
    a = factories.make_client(name="Commune A")
    b = factories.make_client(name="Commune B")
    durand = factories.make_company(name="Cabinet Durand")
    martin = factories.make_company(name="Cabinet Martin")
    factories.make_contract(number="CT-A-1", client=a, company=durand, is_chorus_enabled=True)
    factories.make_contract(number="CT-A-2", client=a, company=martin, is_chorus_enabled=False)
    factories.make_contract(number="CT-B-1", client=b, company=durand, is_chorus_enabled=False)
    db.session.commit()
    return {"a": a, "b": b, "durand": durand, "martin": martin}


def _numbers(client: FlaskClient, **args: Any) -> list[str]:
    page = text(client.get("/contrats", query_string=args))
    return [n for n in ("CT-A-1", "CT-A-2", "CT-B-1") if n in page]


def test_the_list_filters_by_client_company_and_number(as_gestionnaire, listed) -> None:
    assert _numbers(as_gestionnaire) == ["CT-A-1", "CT-A-2", "CT-B-1"]
    assert _numbers(as_gestionnaire, client_id=listed["a"].id) == ["CT-A-1", "CT-A-2"]
    assert _numbers(as_gestionnaire, company_id=listed["durand"].id) == ["CT-A-1", "CT-B-1"]
    assert _numbers(as_gestionnaire, numero="b-1") == ["CT-B-1"]
    assert _numbers(as_gestionnaire, client_id=listed["b"].id, company_id=listed["martin"].id) == []


def test_the_chorus_filter_exists_only_with_s1(as_gestionnaire, listed, app) -> None:
    page = text(as_gestionnaire.get("/contrats"))
    assert "Chorus" not in page
    assert _numbers(as_gestionnaire, chorus="oui") == ["CT-A-1", "CT-A-2", "CT-B-1"]
    from portal.settings import chorus, store

    store.put_bool(chorus.CHORUS_ENABLED, True)
    db.session.commit()
    assert "Chorus Pro" in text(as_gestionnaire.get("/contrats"))
    assert _numbers(as_gestionnaire, chorus="oui") == ["CT-A-1"]
    assert _numbers(as_gestionnaire, chorus="non") == ["CT-A-2", "CT-B-1"]


def test_the_list_is_paginated(as_gestionnaire) -> None:
    client = factories.make_client()
    for i in range(27):
        factories.make_contract(number=f"P-{i:03d}", client=client)
    db.session.commit()
    first = text(as_gestionnaire.get("/contrats"))
    assert "P-000" in first
    assert "P-025" not in first
    assert "Page 1 sur 2" in first
    assert "P-025" in text(as_gestionnaire.get("/contrats?page=2"))
    assert as_gestionnaire.get("/contrats?page=99").status_code == 200


def test_an_htmx_filter_answers_with_the_table_fragment(as_gestionnaire, listed) -> None:
    response = as_gestionnaire.get("/contrats?numero=A-1", headers={"HX-Request": "true"})
    page = text(response)
    assert page.lstrip().startswith('<div id="contracts-results"')
    assert "CT-A-1" in page
    assert "CT-B-1" not in page
