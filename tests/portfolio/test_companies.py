"""Sociétés and their comptes bancaires (S6): pages, validation, S1 visibility, deletion rule."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.extensions import db
from portal.portfolio.models import BankAccount, Company
from tests import factories
from tests.portfolio.conftest import text

IBAN = "FR7630006000011234567890189"


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_companies_list_shows_each_company_with_its_counts(as_gestionnaire: FlaskClient):
    company = factories.make_company(name="Cabinet Durand", siren="732829320")
    factories.make_contract(company=company)
    db.session.commit()
    page = text(as_gestionnaire.get("/societes"))
    assert "Sociétés" in page
    assert "Cabinet Durand" in page
    assert "732829320" in page
    assert "Nouvelle société" in page


def test_a_company_is_created_and_shown(as_gestionnaire: FlaskClient, post) -> None:
    assert "Raison sociale" in text(as_gestionnaire.get("/societes/nouvelle"))
    response = post(
        "/societes/nouvelle",
        {"name": " Cabinet Martin ", "siren": "732 829 320", "orias_number": "07001234"},
    )
    assert response.status_code == 302
    company = db.session.scalar(select(Company))
    assert company.name == "Cabinet Martin"
    assert company.siren == "732829320"
    page = text(as_gestionnaire.get(response.headers["Location"]))
    assert "Cabinet Martin" in page
    assert "Comptes bancaires" in page
    assert "Société « Cabinet Martin » créée." in page


def test_a_company_name_must_be_unique_whatever_its_case(as_gestionnaire, post) -> None:
    factories.make_company(name="Cabinet Martin")
    db.session.commit()
    response = post("/societes/nouvelle", {"name": "cabinet martin"})
    assert response.status_code == 422
    assert "Une société porte déjà ce nom." in text(response)
    assert _count(Company) == 1


def test_a_company_siren_and_orias_number_are_checked(as_gestionnaire, post) -> None:
    response = post(
        "/societes/nouvelle", {"name": "Cabinet", "siren": "732829321", "orias_number": "123"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "SIREN invalide" in page
    assert "Le n° ORIAS comporte 8 chiffres." in page
    assert _count(Company) == 0


def test_a_company_is_edited(as_gestionnaire, post) -> None:
    company = factories.make_company(name="Ancien nom")
    db.session.commit()
    assert "Ancien nom" in text(as_gestionnaire.get(f"/societes/{company.id}/modifier"))
    response = post(
        f"/societes/{company.id}/modifier", {"name": "Nouveau nom", "address": "2 rue X"}
    )
    assert response.status_code == 302
    db.session.refresh(company)
    assert (company.name, company.address) == ("Nouveau nom", "2 rue X")


def test_a_bank_account_is_added_with_its_iban_compact_and_shown_grouped(
    as_gestionnaire, post, chorus_on
) -> None:
    company = factories.make_company()
    db.session.commit()
    form = text(as_gestionnaire.get(f"/societes/{company.id}/comptes/nouveau"))
    assert "Code du service du fournisseur" in form
    assert "Code du compte bancaire fournisseur" in form
    assert 'id="bank-account-chorus-lookup"' in form
    response = post(
        f"/societes/{company.id}/comptes/nouveau",
        {
            "label": "Compte principal",
            "iban": "fr76 3000 6000 0112 3456 7890 189",
            "bic": "agrifrpp",
            "chorus_supplier_service_id": " 1234 ",
            "chorus_bank_details_id": "5678",
        },
    )
    assert response.status_code == 302
    account = db.session.scalar(select(BankAccount))
    assert account.iban == IBAN
    assert account.bic == "AGRIFRPP"
    assert (account.chorus_supplier_service_id, account.chorus_bank_details_id) == (1234, 5678)
    page = text(as_gestionnaire.get(f"/societes/{company.id}"))
    assert "FR76 3000 6000 0112 3456 7890 189" in page
    assert "Code du compte bancaire fournisseur" in page
    assert "5678" in page


def test_an_invalid_iban_bic_or_chorus_code_is_refused_in_french(
    as_gestionnaire, post, chorus_on
) -> None:
    company = factories.make_company()
    db.session.commit()
    response = post(
        f"/societes/{company.id}/comptes/nouveau",
        {
            "label": "Compte",
            "iban": "FR7630006000011234567890188",
            "bic": "AGRIFRP",
            "chorus_supplier_service_id": "12a",
            "chorus_bank_details_id": "1" * 19,
        },
    )
    assert response.status_code == 422
    page = text(response)
    assert "IBAN invalide : la clé de contrôle ne correspond pas." in page
    assert "Le BIC doit comporter 8 ou 11 caractères" in page
    assert "ne doit contenir que des chiffres" in page
    assert "au plus 18 chiffres" in page
    assert _count(BankAccount) == 0


def test_an_iban_already_on_the_company_is_refused(as_gestionnaire, post) -> None:
    account = factories.make_bank_account(iban=IBAN)
    db.session.commit()
    response = post(
        f"/societes/{account.company_id}/comptes/nouveau",
        {"label": "Doublon", "iban": IBAN, "bic": "AGRIFRPP"},
    )
    assert response.status_code == 422
    assert "Cette société a déjà un compte avec cet IBAN." in text(response)


def test_with_chorus_off_the_codes_are_hidden_and_ignored(as_gestionnaire, post) -> None:
    account = factories.make_bank_account(chorus_supplier_service_id=11, chorus_bank_details_id=22)
    db.session.commit()
    form = text(as_gestionnaire.get(f"/comptes-bancaires/{account.id}/modifier"))
    assert "Code du service du fournisseur" not in form
    assert "Chorus" not in form
    assert "Chorus" not in text(as_gestionnaire.get(f"/societes/{account.company_id}"))
    response = post(
        f"/comptes-bancaires/{account.id}/modifier",
        {
            "label": "Renommé",
            "iban": account.iban,
            "bic": account.bic,
            "chorus_supplier_service_id": "999",
            "chorus_bank_details_id": "not even digits",
        },
    )
    assert response.status_code == 302
    db.session.refresh(account)
    assert account.label == "Renommé"
    assert (account.chorus_supplier_service_id, account.chorus_bank_details_id) == (11, 22)


def test_the_edit_form_shows_the_iban_grouped(as_gestionnaire) -> None:
    account = factories.make_bank_account(iban=IBAN)
    db.session.commit()
    page = text(as_gestionnaire.get(f"/comptes-bancaires/{account.id}/modifier"))
    assert "FR76 3000 6000 0112 3456 7890 189" in page


def test_an_unused_bank_account_is_deleted(as_gestionnaire, post) -> None:
    account = factories.make_bank_account()
    db.session.commit()
    response = post(f"/comptes-bancaires/{account.id}/supprimer")
    assert response.status_code == 302
    assert _count(BankAccount) == 0
    assert "Compte bancaire supprimé." in text(as_gestionnaire.get(response.headers["Location"]))


def test_a_bank_account_used_by_a_contract_is_not_deleted(as_gestionnaire, post) -> None:
    contract = factories.make_contract()
    account_id = contract.bank_account_id
    db.session.commit()
    response = post(f"/comptes-bancaires/{account_id}/supprimer", follow_redirects=True)
    assert "est utilisé par 1 contrat : il ne peut pas être supprimé." in text(response)
    assert db.session.get(BankAccount, account_id) is not None


def test_unknown_company_or_account_is_a_404(as_gestionnaire) -> None:
    assert as_gestionnaire.get("/societes/999").status_code == 404
    assert as_gestionnaire.get("/comptes-bancaires/999/modifier").status_code == 404
