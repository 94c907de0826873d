"""Users administration (admin only) and the ``flask users create`` command."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.settings import services
from tests.conftest import login, reset_password
from tests.factories import csrf_token_from, make_user

USERS_URL = "/administration/utilisateurs"
NEW_URL = "/administration/utilisateurs/nouveau"


def _create(client: FlaskClient, **changes: Any):
    token = csrf_token_from(client.get(NEW_URL).get_data(as_text=True))
    data = {
        "username": "marie",
        "full_name": "Marie Durand",
        "email": "marie@cabinet.fr",
        "role": "gestionnaire",
        "is_enabled": "y",
        "password": "tres-secret-42",
        "password_confirm": "tres-secret-42",
    }
    data.update(changes)
    return client.post(NEW_URL, data={"csrf_token": token, **data})


def _edit(client: FlaskClient, user: User, **changes: Any):
    url = f"/administration/utilisateurs/{user.id}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    data = {
        "full_name": user.full_name,
        "email": user.email or "",
        "role": user.role,
        "is_enabled": "y" if user.is_enabled else "",
    }
    data.update(changes)
    return client.post(url, data={"csrf_token": token, **{k: v for k, v in data.items() if v}})


def test_the_list_shows_every_user_with_role_and_state(as_admin: FlaskClient) -> None:
    make_user("ancien", role="lecture", full_name="Ancien Collègue", is_enabled=False)
    html = as_admin.get(USERS_URL).get_data(as_text=True)
    assert "Ancien Collègue" in html
    assert "Lecture seule" in html and "Administrateur" in html
    assert "Désactivé" in html


def test_an_admin_creates_a_user(as_admin: FlaskClient) -> None:
    response = _create(as_admin)
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.username == "marie"))
    assert user.full_name == "Marie Durand"
    assert user.role == "gestionnaire"
    assert user.is_enabled
    assert user.check_password("tres-secret-42")


def test_a_username_is_unique_whatever_its_case(as_admin: FlaskClient) -> None:
    _create(as_admin)
    response = _create(as_admin, username="MARIE")
    assert response.status_code == 422
    assert services.USERNAME_TAKEN_ERROR in response.get_data(as_text=True)
    assert db.session.query(User).count() == 2


def test_a_short_password_is_refused_in_french(as_admin: FlaskClient) -> None:
    response = _create(as_admin, password="court", password_confirm="court")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "au moins 12 caractères" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "marie")) is None


def test_mismatched_passwords_are_refused(as_admin: FlaskClient) -> None:
    response = _create(as_admin, password_confirm="autre-chose")
    assert "ne correspondent pas" in response.get_data(as_text=True)


def test_an_admin_edits_name_email_role_and_state(as_admin: FlaskClient) -> None:
    user = make_user("paul", role="lecture")
    response = _edit(
        as_admin,
        user,
        full_name="Paul Martin",
        email="paul@cabinet.fr",
        role="gestionnaire",
        is_enabled="",
    )
    assert response.status_code == 303
    db.session.refresh(user)
    assert (user.full_name, user.email, user.role, user.is_enabled) == (
        "Paul Martin",
        "paul@cabinet.fr",
        "gestionnaire",
        False,
    )


def test_an_admin_cannot_disable_their_own_account(as_admin: FlaskClient, admin) -> None:
    response = _edit(as_admin, admin, is_enabled="")
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "Vous ne pouvez pas désactiver votre propre compte." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.is_enabled


def test_an_admin_cannot_demote_themself(as_admin: FlaskClient, admin) -> None:
    response = _edit(as_admin, admin, role="gestionnaire", full_name="Nouveau nom")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Vous ne pouvez pas retirer votre propre rôle d&#39;administrateur." in html or (
        "Vous ne pouvez pas retirer votre propre rôle d'administrateur." in html
    )
    db.session.refresh(admin)
    assert admin.role == "admin"
    assert admin.full_name != "Nouveau nom"  # nothing half-saved


def test_an_admin_resets_a_password(app: Flask, as_admin: FlaskClient) -> None:
    user = make_user("paul", role="gestionnaire")
    short = reset_password(as_admin, user, "1234567")
    assert short.status_code == 422
    assert "au moins 12 caractères" in short.get_data(as_text=True)
    assert reset_password(as_admin, user).status_code == 303
    db.session.refresh(user)
    assert user.check_password("nouveau-mdp-2026")


def test_an_unknown_user_is_a_404(as_admin: FlaskClient) -> None:
    assert as_admin.get("/administration/utilisateurs/9999").status_code == 404


def test_users_pages_are_for_admins_only(client: FlaskClient, gestionnaire, lecteur) -> None:
    target = make_user("cible", role="lecture")
    for user in (gestionnaire, lecteur):
        login(client, user)
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        for url in (USERS_URL, NEW_URL, f"{USERS_URL}/{target.id}"):
            assert client.get(url).status_code == 403, url
        response = client.post(
            f"{USERS_URL}/{target.id}",
            data={"csrf_token": token, "role": "admin", "is_enabled": "y"},
        )
        assert response.status_code == 403
        client.post("/deconnexion", data={"csrf_token": token})
    db.session.refresh(target)
    assert target.role == "lecture"


def test_the_cli_creates_an_admin(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "chef", "--role", "admin", "--password", "motdepasse-cli"]
    )
    assert result.exit_code == 0, result.output
    assert "créé" in result.output
    user = db.session.scalar(select(User).where(User.username == "chef"))
    assert user.role == "admin" and user.check_password("motdepasse-cli")
    again = runner.invoke(
        args=["users", "create", "chef", "--role", "admin", "--password", "motdepasse-cli"]
    )
    assert again.exit_code != 0
    assert "existe déjà" in again.output


def test_the_cli_refuses_a_short_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "chef", "--role", "admin", "--password", "court"]
    )
    assert result.exit_code != 0
    assert "au moins 12 caractères" in result.output
