"""The password policy (issue 12, 4) where administrators choose passwords: creating a user,
resetting a password, ``flask users create``."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from tests.conftest import PASSWORD, reset_password
from tests.factories import csrf_token_from, make_user

NEW_URL = "/administration/utilisateurs/nouveau"
REFUSED = [
    ("court-11-ca", "au moins 12 caractères"),
    ("Zq9-vX3!kL7#" * 11, "au plus 128 caractères"),
    ("motdepasse123456", "trop courant"),
    ("azertyuiop123", "trop courant"),
    ("marie-durand-2026", "ressembler à l"),  # the username is marie-durand
]


def _create(client: FlaskClient, password: str) -> Any:
    token = csrf_token_from(client.get(NEW_URL).get_data(as_text=True))
    data = {
        "username": "marie-durand",
        "role": "gestionnaire",
        "is_enabled": "y",
        "password": password,
        "password_confirm": password,
    }
    return client.post(NEW_URL, data={"csrf_token": token, **data})


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_a_new_user_gets_a_password_that_follows_the_policy(
    as_admin: FlaskClient, password: str, message: str
) -> None:
    response = _create(as_admin, password)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="invalid-feedback' in page  # next to the field
    assert db.session.scalar(select(User).where(User.username == "marie-durand")) is None


def test_the_form_explains_the_policy(as_admin: FlaskClient) -> None:
    page = as_admin.get(NEW_URL).get_data(as_text=True)
    assert "De 12 à 128 caractères" in page
    assert "8 caractères au moins" not in page


def test_a_compliant_password_creates_the_user(as_admin: FlaskClient) -> None:
    assert _create(as_admin, "cheval-agrafe-pile").status_code == 303
    user = db.session.scalar(select(User).where(User.username == "marie-durand"))
    assert user.check_password("cheval-agrafe-pile")


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_a_reset_password_follows_the_policy(
    as_admin: FlaskClient, password: str, message: str
) -> None:
    user = make_user("marie-durand", role="gestionnaire", password=PASSWORD)
    page = as_admin.get(f"/administration/utilisateurs/{user.id}").get_data(as_text=True)
    assert "De 12 à 128 caractères" in page
    response = reset_password(as_admin, user, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_existing_passwords_outside_the_policy_still_log_in(
    client: FlaskClient,
) -> None:
    # Stored before the policy (8 characters): only new passwords are checked.
    make_user("ancien", role="lecture", password="demo1234")
    token = csrf_token_from(client.get("/connexion").get_data(as_text=True))
    response = client.post(
        "/connexion", data={"username": "ancien", "password": "demo1234", "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_the_cli_applies_the_policy(app: Flask, password: str, message: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "marie-durand", "--password", password]
    )
    assert result.exit_code != 0
    assert message.replace("à l", "à l'") in result.output or message in result.output
    assert db.session.scalar(select(User).where(User.username == "marie-durand")) is None
