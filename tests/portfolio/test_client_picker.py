"""The searchable client select of the contract and fee-invoice forms (thousands of clients)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert

from portal.extensions import db
from portal.portfolio import client_picker
from portal.portfolio.client_picker import LIMIT
from portal.portfolio.models import Client
from portal.search import search_key
from tests import factories
from tests.portfolio.conftest import text

HX = {"HX-Request": "true"}


@pytest.fixture
def many_clients(app) -> dict[str, Client]:
    """LIMIT + 30 communes by name, then two clients sorting after them."""
    db.session.execute(
        insert(Client),
        [
            {
                "kind": "entreprise",
                "name": f"Commune {i:03d}",
                "city": "Lyon",
                "search_key": search_key(f"Commune {i:03d}", "Lyon"),
            }
            for i in range(80)
        ],
    )
    late = factories.make_client(name="Syndicat des eaux", city="Annecy", siret="21740010100019")
    zoo = factories.make_client(name="Zoo de Vincennes", city="Paris")
    db.session.commit()
    return {"late": late, "zoo": zoo}


def labels(options: client_picker.ClientOptions) -> list[str]:
    return [label for _, label in options.options]


def test_without_a_search_the_first_clients_are_offered_and_the_chosen_one_kept(
    many_clients,
) -> None:
    first = client_picker.client_options()
    assert len(first.options) == LIMIT + 1 and first.selected is None
    assert first.options[1] == (first.options[1][0], "Commune 000 (Lyon)")
    assert labels(first)[0] == "Choisissez un client (50 premiers sur 82 : précisez la recherche)…"

    late = many_clients["late"]
    kept = client_picker.client_options(selected=late.id)
    assert kept.selected == late.id
    assert (late.id, "Syndicat des eaux (Annecy)") in kept.options


def test_a_search_narrows_by_name_city_or_siret(many_clients) -> None:
    assert labels(client_picker.client_options("vincennes"))[1:] == ["Zoo de Vincennes (Paris)"]
    assert labels(client_picker.client_options("annecy"))[1:] == ["Syndicat des eaux (Annecy)"]
    by_siret = client_picker.client_options("217 400 101")
    assert labels(by_siret)[1:] == ["Syndicat des eaux (Annecy)"]
    several = client_picker.client_options("commune 07")
    assert labels(several) == [
        "Choisissez parmi les 10 clients trouvés…",
        *[f"Commune {i:03d} (Lyon)" for i in range(70, 80)],
    ]
    assert labels(client_picker.client_options("nulle part")) == [
        "Aucun client ne correspond à « nulle part »"
    ]


def test_case_and_accents_do_not_matter(many_clients) -> None:
    zoo = factories.make_client(name="École de Mâcon", city="MÂCON")
    db.session.commit()
    for typed in ("ecole de macon", "ÉCOLE", "macon", "  Mâcon "):
        assert client_picker.client_options(typed).selected == zoo.id, typed
    zoo.city = "Chalon-sur-Saône"
    db.session.commit()
    assert client_picker.client_options("saone").selected == zoo.id


def test_a_lone_match_is_chosen_and_a_chosen_match_stays_chosen(many_clients) -> None:
    zoo, late = many_clients["zoo"], many_clients["late"]
    assert client_picker.client_options("vincennes").selected == zoo.id
    assert client_picker.client_options("vincennes", selected=late.id).selected == zoo.id
    assert client_picker.client_options("e", selected=late.id).selected == late.id
    assert client_picker.client_options("commune", selected=zoo.id).selected is None


def test_the_options_follow_the_search_over_htmx(as_gestionnaire, many_clients) -> None:
    zoo = many_clients["zoo"]
    html = as_gestionnaire.get(
        "/clients/choix", query_string={"recherche_client": "zoo", "client_id": ""}, headers=HX
    ).get_data(as_text=True)
    chosen = f'<option value="{zoo.id}" selected>Zoo de Vincennes (Paris)</option>'
    assert chosen in html
    assert "<html" not in html and "Commune" not in html


def test_the_options_are_for_those_who_edit(as_lecteur, many_clients) -> None:
    assert as_lecteur.get("/clients/choix?recherche_client=zoo", headers=HX).status_code == 403


def test_a_contract_for_a_client_beyond_the_first_ones_is_created_and_edited(
    as_gestionnaire, post, many_clients
) -> None:
    company = factories.make_company(name="Cabinet Durand")
    db.session.commit()
    zoo = many_clients["zoo"]
    page = as_gestionnaire.get("/contrats/nouveau").get_data(as_text=True)
    assert "Zoo de Vincennes" not in page and 'data-testid="client-picker"' in page
    data = {
        "number": "CT-ZOO",
        "client_id": zoo.id,
        "company_id": company.id,
        "product": "Flotte",
        "insurer": "SMACL",
        "starts_on": "2026-01-01",
        "term": "advance",
    }
    response = post("/contrats/nouveau", data)
    assert response.status_code == 302, text(response)
    edit = as_gestionnaire.get(response.headers["Location"] + "/modifier").get_data(as_text=True)
    assert re.search(rf'<option selected value="{zoo.id}">Zoo de Vincennes', edit)


def test_a_fee_invoice_opened_from_a_client_page_has_that_client_chosen(
    as_gestionnaire, many_clients
) -> None:
    zoo = many_clients["zoo"]
    page = as_gestionnaire.get(f"/factures/nouvelle?client_id={zoo.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{zoo.id}">Zoo de Vincennes', page)


def test_the_contract_list_filters_by_client_name_city_or_siret(as_gestionnaire, many_clients):
    factories.make_contract(number="CT-ZOO-1", client=many_clients["zoo"])
    factories.make_contract(number="CT-EAU-1", client=many_clients["late"])
    db.session.commit()

    def numbers(**args: object) -> list[str]:
        page = text(as_gestionnaire.get("/contrats", query_string=args))
        return [n for n in ("CT-EAU-1", "CT-ZOO-1") if n in page]

    assert numbers(client="vincennes") == ["CT-ZOO-1"]
    assert numbers(client="21740010100019") == ["CT-EAU-1"]
    assert numbers(client="paris") == ["CT-ZOO-1"]
    chosen = text(as_gestionnaire.get(f"/contrats?client_id={many_clients['late'].id}"))
    assert "Syndicat des eaux" in chosen and "CT-ZOO-1" not in chosen
