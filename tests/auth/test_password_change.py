"""« Mon compte »: a user changes their own password (issue 12, 4)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth.models import LoginEvent, LoginOutcome, LoginThrottle, ThrottleKind
from portal.extensions import db
from tests.auth.conftest import page_token, try_login
from tests.auth.test_sessions import copy_of, is_logged_in
from tests.auth.totp import ACCOUNT_URL
from tests.conftest import PASSWORD, login

CHANGE_URL = "/mon-compte/mot-de-passe"
NEW_PASSWORD = "cheval-agrafe-pile"


def change(client: FlaskClient, **fields: str) -> Any:
    data = {"current_password": PASSWORD, "password": NEW_PASSWORD}
    data.update(fields)
    data.setdefault("password_confirm", data["password"])
    return client.post(CHANGE_URL, data={"csrf_token": page_token(client, ACCOUNT_URL), **data})


def account_failures(username: str) -> int:
    db.session.expire_all()
    row = db.session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.kind == ThrottleKind.ACCOUNT, LoginThrottle.subject == username
        )
    )
    return row.failures if row else 0


@pytest.mark.parametrize("role", ["lecture", "gestionnaire", "admin"])
def test_every_role_changes_its_own_password(
    request: pytest.FixtureRequest, client: FlaskClient, role: str
) -> None:
    user = request.getfixturevalue({"lecture": "lecteur"}.get(role, role))
    login(client, user)
    page = client.get(ACCOUNT_URL)
    assert page.status_code == 200
    assert "Changer le mot de passe" in page.get_data(as_text=True)
    response = change(client)
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)


def test_the_user_menu_links_to_my_account(as_lecteur: FlaskClient) -> None:
    assert 'href="/mon-compte/"' in as_lecteur.get("/").get_data(as_text=True)


def test_a_change_keeps_this_session_and_ends_the_others(
    app: Flask, client: FlaskClient, gestionnaire
) -> None:
    login(client, gestionnaire)
    thief = copy_of(app, client)
    other_browser = login(app.test_client(), gestionnaire)
    response = change(client)
    assert response.status_code == 303
    follow = client.get(response.headers["Location"])
    assert "Vos autres sessions ont été fermées." in follow.get_data(as_text=True)
    assert is_logged_in(client)
    assert not is_logged_in(other_browser)
    assert not is_logged_in(thief)
    # The new password logs in, the old one no longer does.
    assert try_login(app.test_client(), "gestionnaire", PASSWORD).status_code == 200
    assert try_login(app.test_client(), "gestionnaire", NEW_PASSWORD).status_code == 302


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failure(
    client: FlaskClient, gestionnaire
) -> None:
    login(client, gestionnaire)
    response = change(client, current_password="pas-le-bon-mot-de-passe")
    assert response.status_code == 422
    assert "Mot de passe actuel incorrect." in response.get_data(as_text=True)
    db.session.refresh(gestionnaire)
    assert gestionnaire.check_password(PASSWORD)
    assert account_failures("gestionnaire") == 1
    events = db.session.scalars(select(LoginEvent.outcome)).all()
    assert LoginOutcome.BAD_CURRENT_PASSWORD in events
    assert is_logged_in(client)


def test_wrong_current_passwords_are_throttled_like_logins(
    client: FlaskClient, gestionnaire, clock
) -> None:
    login(client, gestionnaire)
    for _ in range(3):
        change(client, current_password="pas-le-bon-mot-de-passe")
    # The 4th try comes before the wait: refused without checking, even the right password.
    response = change(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Trop de tentatives : réessayez dans 1 minute." in page
    db.session.refresh(gestionnaire)
    assert gestionnaire.check_password(PASSWORD)
    clock.shift(60)
    assert change(client).status_code == 303


def test_the_confirmation_must_match(as_gestionnaire: FlaskClient, gestionnaire) -> None:
    response = change(as_gestionnaire, password_confirm="autre-chose-encore")
    assert response.status_code == 422
    assert "Les deux mots de passe ne correspondent pas." in response.get_data(as_text=True)
    db.session.refresh(gestionnaire)
    assert gestionnaire.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("court", "au moins 12 caractères"),
        ("motdepasse123456", "trop courant"),
        ("gestionnaire-2026", "ressembler à l"),
        ("Zq9-vX3!kL7#" * 11, "au plus 128 caractères"),
        (PASSWORD, "différent de l"),
    ],
)
def test_the_new_password_follows_the_policy(
    as_gestionnaire: FlaskClient, gestionnaire, password: str, message: str
) -> None:
    response = change(as_gestionnaire, password=password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(gestionnaire)
    assert gestionnaire.check_password(PASSWORD)
    assert account_failures("gestionnaire") == 0  # the current password was right


@pytest.mark.parametrize(
    "fields",
    [
        {"current_password": "x" * 200_000},
        {"password": "é" * 200_000},
        {"current_password": ""},
        {"password": "", "password_confirm": ""},
        {"password": "🐘" * 129},
    ],
)
def test_bounded_inputs_get_a_french_message_never_an_error(
    as_gestionnaire: FlaskClient, gestionnaire, fields: dict[str, str]
) -> None:
    response = change(as_gestionnaire, **fields)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    db.session.refresh(gestionnaire)
    assert gestionnaire.check_password(PASSWORD)


def test_a_get_on_the_change_url_is_not_allowed(as_gestionnaire: FlaskClient) -> None:
    assert as_gestionnaire.get(CHANGE_URL).status_code == 405
