"""Paramètres, onglets Assurances (S1) et Système (S2–S4, S15): validation, secrets, overrides."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.extensions import db
from portal.settings import chorus, reference_lists, services, store
from portal.settings.models import Setting
from tests.factories import csrf_token_from
from tests.settings.helpers import SYSTEM_URL, enable_chorus, post_system

INSURANCE_URL = "/administration/parametres"
CLIENT_SECRET = "s3cr3t-PISTE-valeur-unique"
TECH_PASSWORD = "mot-de-passe-TECH-unique"


def _all_pages(client: FlaskClient) -> str:
    return "".join(
        client.get(url).get_data(as_text=True)
        for url in (SYSTEM_URL, INSURANCE_URL, "/administration/", "/")
    )


# -- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [INSURANCE_URL, SYSTEM_URL, "/administration/"])
def test_lecture_and_gestionnaire_get_403_on_settings(
    client: FlaskClient, gestionnaire, lecteur, url: str
) -> None:
    from tests.conftest import login

    for user in (gestionnaire, lecteur):
        login(client, user)
        assert client.get(url).status_code == 403
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        if url != "/administration/":
            assert client.post(url, data={"csrf_token": token}).status_code == 403
        client.post("/deconnexion", data={"csrf_token": token})


def test_the_admin_index_links_to_settings_users_and_recipients(as_admin: FlaskClient) -> None:
    html = as_admin.get("/administration/").get_data(as_text=True)
    assert 'href="/administration/parametres"' in html
    assert 'href="/administration/utilisateurs"' in html
    assert 'href="/administration/destinataires"' in html
    assert "Destinataires et déclencheurs des tâches" in html


# -- S1 -----------------------------------------------------------------------------------------


def test_s1_the_switch_is_on_the_assurances_tab_and_is_saved(as_admin: FlaskClient) -> None:
    page = as_admin.get(INSURANCE_URL).get_data(as_text=True)
    assert "Activer la dématérialisation de facture" in page
    assert 'class="nav nav-tabs' in page and 'href="/administration/parametres/systeme"' in page
    token = csrf_token_from(page)
    response = as_admin.post(INSURANCE_URL, data={"csrf_token": token, "chorus_enabled": "y"})
    assert response.status_code == 303
    assert chorus.is_chorus_enabled()
    as_admin.post(INSURANCE_URL, data={"csrf_token": token})
    assert not chorus.is_chorus_enabled()


def test_s1_off_hides_the_whole_chorus_block(as_admin: FlaskClient) -> None:
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert 'data-testid="chorus-disabled-note"' in html
    assert "onglet" in html and 'href="/administration/parametres"' in html
    for hidden in (
        'name="client_secret"',
        'name="client_id"',
        "chorus-connection-test",
        "Client ID",
    ):
        assert hidden not in html


def test_s1_off_a_system_post_changes_nothing(as_admin: FlaskClient) -> None:
    response = post_system(as_admin)
    assert response.status_code == 303
    assert store.get(chorus.CLIENT_ID) is None


def test_s1_on_shows_the_connection_form_and_the_marked_spots(as_admin: FlaskClient) -> None:
    enable_chorus()
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    for expected in (
        'id="chorus-connection-test"',
        'id="chorus-supplier-lookup"',
        'id="chorus-health"',
        "Identifiant utilisateur courant",
        "Identifiant fournisseur",
        chorus.ENVIRONMENT_LABELS[chorus.Environment.SANDBOX],
        chorus.ENVIRONMENT_LABELS[chorus.Environment.EMULATOR],
        "Ne pas dématérialiser automatiquement",
        "Délai en jours pour la dématérialisation automatique des primes",
    ):
        assert expected in html, expected


def test_s15_the_system_tab_warns_that_the_chorus_date_is_the_sending_date(
    as_admin: FlaskClient,
) -> None:
    enable_chorus()
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert 'data-testid="chorus-date-warning"' in html
    assert "date d'envoi" in html


# -- saving and secrets -------------------------------------------------------------------------


def test_s2_valid_settings_are_saved_and_loaded(as_admin: FlaskClient) -> None:
    enable_chorus()
    reference_lists.save(
        reference_lists.VAT_EXEMPTION_REASONS,
        [("ASSURANCE_261C", "Opérations d'assurance")],
        api_url=chorus.load().api_url,
    )
    db.session.commit()
    response = post_system(
        as_admin,
        client_secret=CLIENT_SECRET,
        tech_password=TECH_PASSWORD,
        user_id="123456",
        delay_fee_invoices="0",
        vat_exemption_code="ASSURANCE_261C",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    settings = chorus.load()
    assert settings.environment is chorus.Environment.SANDBOX
    assert settings.client_id == "mon-client"
    assert settings.client_secret == CLIENT_SECRET
    assert settings.tech_password == TECH_PASSWORD
    assert settings.supplier_id == 25000001
    assert settings.user_id == 123456
    assert settings.auto_send_enabled
    assert settings.delay_receipts_days == 30
    assert settings.delay_fee_invoices_days == 0
    assert settings.cutoff_date.isoformat() == "2026-01-31"
    assert (settings.vat_exemption_code, settings.vat_exemption_label) == (
        "ASSURANCE_261C",
        "Opérations d'assurance",
    )
    assert settings.is_connection_complete


def test_s2_secrets_never_appear_in_html_nor_in_clear_in_the_database(
    as_admin: FlaskClient,
) -> None:
    enable_chorus()
    post_system(as_admin, client_secret=CLIENT_SECRET, tech_password=TECH_PASSWORD)
    html = _all_pages(as_admin)
    assert CLIENT_SECRET not in html and TECH_PASSWORD not in html
    assert "•••• enregistré" in html
    # a form re-rendered with errors does not echo them either
    failed = post_system(
        as_admin, client_secret=CLIENT_SECRET, tech_password=TECH_PASSWORD, delay_receipts="x"
    ).get_data(as_text=True)
    assert CLIENT_SECRET not in failed and TECH_PASSWORD not in failed
    stored = " ".join(row.value or "" for row in db.session.scalars(select(Setting)))
    assert CLIENT_SECRET not in stored and TECH_PASSWORD not in stored
    assert store.get(chorus.CLIENT_SECRET).startswith("gAAAA")  # a Fernet token


def test_s2_an_empty_secret_input_keeps_the_stored_value(as_admin: FlaskClient) -> None:
    enable_chorus()
    post_system(as_admin, client_secret=CLIENT_SECRET, tech_password=TECH_PASSWORD)
    post_system(as_admin, client_id="autre-client")
    settings = chorus.load()
    assert settings.client_id == "autre-client"
    assert settings.client_secret == CLIENT_SECRET
    assert settings.tech_password == TECH_PASSWORD


def test_s2_the_effacer_checkbox_clears_a_secret(as_admin: FlaskClient) -> None:
    enable_chorus()
    post_system(as_admin, client_secret=CLIENT_SECRET, tech_password=TECH_PASSWORD)
    response = post_system(as_admin, clear_client_secret="y")
    assert response.status_code == 303
    assert chorus.load().client_secret is None
    assert chorus.load().tech_password == TECH_PASSWORD
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert "non renseigné" in html


def test_s2_a_new_secret_and_effacer_together_are_refused(as_admin: FlaskClient) -> None:
    enable_chorus()
    response = post_system(as_admin, client_secret="nouveau", clear_client_secret="y")
    assert response.status_code == 422
    assert "pas les deux" in response.get_data(as_text=True)
    assert store.get(chorus.CLIENT_SECRET) is None


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "3 jours"])
def test_s3_a_delay_that_is_not_a_whole_number_is_refused_in_french(
    as_admin: FlaskClient, bad: str
) -> None:
    enable_chorus()
    response = post_system(as_admin, delay_receipts=bad, client_id="ne-pas-enregistrer")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert services.DELAY_ERROR in html
    assert store.get(chorus.CLIENT_ID) is None  # nothing half-saved


def test_s3_empty_delays_mean_zero(as_admin: FlaskClient) -> None:
    enable_chorus()
    post_system(as_admin, delay_receipts="", delay_fee_invoices="")
    settings = chorus.load()
    assert settings.delay_receipts_days == 0 and settings.delay_fee_invoices_days == 0
    assert store.get(chorus.DELAY_RECEIPTS) is None


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        pytest.param(
            "user_id",
            "12a4",
            "ne contient que des chiffres",
            id="s2_the_current_user_id_accepts_digits_only",
        ),
        pytest.param(
            "supplier_id",
            "ABC",
            "L&#39;identifiant fournisseur ne contient que des chiffres.",
            id="s2_the_supplier_id_accepts_digits_only",
        ),
        pytest.param(
            "cutoff_date",
            "31/02/2026",
            "Date invalide",
            id="s4_an_invalid_cutoff_date_is_refused_in_french",
        ),
    ],
)
def test_a_system_field_typed_wrong_is_refused_in_french(
    as_admin: FlaskClient, field: str, typed: str, message: str
) -> None:
    enable_chorus()
    response = post_system(as_admin, **{field: typed})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_s4_the_cutoff_date_accepts_the_french_format_too(as_admin: FlaskClient) -> None:
    enable_chorus()
    post_system(as_admin, cutoff_date="15/11/2021")
    assert chorus.load().cutoff_date.isoformat() == "2021-11-15"


def test_url_overrides_must_be_https_outside_the_emulator(as_admin: FlaskClient) -> None:
    enable_chorus()
    response = post_system(as_admin, environment="production", api_url="http://api.example")
    assert response.status_code == 422
    assert "https://" in response.get_data(as_text=True)
    assert (
        post_system(as_admin, environment="emulator", api_url="http://127.0.0.1:9000/").status_code
        == 303
    )
    assert chorus.load().api_url == "http://127.0.0.1:9000"


def test_validate_system_is_pure_and_reports_every_error() -> None:
    data = services.SystemInput(
        environment="nulle-part",
        user_id="x",
        delay_receipts="-2",
        delay_fee_invoices="abc",
        cutoff_date="demain",
        oauth_url="ftp://x",
    )
    changes, errors = services.validate_system(data, {})
    assert changes is None
    assert set(errors) == {
        "environment",
        "user_id",
        "delay_receipts",
        "delay_fee_invoices",
        "cutoff_date",
        "oauth_url",
    }
    assert errors["delay_receipts"] == services.DELAY_ERROR


def test_validate_system_ignores_overridden_fields() -> None:
    data = services.SystemInput(environment="emulator", client_id="saisi", supplier_id="x")
    changes, errors = services.validate_system(
        data, {chorus.CLIENT_ID: "env", chorus.SUPPLIER_ID: "1"}
    )
    assert errors == {}
    assert chorus.CLIENT_ID not in changes.values
    assert chorus.SUPPLIER_ID not in changes.values


# -- environment overrides ----------------------------------------------------------------------


def system_page_under(
    monkeypatch: pytest.MonkeyPatch, as_admin: FlaskClient, variable: str, value: str
) -> str:
    """The Système tab (S1 on) while the environment variable ``variable`` is ``value``."""
    enable_chorus()
    monkeypatch.setenv(variable, value)
    return as_admin.get(SYSTEM_URL).get_data(as_text=True)


def test_s2_an_environment_variable_wins_and_is_read_only(
    as_admin: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = system_page_under(monkeypatch, as_admin, "CHORUS_CLIENT_ID", "client-de-l-environnement")
    assert "défini par la variable d'environnement CHORUS_CLIENT_ID" in html
    assert 'value="client-de-l-environnement" disabled' in html
    assert 'name="client_id"' not in html
    post_system(as_admin, client_id="saisi-dans-le-formulaire")
    assert store.get(chorus.CLIENT_ID) is None
    assert chorus.load().client_id == "client-de-l-environnement"


def test_s2_a_secret_from_the_environment_is_never_shown(
    as_admin: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "secret-venant-de-l-environnement"
    html = system_page_under(monkeypatch, as_admin, "CHORUS_TECH_PASSWORD", secret)
    assert secret not in html
    assert "défini par l'environnement" in html
    assert "CHORUS_TECH_PASSWORD" in html
    post_system(as_admin, tech_password="tentative")
    assert store.get(chorus.TECH_PASSWORD) is None


def test_s2_an_environment_override_of_the_environment_drives_the_url_rule(
    as_admin: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = system_page_under(monkeypatch, as_admin, "CHORUS_ENV", "production")
    assert 'value="Production" disabled' in html
    response = post_system(as_admin, environment="emulator", oauth_url="http://x.example")
    assert response.status_code == 422
    assert store.get(chorus.ENVIRONMENT) is None


def test_an_unreadable_secret_does_not_break_the_pages(as_admin: FlaskClient) -> None:
    enable_chorus()
    store.put(chorus.CLIENT_SECRET, "gAAAAAnot-a-valid-token")
    db.session.commit()
    assert chorus.load().client_secret is None
    assert chorus.load().unreadable_secrets == {chorus.CLIENT_SECRET}
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert "illisible" in html
    assert as_admin.get("/").status_code == 200
