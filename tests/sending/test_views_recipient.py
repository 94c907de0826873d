"""Recipient checks on the contract page (B3): cached structure, rules, services, refresh."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal.dematerialization import recipients
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.sending.conftest import SIRET_PAID, sendable_contract
from tests.sending.view_helpers import enable_chorus, post


def text(response) -> str:
    return response.get_data(as_text=True)


def contract_page(client: FlaskClient, contract) -> str:
    response = client.get(f"/contrats/{contract.id}")
    assert response.status_code == 200
    return text(response)


def test_b3_an_unchecked_recipient_says_so_and_offers_the_check(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    contract = sendable_contract()
    db.session.commit()

    html = contract_page(as_gestionnaire, contract)

    assert 'data-testid="recipient-unchecked"' in html
    assert f'hx-post="/dematerialisation/contrats/{contract.id}/verifier"' in html


def test_b3_checking_in_chorus_caches_the_structure_and_shows_rules_and_services(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    contract = sendable_contract()
    db.session.commit()

    response = post(
        as_gestionnaire,
        f"/dematerialisation/contrats/{contract.id}/verifier",
        headers={"HX-Request": "true"},
    )

    html = text(response)
    assert response.status_code == 200
    assert "<html" not in html and f'id="contract-recipient-{contract.id}"' in html
    assert 'data-testid="recipient-refreshed"' in html
    assert "Commune de Saint-Aubin-sur-Loire" in html
    assert "26000100" in html and "Active" in html
    assert "Aucune règle particulière" in html
    # Active services only, never FACTURES_PUBLIQUES; only the contract's one is consulted.
    assert "FINANCES" in html and "TECHNIQUE" in html
    assert "ANCIEN-SVC" not in html and "FACTURES_PUBLIQUES" not in html
    technique = html[html.index(">TECHNIQUE<") :]
    assert "N° d'engagement obligatoire" not in technique[: technique.index("</tr>")]
    assert 'data-testid="service-not-consulted"' not in html
    assert "Utilisé par ce contrat" in html  # FINANCES
    assert chorus.state.stats_snapshot()["calls"]["structures/consulter/service"] == 1
    assert 'data-testid="use-service-TECHNIQUE"' in html
    structure = recipients.cached(SIRET_PAID)
    assert structure is not None and structure.refreshed_at is not None
    assert 'data-testid="recipient-refreshed-at"' in contract_page(as_gestionnaire, contract)


def test_b3_using_a_service_sets_the_contract_service_code(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    contract = sendable_contract()
    db.session.commit()
    post(as_gestionnaire, f"/dematerialisation/contrats/{contract.id}/verifier")

    response = post(
        as_gestionnaire,
        f"/dematerialisation/contrats/{contract.id}/service",
        {"code": "TECHNIQUE"},
        follow_redirects=True,
    )
    refused = post(
        as_gestionnaire,
        f"/dematerialisation/contrats/{contract.id}/service",
        {"code": "ANCIEN-SVC"},
        follow_redirects=True,
    )

    assert "Code service « TECHNIQUE » enregistré" in text(response)
    assert "n&#39;est pas un service actif" in text(refused)
    db.session.refresh(contract)
    assert contract.chorus_service_code == "TECHNIQUE"


def test_b3_checking_again_consults_the_service_the_contract_now_uses(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    contract = sendable_contract()
    db.session.commit()
    url = f"/dematerialisation/contrats/{contract.id}/verifier"
    post(as_gestionnaire, url)
    use_service = f"/dematerialisation/contrats/{contract.id}/service"
    post(as_gestionnaire, use_service, {"code": "TECHNIQUE"})

    before = contract_page(as_gestionnaire, contract)
    html = text(post(as_gestionnaire, url, headers={"HX-Request": "true"}))

    # Chosen but not consulted yet: said so, never shown as "no engagement number needed".
    assert 'data-testid="service-not-consulted"' in before
    technique = html[html.index(">TECHNIQUE<") :]
    assert "N° d'engagement obligatoire" in technique[: technique.index("</tr>")]
    calls = chorus.state.stats_snapshot()["calls"]
    assert calls["structures/rechercher"] == 2 and calls["structures/consulter/service"] == 2


def test_b3_a_chorus_error_is_shown_in_french_and_remembered(
    as_gestionnaire: FlaskClient, chorus
) -> None:
    contract = sendable_contract()
    db.session.commit()
    post(as_gestionnaire, f"/dematerialisation/contrats/{contract.id}/verifier")
    store.put_secret(keys.CLIENT_SECRET, "mauvais-secret")
    db.session.commit()
    chorus.state.reset()  # tokens issued so far are forgotten

    response = post(
        as_gestionnaire,
        f"/dematerialisation/contrats/{contract.id}/verifier",
        headers={"HX-Request": "true"},
    )

    html = text(response)
    assert 'data-testid="recipient-error"' in html
    assert "mauvais-secret" not in html
    db.session.expire_all()
    structure = recipients.cached(SIRET_PAID)
    assert structure is not None and structure.last_error
    assert 'data-testid="recipient-last-error"' in html


def test_b3_no_check_without_siret_or_for_a_private_person(as_gestionnaire: FlaskClient) -> None:
    enable_chorus()
    no_siret = factories.make_contract(client=factories.make_client(siret=None))
    person = factories.make_contract(client=factories.make_client(kind="particulier"))
    db.session.commit()

    assert "n&#39;a pas de SIRET" in contract_page(as_gestionnaire, no_siret)
    html = contract_page(as_gestionnaire, person)
    assert "n&#39;est pas de type Entreprise" in html
    assert "Vérifier dans Chorus Pro" not in html


def test_b3_readers_see_the_panel_without_actions(as_lecteur: FlaskClient) -> None:
    enable_chorus()
    contract = factories.make_contract()
    factories.make_recipient(contract.client.siret)
    db.session.commit()

    html = contract_page(as_lecteur, contract)

    assert "Commune de test" in html
    assert "Vérifier dans Chorus Pro" not in html and "Utiliser ce service" not in html
    url = f"/dematerialisation/contrats/{contract.id}/verifier"
    assert post(as_lecteur, url).status_code == 403


def test_s1_off_no_recipient_panel(as_gestionnaire: FlaskClient) -> None:
    enable_chorus(False)
    contract = factories.make_contract()
    db.session.commit()

    assert 'data-testid="contract-recipient"' not in contract_page(as_gestionnaire, contract)
    url = f"/dematerialisation/contrats/{contract.id}/verifier"
    assert post(as_gestionnaire, url).status_code == 404
