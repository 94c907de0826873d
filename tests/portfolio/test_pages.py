"""Every portfolio page renders in French and loads only local assets that exist."""

from __future__ import annotations

import re

from portal.extensions import db
from tests import factories
from tests.portfolio.conftest import text


def test_the_assets_a_portfolio_page_links_are_served_locally(as_gestionnaire) -> None:
    page = text(as_gestionnaire.get("/clients"))
    assets = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', page)
    assert any("bootstrap-icons" in asset for asset in assets)
    for asset in assets:
        response = as_gestionnaire.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_every_portfolio_page_renders_with_its_french_title(as_gestionnaire) -> None:
    contract = factories.make_contract(number="CT-PAGES")
    db.session.commit()
    pages = {
        "/societes": "Sociétés",
        "/societes/nouvelle": "Nouvelle société",
        f"/societes/{contract.company_id}": "Comptes bancaires",
        f"/societes/{contract.company_id}/modifier": "Modifier la société",
        f"/societes/{contract.company_id}/comptes/nouveau": "Nouveau compte bancaire",
        f"/comptes-bancaires/{contract.bank_account_id}/modifier": "Modifier le compte bancaire",
        "/clients": "Clients",
        "/clients/nouveau": "Nouveau client",
        f"/clients/{contract.client_id}": "Documents (GED)",
        f"/clients/{contract.client_id}/modifier": "Modifier le client",
        "/contrats": "Contrats",
        "/contrats/nouveau": "Nouveau contrat",
        f"/contrats/{contract.id}": "Contrat CT-PAGES",
        f"/contrats/{contract.id}/modifier": "Modifier le contrat CT-PAGES",
    }
    for url, title in pages.items():
        response = as_gestionnaire.get(url)
        assert response.status_code == 200, url
        body = text(response)
        assert title in body, url
        assert 'aria-label="Fil d\'Ariane"' in body, url
