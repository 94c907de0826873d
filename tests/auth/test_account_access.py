"""Who may reach the routes of « Mon compte », the code step and the administrators' second
factor screens (issue 12, 4): every role its own account, administrators only the others."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.auth.models import User
from tests.auth.conftest import login_token, page_token
from tests.auth.totp import ACCOUNT_URL, CODE_URL, DISABLE_URL, ENROL_URL
from tests.conftest import login
from tests.factories import make_user

CHANGE_URL = "/mon-compte/mot-de-passe"
RULE_URL = "/administration/utilisateurs/securite"
ROLES = {"lecture": "lecteur", "gestionnaire": "gestionnaire", "admin": "admin"}


def reset_url(user: User) -> str:
    return f"/administration/utilisateurs/{user.id}/double-authentification"


def test_anonymous_visitors_are_sent_to_the_login(client: FlaskClient) -> None:
    target = make_user("cible", role="lecture")
    for url in (ACCOUNT_URL, ENROL_URL):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion?next=" in response.headers["Location"]
    token = login_token(client)
    for url in (CHANGE_URL, ENROL_URL, DISABLE_URL, RULE_URL, reset_url(target)):
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302, url
        assert "/connexion?next=" in response.headers["Location"], url
    # The code step is public but needs a password step first.
    assert client.get(CODE_URL).headers["Location"] == "/connexion"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_uses_its_own_account_pages(
    request: pytest.FixtureRequest, client: FlaskClient, role: str
) -> None:
    login(client, request.getfixturevalue(ROLES[role]))
    assert client.get(ACCOUNT_URL).status_code == 200
    assert client.get(ENROL_URL).status_code == 200
    token = page_token(client, ACCOUNT_URL)
    # Posts reach the views (never a 403, even read-only): refused for their content only.
    assert client.post(CHANGE_URL, data={"csrf_token": token}).status_code == 422
    assert client.post(ENROL_URL, data={"csrf_token": token, "code": "1"}).status_code == 422
    assert client.post(DISABLE_URL, data={"csrf_token": token}).status_code == 303  # none on
    assert client.get(CODE_URL).headers["Location"] == "/"


@pytest.mark.parametrize("role", ["lecture", "gestionnaire"])
def test_only_admins_reach_the_second_factor_administration(
    request: pytest.FixtureRequest, client: FlaskClient, role: str
) -> None:
    target = make_user("cible", role="lecture")
    login(client, request.getfixturevalue(ROLES[role]))
    token = page_token(client)
    assert client.post(RULE_URL, data={"csrf_token": token}).status_code == 403
    assert client.post(reset_url(target), data={"csrf_token": token}).status_code == 403


def test_admins_reach_the_second_factor_administration(as_admin: FlaskClient) -> None:
    target = make_user("cible", role="lecture")
    token = page_token(as_admin)
    assert as_admin.post(RULE_URL, data={"csrf_token": token}).status_code == 303
    assert as_admin.post(reset_url(target), data={"csrf_token": token}).status_code == 303


def test_every_new_post_needs_a_csrf_token(app: Flask, as_admin: FlaskClient) -> None:
    target = make_user("cible", role="lecture")
    for url in (CHANGE_URL, ENROL_URL, DISABLE_URL, RULE_URL, reset_url(target), CODE_URL):
        assert as_admin.post(url).status_code == 400, url


def test_get_is_refused_on_the_action_routes(as_admin: FlaskClient) -> None:
    target = make_user("cible", role="lecture")
    for url in (CHANGE_URL, DISABLE_URL, RULE_URL, reset_url(target)):
        assert as_admin.get(url).status_code == 405, url
