"""Issue 12 (5): a stored Chorus secret never travels to an address it was not typed with.

Changing the environment or a service address on the Système tab requires the client secret
and the technical password again (checked on the server); « Tester la connexion » only uses
what is saved; custom addresses are https, or http to this machine for the emulator.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient

from portal.extensions import db
from portal.settings import chorus, services, store
from tests.factories import csrf_token_from
from tests.settings.helpers import CONNECTION_FORM, SYSTEM_URL, post_system

CONNECTION_TEST_URL = "/administration/chorus/tester-la-connexion"
OLD_SECRET = "ancien-secret-PISTE-unique"
OLD_PASSWORD = "ancien-mot-de-passe-TECH-unique"
NEW_SECRET = "nouveau-secret-PISTE-unique"
NEW_PASSWORD = "nouveau-mot-de-passe-TECH-unique"
EVIL_OAUTH = "https://attaquant.example/token"
EVIL_API = "https://attaquant.example/api"
SANDBOX_OAUTH, SANDBOX_API = chorus.default_urls(chorus.Environment.SANDBOX)


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in chorus.ENV_OVERRIDES.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def stored_sandbox(app: Any) -> None:
    """S1 on, sandbox settings with both secrets stored."""
    store.put_bool(chorus.CHORUS_ENABLED, True)
    store.put(chorus.ENVIRONMENT, chorus.Environment.SANDBOX.value)
    store.put(chorus.CLIENT_ID, "mon-client")
    store.put(chorus.TECH_LOGIN, "TECH_1@cpro.fr")
    store.put(chorus.SUPPLIER_ID, "25000001")
    store.put_secret(chorus.CLIENT_SECRET, OLD_SECRET)
    store.put_secret(chorus.TECH_PASSWORD, OLD_PASSWORD)
    db.session.commit()


def _post_system(client: FlaskClient, **changes: Any):
    """POST the Système tab's connection fields only."""
    return post_system(client, CONNECTION_FORM, **changes)


def _stored_destination() -> chorus.Destination:
    db.session.expire_all()
    return chorus.load().destination


def _secrets_kept() -> bool:
    settings = chorus.load()
    return settings.client_secret == OLD_SECRET and settings.tech_password == OLD_PASSWORD


# -- saving -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"oauth_url": EVIL_OAUTH},
        {"api_url": EVIL_API},
        {"environment": "production"},
        {"environment": "emulator"},
    ],
    ids=["oauth-url", "api-url", "to-production", "to-emulator"],
)
def test_a_new_destination_with_blank_secrets_is_refused_next_to_both_secret_fields(
    as_admin: FlaskClient, stored_sandbox: None, change: dict[str, str]
) -> None:
    response = _post_system(as_admin, client_id="ne-pas-enregistrer", **change)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("Ressaisissez-le") == 2
    assert html.count('class="invalid-feedback">Ressaisissez-le') == 2
    assert OLD_SECRET not in html and OLD_PASSWORD not in html
    assert _stored_destination() == chorus.destination(chorus.Environment.SANDBOX)
    assert store.get(chorus.CLIENT_ID) == "mon-client"  # nothing half-saved
    assert _secrets_kept()


def test_one_secret_typed_again_is_not_enough(as_admin: FlaskClient, stored_sandbox: None) -> None:
    response = _post_system(as_admin, oauth_url=EVIL_OAUTH, client_secret=NEW_SECRET)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("Ressaisissez-le") == 1
    assert _stored_destination().oauth_url == SANDBOX_OAUTH
    assert _secrets_kept()


def test_a_new_destination_is_saved_with_both_secrets_typed_again(
    as_admin: FlaskClient, stored_sandbox: None
) -> None:
    response = _post_system(
        as_admin,
        environment="production",
        oauth_url="https://oauth.example.test/token",
        client_secret=NEW_SECRET,
        tech_password=NEW_PASSWORD,
    )
    assert response.status_code == 303
    settings = chorus.load()
    assert settings.environment is chorus.Environment.PRODUCTION
    assert settings.oauth_url == "https://oauth.example.test/token"
    assert (settings.client_secret, settings.tech_password) == (NEW_SECRET, NEW_PASSWORD)


def test_clearing_the_secrets_also_allows_a_new_destination(
    as_admin: FlaskClient, stored_sandbox: None
) -> None:
    response = _post_system(
        as_admin, api_url=EVIL_API, clear_client_secret="y", clear_tech_password="y"
    )
    assert response.status_code == 303
    settings = chorus.load()
    assert settings.api_url == EVIL_API
    assert settings.client_secret is None and settings.tech_password is None


def test_the_same_destination_keeps_the_secrets_without_typing_them(
    as_admin: FlaskClient, stored_sandbox: None
) -> None:
    # The environment's default addresses typed out are the same destination.
    response = _post_system(
        as_admin, client_id="autre-client", oauth_url=SANDBOX_OAUTH, api_url=SANDBOX_API + "/"
    )
    assert response.status_code == 303
    assert chorus.load().client_id == "autre-client"
    assert _secrets_kept()


def test_without_stored_secrets_the_destination_changes_freely(as_admin: FlaskClient) -> None:
    store.put_bool(chorus.CHORUS_ENABLED, True)
    db.session.commit()
    response = _post_system(as_admin, environment="production", api_url=EVIL_API)
    assert response.status_code == 303
    assert chorus.load().api_url == EVIL_API


