"""Login required everywhere, roles enforced on the server, CSRF on every POST."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import example_url, login, page_urls


def test_every_page_but_login_requires_a_login(app: Flask, client: FlaskClient) -> None:
    for url in page_urls(app):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/connexion" in response.headers["Location"], url


def test_login_page_is_public_and_french(client: FlaskClient) -> None:
    page = client.get("/connexion").get_data(as_text=True)
    assert "Se connecter" in page
    assert 'lang="fr"' in page


def test_wrong_password_shows_a_french_error(client: FlaskClient, admin) -> None:
    from tests.factories import csrf_token_from

    token = csrf_token_from(client.get("/connexion").get_data(as_text=True))
    response = client.post(
        "/connexion", data={"username": "admin", "password": "faux", "csrf_token": token}
    )
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused(client: FlaskClient, gestionnaire) -> None:
    login(client, gestionnaire)
    response = client.post("/deconnexion")
    assert response.status_code == 400
    assert "Formulaire expiré" in response.get_data(as_text=True)


def test_a_read_only_user_gets_403_on_every_state_change(
    app: Flask, client: FlaskClient, lecteur
) -> None:
    login(client, lecteur)
    from tests.factories import csrf_token_from

    token = csrf_token_from(client.get("/").get_data(as_text=True))
    allowed = {"auth.logout", "auth.login", "auth.second_factor"}  # public: login steps
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in allowed or not ({"POST", "PUT", "PATCH", "DELETE"} & rule.methods):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "personal_action", False):
            continue
        url = example_url(rule)
        response = client.post(url, data={"csrf_token": token}, headers={"X-CSRFToken": token})
        assert response.status_code == 403, f"{rule.endpoint} answered {response.status_code}"
        checked += 1
    assert checked >= 0


def test_open_redirect_after_login_is_refused(client: FlaskClient, admin) -> None:
    from tests.factories import csrf_token_from

    token = csrf_token_from(client.get("/connexion").get_data(as_text=True))
    response = client.post(
        "/connexion?next=//evil.example/x",
        data={"username": "admin", "password": "motdepasse-test", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_htmx_is_served_from_the_installed_package(as_gestionnaire: FlaskClient) -> None:
    response = as_gestionnaire.get("/vendor/htmx.min.js")
    assert response.status_code == 200
    assert b"htmx" in response.data[:2000]


def test_a_disabled_user_loses_an_open_session_at_once(client: FlaskClient, gestionnaire) -> None:
    from portal.extensions import db

    login(client, gestionnaire)
    assert client.get("/").status_code == 200
    gestionnaire.is_enabled = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]
