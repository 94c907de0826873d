"""Clients (S7): list with search and pagination, create / edit with SIRET checks, detail."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.extensions import db
from portal.portfolio.models import Client
from tests import factories
from tests.factories import VALID_SIRET
from tests.portfolio.conftest import client_form, text


def test_a_client_is_created_with_its_siret_without_spaces(as_gestionnaire, post) -> None:
    page = text(as_gestionnaire.get("/clients/nouveau"))
    for label in ("Type de client", "Nom / raison sociale", "Code postal", "SIRET", "E-mail"):
        assert label in page
    response = post("/clients/nouveau", client_form())
    assert response.status_code == 302
    client = db.session.scalar(select(Client))
    assert client.siret == VALID_SIRET
    assert client.kind == "entreprise"
    detail = text(as_gestionnaire.get(response.headers["Location"]))
    assert "Commune de Sceaux" in detail
    assert "Documents (GED)" in detail
    assert "Contrats" in detail


def test_a_client_without_siret_is_accepted(as_gestionnaire, post) -> None:
    response = post("/clients/nouveau", client_form(kind="particulier", siret="", email=""))
    assert response.status_code == 302
    client = db.session.scalar(select(Client))
    assert (client.siret, client.email, client.kind) == (None, None, "particulier")


def test_a_siret_with_a_wrong_checksum_is_refused(as_gestionnaire, post) -> None:
    response = post("/clients/nouveau", client_form(siret="21750001600018"))
    assert response.status_code == 422
    assert "SIRET invalide : la clé de contrôle ne correspond pas." in text(response)
    assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_a_siret_of_13_digits_is_refused(as_gestionnaire, post) -> None:
    response = post("/clients/nouveau", client_form(siret="2175000160001"))
    assert response.status_code == 422
    assert "Le SIRET doit comporter 14 chiffres (13 saisis)." in text(response)
    assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_required_fields_and_formats_are_explained_in_french(as_gestionnaire, post) -> None:
    response = post("/clients/nouveau", client_form(name="", email="pas-un-email", kind="inconnu"))
    assert response.status_code == 422
    page = text(response)
    assert "Saisissez le nom du client." in page
    assert "Adresse e-mail invalide." in page
    assert "choix valide" in page


def test_a_client_is_edited_and_nothing_changes_on_error(as_gestionnaire, post) -> None:
    client = factories.make_client(name="Avant")
    db.session.commit()
    assert "Avant" in text(as_gestionnaire.get(f"/clients/{client.id}/modifier"))
    refused = post(f"/clients/{client.id}/modifier", client_form(name="Après", siret="123"))
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Client, client.id).name == "Avant"
    response = post(f"/clients/{client.id}/modifier", client_form(name="Après"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, client.id).name == "Après"


def test_the_list_searches_by_name_siret_and_city(as_gestionnaire: FlaskClient) -> None:
    factories.make_client(name="Mairie de Lyon", city="Lyon", siret=None)
    factories.make_client(name="Département du Rhône", city="Villeurbanne", siret=VALID_SIRET)
    factories.make_client(name="Boulangerie", city="Paris", siret=None, kind="particulier")
    db.session.commit()

    def names(query: str) -> list[str]:
        page = text(as_gestionnaire.get("/clients", query_string={"q": query}))
        return [n for n in ("Mairie de Lyon", "Département du Rhône", "Boulangerie") if n in page]

    assert names("mairie") == ["Mairie de Lyon"]
    assert names("villeurb") == ["Département du Rhône"]
    assert names("217 500") == ["Département du Rhône"]
    assert names("") == ["Mairie de Lyon", "Département du Rhône", "Boulangerie"]
    assert "Aucun client ne correspond à la recherche." in text(
        as_gestionnaire.get("/clients?q=zzz")
    )
    assert names("%") == []


def test_the_list_is_paginated_and_keeps_the_search(as_gestionnaire: FlaskClient) -> None:
    for i in range(30):
        factories.make_client(name=f"Commune {i:02d}")
    db.session.commit()
    first = text(as_gestionnaire.get("/clients?q=Commune"))
    assert "Commune 00" in first
    assert "Commune 25" not in first
    assert "Page 1 sur 2" in first
    assert "q=Commune&amp;page=2" in first or "page=2&amp;q=Commune" in first
    second = text(as_gestionnaire.get("/clients?q=Commune&page=2"))
    assert "Commune 25" in second
    assert "Commune 00" not in second


def test_an_htmx_search_answers_with_the_table_fragment_only(as_gestionnaire) -> None:
    factories.make_client(name="Mairie de Lyon")
    db.session.commit()
    response = as_gestionnaire.get("/clients?q=lyon", headers={"HX-Request": "true"})
    page = text(response)
    assert page.lstrip().startswith('<div id="clients-results"')
    assert "Mairie de Lyon" in page
    assert "<html" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_the_detail_page_lists_the_client_contracts(as_gestionnaire) -> None:
    client = factories.make_client(name="Commune A")
    factories.make_contract(client=client, number="CT-A1", product="Flotte automobile")
    factories.make_contract(number="CT-OTHER")
    db.session.commit()
    page = text(as_gestionnaire.get(f"/clients/{client.id}"))
    assert "CT-A1" in page
    assert "Flotte automobile" in page
    assert "CT-OTHER" not in page
    assert "Nouveau contrat" in page


def test_s1_shows_chorus_hints_on_the_client_page(as_gestionnaire, chorus_on) -> None:
    client = factories.make_client(siret=None)
    factories.make_contract(client=client)
    db.session.commit()
    page = text(as_gestionnaire.get(f"/clients/{client.id}"))
    assert "SIRET manquant" in page
    assert "Chorus Pro" in page


def test_without_s1_the_client_page_says_nothing_of_chorus(as_gestionnaire) -> None:
    client = factories.make_client(siret=None)
    factories.make_contract(client=client)
    db.session.commit()
    assert "Chorus" not in text(as_gestionnaire.get(f"/clients/{client.id}"))


def test_html_in_client_data_is_escaped(as_gestionnaire) -> None:
    client = factories.make_client(name="<script>alert(1)</script>")
    db.session.commit()
    assert "<script>alert(1)</script>" not in text(as_gestionnaire.get(f"/clients/{client.id}"))
    assert "<script>alert(1)</script>" not in text(as_gestionnaire.get("/clients"))


def test_the_client_form_mentions_chorus_only_with_s1(as_gestionnaire, app) -> None:
    assert "Chorus" not in text(as_gestionnaire.get("/clients/nouveau"))
    from portal.settings import chorus, store

    store.put_bool(chorus.CHORUS_ENABLED, True)
    db.session.commit()
    assert "obligatoire pour dématérialiser dans Chorus Pro" in text(
        as_gestionnaire.get("/clients/nouveau")
    )