def test_a_secret_from_the_environment_pins_the_destination(
    as_admin: FlaskClient, stored_sandbox: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHORUS_CLIENT_SECRET", "secret-de-l-environnement")
    response = _post_system(as_admin, oauth_url=EVIL_OAUTH, tech_password=NEW_PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "vient de la variable d&#39;environnement CHORUS_CLIENT_SECRET" in html
    assert _stored_destination().oauth_url == SANDBOX_OAUTH
    # Given by the environment too, the address is trusted.
    monkeypatch.setenv("CHORUS_OAUTH_URL", "https://oauth.interne.example/token")
    assert _post_system(as_admin, client_id="autre").status_code == 303


def test_validate_system_compares_with_the_stored_destination() -> None:
    current = services.StoredConnection(
        destination=chorus.Destination(
            chorus.Environment.SANDBOX, SANDBOX_OAUTH, SANDBOX_API.rstrip("/")
        ),
        stored_secrets=frozenset({chorus.CLIENT_SECRET, chorus.TECH_PASSWORD}),
    )
    same = services.SystemInput(environment="sandbox")
    assert services.validate_system(same, {}, current=current)[1] == {}
    moved = services.SystemInput(environment="sandbox", oauth_url=EVIL_OAUTH)
    _changes, errors = services.validate_system(moved, {}, current=current)
    assert set(errors) == {"client_secret", "tech_password"}
    typed = services.SystemInput(
        environment="sandbox", oauth_url=EVIL_OAUTH, client_secret="a", tech_password="b"
    )
    assert services.validate_system(typed, {}, current=current)[1] == {}


# -- addresses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "url", "accepted"),
    [
        ("emulator", "http://127.0.0.1:8081", True),
        ("emulator", "http://localhost:8081/", True),
        ("emulator", "http://[::1]:8081", True),
        ("emulator", "https://emulateur.example", True),
        ("emulator", "http://emulateur.example:8081", False),
        ("emulator", "http://10.0.0.5:8081", False),
        ("emulator", "http://127.0.0.1@attaquant.example", False),
        ("sandbox", "https://api.example.test", True),
        ("sandbox", "http://127.0.0.1:8081", False),
        ("production", "https://user:pass@api.example.test", False),
        ("production", "https://api.example.test:notaport", False),
    ],
)
def test_custom_addresses_are_https_or_http_to_this_machine_for_the_emulator(
    environment: str, url: str, accepted: bool
) -> None:
    data = services.SystemInput(environment=environment, api_url=url, oauth_url=url)
    _changes, errors = services.validate_system(data, {})
    assert (errors == {}) is accepted, errors


# -- « Tester la connexion » --------------------------------------------------------------------


def _record_every_call(mock: responses.RequestsMock) -> list[Any]:
    """Answer every Chorus call with 401 and keep what was sent."""
    seen: list[Any] = []

    def refuse(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(request)
        return 401, {"Content-Type": "application/json"}, '{"error": "invalid_client"}'

    for method in (responses.GET, responses.POST):
        mock.add_callback(method, re.compile(r".*"), callback=refuse)
    return seen


def _sent(request: Any) -> str:
    body = request.body or ""
    body = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return " ".join([request.url, body, *(f"{k}: {v}" for k, v in request.headers.items())])


def _run_connection_test(client: FlaskClient, **form: str) -> None:
    token = csrf_token_from(client.get(SYSTEM_URL).get_data(as_text=True))
    response = client.post(CONNECTION_TEST_URL, data={"csrf_token": token, **form})
    assert response.status_code == 303


def test_the_reported_attack_no_longer_sends_the_stored_secret_elsewhere(
    as_admin: FlaskClient, stored_sandbox: None
) -> None:
    # Point the OAuth and API addresses at the attacker, secret fields left blank…
    assert _post_system(as_admin, oauth_url=EVIL_OAUTH, api_url=EVIL_API).status_code == 422
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        seen = _record_every_call(mock)
        # …then « Tester la connexion », even with the unsaved addresses in the request.
        _run_connection_test(as_admin, oauth_url=EVIL_OAUTH, api_url=EVIL_API)
    assert seen, "the test reached the stored (sandbox) address"
    assert all("attaquant.example" not in request.url for request in seen)
    assert {request.url for request in seen} == {SANDBOX_OAUTH}


def test_after_a_change_the_connection_test_sends_only_the_secrets_typed_with_it(
    as_admin: FlaskClient, stored_sandbox: None
) -> None:
    moved = _post_system(
        as_admin,
        oauth_url="https://oauth.example.test/token",
        client_secret=NEW_SECRET,
        tech_password=NEW_PASSWORD,
    )
    assert moved.status_code == 303
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        seen = _record_every_call(mock)
        _run_connection_test(as_admin)
    sent = " ".join(_sent(request) for request in seen)
    assert "oauth.example.test" in sent and NEW_SECRET in sent
    old_account = base64.b64encode(f"TECH_1@cpro.fr:{OLD_PASSWORD}".encode()).decode()
    assert OLD_SECRET not in sent and OLD_PASSWORD not in sent and old_account not in sent
