"""Revocable sessions: version per user, idle timeout, absolute lifetime, new CSRF seed at
login (issue 12, 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie

from portal.auth import sessions
from portal.config import Config
from portal.extensions import db
from tests.auth.conftest import login_token, page_token, try_login
from tests.conftest import PASSWORD, login, reset_password
from tests.factories import make_user

EXPIRED = "Session expirée, reconnectez-vous."


@pytest.fixture
def session(
    client: FlaskClient, gestionnaire, clock: time_machine.Coordinates, timeouts
) -> FlaskClient:
    """A gestionnaire logged in on ``client`` at the clock's start, with session timeouts on."""
    return login(client, gestionnaire)


@pytest.fixture
def paul_session(app: Flask) -> tuple[Any, FlaskClient]:
    """Paul, a gestionnaire, and his own browser logged in."""
    user = make_user("paul", role="gestionnaire", password=PASSWORD)
    return user, login(app.test_client(), user)


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def is_logged_in(client: FlaskClient) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    return False


def edit_user(admin_client: FlaskClient, user, **changes: str):
    url = f"/administration/utilisateurs/{user.id}"
    data = {"full_name": user.full_name, "email": user.email or "", "role": user.role}
    data.update({"is_enabled": "y"} if user.is_enabled else {})
    data.update(changes)
    data = {key: value for key, value in data.items() if value}
    return admin_client.post(url, data={"csrf_token": page_token(admin_client, url), **data})


def test_a_copied_cookie_stops_working_after_logout(app: Flask, client, gestionnaire) -> None:
    login(client, gestionnaire)
    thief = copy_of(app, client)
    assert is_logged_in(thief)
    client.post("/deconnexion", data={"csrf_token": page_token(client)})
    assert not is_logged_in(thief)
    assert not is_logged_in(client)


def test_logging_out_ends_every_session_of_the_user(app: Flask, gestionnaire) -> None:
    office, home = app.test_client(), app.test_client()
    login(office, gestionnaire)
    login(home, gestionnaire)
    office.post("/deconnexion", data={"csrf_token": page_token(office)})
    assert not is_logged_in(home)


def test_an_admin_password_reset_ends_the_users_sessions(
    app: Flask, as_admin: FlaskClient, paul_session
) -> None:
    user, paul = paul_session
    thief = copy_of(app, paul)
    assert reset_password(as_admin, user).status_code == 303
    assert not is_logged_in(paul)
    assert not is_logged_in(thief)
    assert is_logged_in(as_admin)


def test_an_admin_resetting_their_own_password_keeps_this_session_only(
    app: Flask, client: FlaskClient, admin
) -> None:
    login(client, admin)
    other = login(app.test_client(), admin)
    assert reset_password(client, admin).status_code == 303
    assert is_logged_in(client)
    assert not is_logged_in(other)


def test_disabling_a_user_ends_their_sessions(as_admin: FlaskClient, paul_session) -> None:
    user, paul = paul_session
    assert edit_user(as_admin, user, is_enabled="").status_code == 303
    assert not is_logged_in(paul)
    # Enabled again, the old session stays ended.
    db.session.refresh(user)
    assert edit_user(as_admin, user, is_enabled="y").status_code == 303
    assert not is_logged_in(paul)


def test_a_role_change_ends_the_users_sessions(as_admin: FlaskClient, paul_session) -> None:
    user, paul = paul_session
    assert edit_user(as_admin, user, role="lecture").status_code == 303
    assert not is_logged_in(paul)
    login(paul, user)
    assert is_logged_in(paul)


def test_a_name_change_keeps_the_users_sessions(as_admin: FlaskClient, paul_session) -> None:
    user, paul = paul_session
    assert edit_user(as_admin, user, full_name="Paul Martin").status_code == 303
    assert is_logged_in(paul)


def test_a_revoked_session_is_told_it_expired(app: Flask, client, gestionnaire) -> None:
    login(client, gestionnaire)
    thief = copy_of(app, client)
    client.post("/deconnexion", data={"csrf_token": page_token(client)})
    response = thief.get("/", follow_redirects=True)
    assert EXPIRED in response.get_data(as_text=True)


def test_a_session_ends_after_an_hour_without_activity(
    client: FlaskClient, clock: time_machine.Coordinates, session
) -> None:
    clock.shift(59 * 60)
    assert is_logged_in(client)
    clock.shift(59 * 60)  # activity above: still within the hour
    assert is_logged_in(client)
    clock.shift(60 * 60 + 1)
    response = client.get("/clients", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert EXPIRED in page and "Se connecter" in page
    assert not is_logged_in(client)


def test_the_bell_polling_does_not_keep_a_session_alive(
    client: FlaskClient, clock: time_machine.Coordinates, session
) -> None:
    for _ in range(4):
        clock.shift(20 * 60)
        client.get("/notifications/cloche", headers={"HX-Request": "true"})
    assert not is_logged_in(client)


def test_a_session_ends_twelve_hours_after_its_login_even_when_active(
    client: FlaskClient, clock: time_machine.Coordinates, session
) -> None:
    for _ in range(14):
        clock.shift(50 * 60)
        assert is_logged_in(client)
    clock.shift(50 * 60 + 1)  # 12 h 30 after the login
    response = client.get("/", follow_redirects=True)
    assert EXPIRED in response.get_data(as_text=True)


def test_an_htmx_request_of_an_expired_session_gets_a_401(
    client: FlaskClient, clock: time_machine.Coordinates, session
) -> None:
    clock.shift(61 * 60)
    assert client.get("/clients", headers={"HX-Request": "true"}).status_code == 401


def test_the_csrf_seed_changes_at_login(client: FlaskClient, gestionnaire) -> None:
    before = login_token(client)
    assert try_login(client, "gestionnaire", PASSWORD, token=before).status_code == 302
    refused = client.post("/deconnexion", data={"csrf_token": before})
    assert refused.status_code == 400
    accepted = client.post("/deconnexion", data={"csrf_token": page_token(client)})
    assert accepted.status_code == 302


def test_the_session_is_new_at_login(client: FlaskClient, gestionnaire) -> None:
    with client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
    login(client, gestionnaire)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session[sessions.VERSION] == gestionnaire.session_version


def test_a_remember_cookie_alone_does_not_log_in(app: Flask, client, gestionnaire) -> None:
    client.set_cookie(
        app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        encode_cookie(str(gestionnaire.id)),
    )
    assert not is_logged_in(client)


def test_the_session_limits_are_read_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("SESSION_MAX_HOURS", "8")
    flask_config = Config.from_env(tmp_path).to_flask()
    assert flask_config["SESSION_IDLE_MINUTES"] == 15
    assert flask_config["SESSION_MAX_HOURS"] == 8
    monkeypatch.delenv("SESSION_IDLE_MINUTES")
    monkeypatch.delenv("SESSION_MAX_HOURS")
    defaults = Config.from_env(tmp_path).to_flask()
    assert (defaults["SESSION_IDLE_MINUTES"], defaults["SESSION_MAX_HOURS"]) == (60, 12)
