"""B5 « Tester la connexion » on the Système tab: every step in French, never a secret."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest

from portal.chorus.emulator.operations import VAT_EXEMPTION_REASONS
from portal.connection import health
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import reference_lists, store
from tests.chorus.emulator_fixtures import CLIENT_SECRET, TECH_PASSWORD
from tests.connection.conftest import text

URL = "/administration/chorus/tester-la-connexion"
SYSTEM_URL = "/administration/parametres/systeme"


def _steps(html: str) -> list[str]:
    return [
        part.split('"', 1)[0] for part in html.split('data-testid="chorus-step" data-status="')[1:]
    ]


def test_b5_the_system_tab_offers_the_connection_test_while_s1_is_on(as_admin, chorus) -> None:
    html = text(as_admin.get(SYSTEM_URL))
    assert 'data-testid="chorus-connection-test-button"' in html
    assert "Tester la connexion" in html
    assert f'hx-post="{URL}"' in html


def test_b5_a_working_connection_passes_every_step_and_shows_no_secret(
    as_admin, post, chorus
) -> None:
    response = post(URL)
    html = text(response)
    assert response.status_code == 200
    assert "Connexion à Chorus Pro réussie." in html
    assert _steps(html) == ["ok", "ok", "ok", "ok"]
    assert "Jeton d&#39;accès PISTE" in html
    assert "Structure 25000001 « Cabinet Dupont &amp; Associés Courtage » trouvée." in html
    assert "valable jusqu&#39;au 30/06/2027" in html
    assert CLIENT_SECRET not in html and TECH_PASSWORD not in html
    assert response.headers["Vary"] == "HX-Request" or "HX-Request" in response.headers["Vary"]


def test_b5_the_test_stores_the_password_expiry_and_refreshes_the_health_panel(
    as_admin, post, chorus
) -> None:
    html = text(post(URL))
    db.session.expire_all()
    assert store.get_date(health.PASSWORD_EXPIRES_ON) == date(2027, 6, 30)
    assert store.get(health.PASSWORD_CHECKED_AT)
    assert store.get(health.LAST_SUCCESS_AT)
    assert '<div id="chorus-health" hx-swap-oob="true">' in html
    assert "Expire le <strong>30/06/2027</strong>" in html


def test_b5_a_wrong_piste_secret_fails_at_the_token_step_with_the_authentication_message(
    as_admin, post, chorus
) -> None:
    store.put_secret(keys.CLIENT_SECRET, "secret-faux-123")
    db.session.commit()
    html = text(post(URL))
    assert _steps(html) == ["failed", "skipped", "skipped", "skipped"]
    assert "Échec de la connexion à Chorus Pro" in html
    assert "a refusé le client ID ou le secret" in html
    assert "Non testé" in html
    assert "secret-faux-123" not in html and CLIENT_SECRET not in html
    db.session.expire_all()
    assert "client ID ou le secret" in store.get(health.LAST_ERROR)
    assert store.get(health.LAST_ERROR_AT)


def test_b5_a_wrong_technical_password_fails_with_the_technical_account_message(
    as_admin, post, chorus
) -> None:
    store.put_secret(keys.TECH_PASSWORD, "mauvais-mot-de-passe")
    db.session.commit()
    html = text(post(URL))
    steps = _steps(html)
    assert steps[0] == "ok"
    assert "failed" in steps[1:]
    assert "vérifiez le login et le mot de" in html
    assert "mauvais-mot-de-passe" not in html and TECH_PASSWORD not in html


def test_b5_an_unreachable_chorus_is_reported_as_unavailable(as_admin, post, chorus_down) -> None:
    html = text(post(URL))
    assert _steps(html) == ["failed", "skipped", "skipped", "skipped"]
    assert "est injoignable (connexion impossible)" in html
    assert CLIENT_SECRET not in html and TECH_PASSWORD not in html
    db.session.expire_all()
    assert "injoignable" in store.get(health.LAST_ERROR)


def test_b5_missing_credentials_are_listed_in_french_without_calling_chorus(
    as_admin, post, chorus
) -> None:
    store.put(keys.CLIENT_SECRET, None)
    store.put(keys.TECH_LOGIN, None)
    db.session.commit()
    html = text(post(URL))
    assert 'data-testid="chorus-connection-configuration"' in html
    assert "Paramètres de connexion Chorus Pro incomplets" in html
    assert "Client secret PISTE" in html and "Login du compte technique" in html
    assert chorus.state.stats.calls.get("token", 0) == 0


@pytest.mark.parametrize(
    ("key", "steps", "messages"),
    [
        pytest.param(
            keys.SUPPLIER_ID,
            ["ok", "ok", "failed", "ok"],
            ["L'identifiant fournisseur n'est pas renseigné"],
            id="b5_a_missing_supplier_id_fails_the_supplier_step_only",
        ),
        pytest.param(
            keys.VAT_EXEMPTION_CODE,
            ["ok", "ok", "ok", "failed"],
            [
                "Aucun motif n'est choisi (4 proposés par Chorus Pro)",
                "« Choisir parmi les motifs de Chorus Pro »",
                'data-testid="chorus-health-vat-exemption" data-warning="true"',
            ],
            id="no_vat_exemption_code_fails_its_step_and_says_what_to_do",
        ),
    ],
)
def test_b5_a_missing_setting_fails_its_step_only_and_says_what_to_do(
    as_admin, post, chorus, key, steps, messages
) -> None:
    store.put(key, None)
    db.session.commit()
    html = unescape(text(post(URL)))
    assert _steps(html) == steps
    for message in messages:
        assert message in html


def test_the_test_checks_the_vat_exemption_code_is_in_chorus_list_and_stores_the_list(
    as_admin, post, chorus
) -> None:
    html = unescape(text(post(URL)))
    assert "Le motif « ASSURANCE_261C » (Opérations d'assurance" in html
    db.session.expire_all()
    stored = reference_lists.load(
        reference_lists.VAT_EXEMPTION_REASONS, api_url=keys.load().api_url
    )
    assert stored.codes == {code for code, _label in VAT_EXEMPTION_REASONS}


def test_a_code_chorus_no_longer_lists_fails_its_step_and_the_health_panel_warns(
    as_admin, post, chorus
) -> None:
    store.put(keys.VAT_EXEMPTION_CODE, "ANCIEN_MOTIF")
    db.session.commit()
    html = unescape(text(post(URL)))
    assert _steps(html)[-1] == "failed"
    assert "Le motif « ANCIEN_MOTIF » n'est plus dans la liste de Chorus Pro" in html
    page = unescape(text(as_admin.get(SYSTEM_URL)))
    assert 'data-testid="vat-exemption-problem"' in page
    assert "« ANCIEN_MOTIF » n'est plus dans la liste de Chorus Pro" in page


def test_b5_without_htmx_the_test_flashes_its_summary_and_returns_to_the_tab(
    as_admin, post, chorus
) -> None:
    response = post(URL, htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(SYSTEM_URL)
    assert "Connexion à Chorus Pro réussie." in text(as_admin.get(SYSTEM_URL))
