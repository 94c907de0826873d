"""B4 « Récupérer l'identifiant fournisseur »: one structure, several, none; picking stores it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests.connection.conftest import text
from tests.sending.conftest import configure_chorus

URL = "/administration/chorus/identifiant-fournisseur"
SYSTEM_URL = "/administration/parametres/systeme"
FAKE = "http://chorus.test"
SUPPLIERS_PATH = "/cpro/transverses/v1/recuperer/structures/actives/fournisseur"


@pytest.fixture
def fake_chorus(app, short_timeouts) -> Iterator[responses.RequestsMock]:
    """Settings aimed at a mocked Chorus (answers set by each test)."""
    configure_chorus(FAKE)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{FAKE}/api/oauth/token", json={"access_token": "jeton", "expires_in": 3600})
        yield mock


def _structures(mock: responses.RequestsMock, rows: list[dict], code: int = 0) -> None:
    mock.post(
        f"{FAKE}{SUPPLIERS_PATH}", json={"codeRetour": code, "libelle": "", "listeStructures": rows}
    )


def test_b4_the_system_tab_offers_the_supplier_lookup(as_admin, chorus) -> None:
    html = text(as_admin.get(SYSTEM_URL))
    assert 'data-testid="chorus-supplier-lookup-button"' in html
    assert "Récupérer l'identifiant fournisseur" in html


def test_b4_one_structure_is_offered_in_one_click(as_admin, chorus) -> None:
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    html = text(as_admin.get(URL, headers={"HX-Request": "true"}))
    assert "Utiliser 25000001 — Cabinet Dupont &amp; Associés Courtage" in html
    assert "&#34;structure_id&#34;: 25000001" in html or '"structure_id": 25000001' in html


def test_b4_the_structure_already_stored_is_confirmed_instead_of_offered(as_admin, chorus) -> None:
    html = text(as_admin.get(URL, headers={"HX-Request": "true"}))
    assert 'data-testid="chorus-supplier-current"' in html
    assert "Utiliser 25000001" not in html


def test_b4_several_structures_are_listed_to_pick_from(as_admin, fake_chorus) -> None:
    _structures(
        fake_chorus,
        [
            {
                "idStructureCPP": 25000001,
                "designationStructure": "Cabinet Dupont",
                "identifiant": "80283822726464",
            },
            {"idStructureCPP": 25000002, "designationStructure": "Dupont Outre-mer"},
        ],
    )
    html = text(as_admin.get(URL, headers={"HX-Request": "true"}))
    assert 'data-testid="chorus-supplier-choices"' in html
    assert "25000001 — Cabinet Dupont (SIRET 80283822726464)" in html
    assert "25000002 — Dupont Outre-mer" in html
    assert html.count('data-testid="chorus-supplier-use"') == 2


def test_b4_no_structure_is_explained(as_admin, fake_chorus) -> None:
    _structures(fake_chorus, [], code=20000)
    html = text(as_admin.get(URL, headers={"HX-Request": "true"}))
    assert 'data-testid="chorus-supplier-none"' in html
    assert "aucune structure fournisseur active" in html


def test_b4_a_chorus_failure_is_shown_in_french(as_admin, chorus_down) -> None:
    html = text(as_admin.get(URL, headers={"HX-Request": "true"}))
    assert "Recherche impossible." in html
    assert "injoignable" in html


def test_b4_picking_a_structure_stores_the_supplier_id_and_fills_the_input(
    as_admin, post, chorus
) -> None:
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    response = post(URL, {"structure_id": "25000001"})
    html = text(response)
    assert response.status_code == 200
    assert "Identifiant fournisseur <strong>25000001</strong> enregistré." in html
    assert 'data-fill-target="supplier_id" data-fill-value="25000001"' in html
    db.session.expire_all()
    assert store.get(keys.SUPPLIER_ID) == "25000001"


def test_b4_picking_without_htmx_redirects_to_the_tab_with_a_message(
    as_admin, post, chorus
) -> None:
    response = post(URL, {"structure_id": "25000002"}, htmx=False)
    assert response.status_code == 303
    db.session.expire_all()
    assert store.get(keys.SUPPLIER_ID) == "25000002"
    assert "Identifiant fournisseur 25000002 enregistré." in text(as_admin.get(SYSTEM_URL))


@pytest.mark.parametrize("value", ["", "abc", "0", "1234567890123456789"])
def test_b4_picking_an_invalid_id_is_refused(as_admin, post, chorus, value) -> None:
    html = text(post(URL, {"structure_id": value}))
    assert "Choisissez une structure de la liste." in html
    db.session.expire_all()
    assert store.get(keys.SUPPLIER_ID) == "25000001"


def test_b4_picking_is_refused_when_the_environment_sets_the_supplier_id(
    as_admin, post, chorus, monkeypatch
) -> None:
    monkeypatch.setenv("CHORUS_SUPPLIER_ID", "25000009")
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    html = text(post(URL, {"structure_id": "25000001"}))
    assert "variable d&#39;environnement CHORUS_SUPPLIER_ID" in html
    assert "lecture seule" in html
    assert "data-fill-target" not in html
    db.session.expire_all()
    assert store.get(keys.SUPPLIER_ID) is None


def test_b4_the_lookup_explains_the_read_only_id_under_an_environment_override(
    as_admin, chorus, monkeypatch
) -> None:
    monkeypatch.setenv("CHORUS_SUPPLIER_ID", "25000001")
    html = text(as_admin.get(URL, headers={"HX-Request": "true"}))
    assert 'data-testid="chorus-supplier-overridden"' in html
    assert "CHORUS_SUPPLIER_ID" in html
    assert 'data-testid="chorus-supplier-use"' not in html
    assert "25000001 — Cabinet Dupont &amp; Associés Courtage" in html
