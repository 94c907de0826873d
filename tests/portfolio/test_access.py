"""Roles: ``lecture`` sees every portfolio page without edit buttons and cannot change anything."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.extensions import db
from portal.portfolio.models import BankAccount, Client, ClientDocument, Company, Contract
from tests import factories
from tests.portfolio.conftest import text

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def data(app: Flask) -> dict[str, Any]:
    contract = factories.make_contract(number="CT-LECTURE")
    unused = factories.make_bank_account(contract.company, label="Libre")
    document = ClientDocument(
        client=contract.client,
        original_name="a.pdf",
        stored_name="0" * 32 + ".pdf",
        mime_type="application/pdf",
        size_bytes=1,
        sha256="0" * 64,
    )
    db.session.add(document)
    db.session.commit()
    return {
        "contract": contract,
        "company": contract.company,
        "client": contract.client,
        "account": unused,
        "document": document,
    }


def _counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Company, BankAccount, Client, ClientDocument, Contract)
    )


def _pages(data: dict[str, Any]) -> list[str]:
    return [
        "/societes",
        f"/societes/{data['company'].id}",
        "/clients",
        f"/clients/{data['client'].id}",
        "/contrats",
        f"/contrats/{data['contract'].id}",
    ]


def test_a_read_only_user_sees_every_page_without_edit_buttons(as_lecteur, data) -> None:
    for url in _pages(data):
        response = as_lecteur.get(url)
        assert response.status_code == 200, url
        page = text(response)
        for action in (
            "bi-pencil",
            "bi-trash",
            "Nouvelle société",
            "Nouveau client",
            "Nouveau contrat",
            "Ajouter un compte",
            "Ajouter à la GED",
        ):
            assert action not in page, (url, action)
    assert "CT-LECTURE" in text(as_lecteur.get("/contrats"))


def test_a_gestionnaire_sees_the_edit_buttons(as_gestionnaire, data) -> None:
    for url in _pages(data):
        assert "bi-pencil" in text(as_gestionnaire.get(url)), url
    assert "Ajouter à la GED" in text(as_gestionnaire.get(f"/clients/{data['client'].id}"))


def test_a_read_only_user_cannot_open_the_forms(as_lecteur, data) -> None:
    for url in (
        "/societes/nouvelle",
        f"/societes/{data['company'].id}/modifier",
        f"/societes/{data['company'].id}/comptes/nouveau",
        f"/comptes-bancaires/{data['account'].id}/modifier",
        "/clients/nouveau",
        f"/clients/{data['client'].id}/modifier",
        "/contrats/nouveau",
        f"/contrats/{data['contract'].id}/modifier",
    ):
        assert as_lecteur.get(url).status_code == 403, url


def test_a_read_only_user_gets_403_on_each_post_and_nothing_changes(as_lecteur, post, data) -> None:
    before = _counts()
    company, client, contract = data["company"], data["client"], data["contract"]
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/societes/nouvelle", {"name": "Pirate"}),
        (f"/societes/{company.id}/modifier", {"name": "Pirate"}),
        (
            f"/societes/{company.id}/comptes/nouveau",
            {"label": "x", "iban": "FR7630006000011234567890189", "bic": "AGRIFRPP"},
        ),
        (f"/comptes-bancaires/{data['account'].id}/modifier", {"label": "Pirate"}),
        (f"/comptes-bancaires/{data['account'].id}/supprimer", {}),
        ("/clients/nouveau", {"name": "Pirate", "kind": "entreprise"}),
        (f"/clients/{client.id}/modifier", {"name": "Pirate", "kind": "entreprise"}),
        (f"/clients/{client.id}/documents", {"file": (io.BytesIO(PDF), "x.pdf")}),
        (f"/documents/{data['document'].id}/supprimer", {}),
        ("/contrats/nouveau", {"number": "PIRATE"}),
        (f"/contrats/{contract.id}/modifier", {"number": "PIRATE"}),
    ]
    for url, payload in posts:
        response = post(url, payload, content_type="multipart/form-data")
        assert response.status_code == 403, url
    db.session.expire_all()
    assert _counts() == before
    assert db.session.get(Company, company.id).name != "Pirate"
    assert db.session.get(Client, client.id).name != "Pirate"
    assert db.session.get(Contract, contract.id).number == "CT-LECTURE"


def test_a_missing_file_on_disk_is_a_clean_404(as_lecteur, data) -> None:
    # The fixture row has no file on disk.
    assert as_lecteur.get(f"/documents/{data['document'].id}/telecharger").status_code == 404


def test_every_portfolio_post_is_reserved_to_gestionnaires(app: Flask) -> None:
    from portal.auth.models import Role

    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("portfolio.") or "POST" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None) is Role.GESTIONNAIRE, rule.endpoint


def test_a_read_only_user_may_download_documents(as_lecteur, data) -> None:
    from portal.portfolio import services

    document = services.add_client_document(
        data["client"], "b.pdf", io.BytesIO(PDF), max_bytes=1000
    )
    db.session.commit()
    response = as_lecteur.get(f"/documents/{document.id}/telecharger")
    assert response.status_code == 200
    assert response.data == PDF
    response.close()
