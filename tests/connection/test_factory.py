"""Building the client from the portal's settings: stored values, env overrides, timeouts."""

from __future__ import annotations

import pytest

from portal.chorus.errors import ChorusConfigurationError
from portal.connection.factory import client_from_settings
from portal.extensions import db
from portal.settings import chorus, store
from tests.chorus.emulator_fixtures import emulator_settings


def _store_demo_settings() -> None:
    store.put(chorus.ENVIRONMENT, "emulator")
    store.put(chorus.CLIENT_ID, "stored-id")
    store.put_secret(chorus.CLIENT_SECRET, "stored-secret")
    store.put(chorus.TECH_LOGIN, "stored-login")
    store.put_secret(chorus.TECH_PASSWORD, "stored-password")
    store.put(chorus.USER_ID, "4242")
    db.session.commit()


def test_the_client_is_built_from_stored_settings_with_the_configured_timeouts(app, monkeypatch):
    monkeypatch.delenv("CHORUS_CLIENT_ID", raising=False)
    monkeypatch.setenv("CHORUS_EMULATOR_URL", "http://127.0.0.1:18081/")
    monkeypatch.setitem(app.config, "CHORUS_CONNECT_TIMEOUT", 2.5)
    monkeypatch.setitem(app.config, "CHORUS_READ_TIMEOUT", 42)
    _store_demo_settings()
    client = client_from_settings()
    assert client.client_id == "stored-id"
    assert client.tech_login == "stored-login"
    assert client.user_id == 4242
    assert client.api_url == "http://127.0.0.1:18081"
    assert client.oauth_url == "http://127.0.0.1:18081/api/oauth/token"
    assert client.timeouts == (2.5, 42.0)
    assert "stored-secret" not in repr(client)
    client.close()


def test_environment_variables_win_over_stored_settings(app, monkeypatch):
    _store_demo_settings()
    monkeypatch.setenv("CHORUS_CLIENT_ID", "env-id")
    monkeypatch.setenv("CHORUS_API_URL", "https://api.example.test")
    client = client_from_settings()
    assert client.client_id == "env-id"
    assert client.api_url == "https://api.example.test"
    client.close()


def test_missing_credentials_are_a_configuration_error_listing_them(app, monkeypatch):
    for variable in chorus.ENV_OVERRIDES.values():
        monkeypatch.delenv(variable, raising=False)
    store.put(chorus.CLIENT_ID, "only-the-id")
    db.session.commit()
    with pytest.raises(ChorusConfigurationError) as caught:
        client_from_settings()
    message = str(caught.value)
    assert "Client secret PISTE" in message
    assert "Mot de passe du compte technique" in message
    assert "Identifiant fournisseur" not in message


def test_explicit_settings_need_no_application_context(chorus_emulator):
    client = client_from_settings(emulator_settings(chorus_emulator))
    assert client.timeouts == (5.0, 60.0)
    assert client.health_check().ok
    client.close()


def test_the_default_token_cache_is_shared_between_clients(chorus_emulator):
    first = client_from_settings(emulator_settings(chorus_emulator))
    second = client_from_settings(emulator_settings(chorus_emulator))
    first.health_check()
    second.health_check()
    assert chorus_emulator.state.stats.calls["token"] <= 1
    first.close()
    second.close()
