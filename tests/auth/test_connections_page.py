"""The administrators' « Connexions » page: journal of attempts, locks and unlocking
(issue 12, 1)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth import login_events
from portal.auth.models import LoginEvent, LoginOutcome, LoginThrottle
from portal.clock import utcnow
from portal.extensions import db
from portal.models_base import MAX_ROW_ID
from tests.auth.conftest import login_token, page_token, try_login
from tests.conftest import PASSWORD, login

URL = "/administration/connexions"


def lock_account(client: FlaskClient, username: str = "gestionnaire") -> LoginThrottle:
    token = login_token(client)
    for _ in range(10):
        try_login(client, username, "faux", token=token, address="198.51.100.9")
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.subject == username))
    assert row is not None and row.locked_until is not None
    return row


def events() -> list[LoginEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(LoginEvent).order_by(LoginEvent.id)))


def test_every_attempt_is_journaled_with_address_and_user_agent(
    client: FlaskClient, gestionnaire, clock
) -> None:
    try_login(client, "gestionnaire", "faux", address="192.0.2.10", user_agent="Firefox 140")
    try_login(client, "personne", "faux", address="192.0.2.11", user_agent="Curl")
    try_login(client, "gestionnaire", PASSWORD, address="192.0.2.10", user_agent="Firefox 140")
    wrong, unknown, success = events()
    assert (wrong.username, wrong.user_id, wrong.outcome) == (
        "gestionnaire",
        gestionnaire.id,
        LoginOutcome.BAD_CREDENTIALS,
    )
    assert (wrong.address, wrong.user_agent, wrong.created_at) == (
        "192.0.2.10",
        "Firefox 140",
        utcnow(),
    )
    assert (unknown.username, unknown.user_id, unknown.address) == ("personne", None, "192.0.2.11")
    assert success.outcome == LoginOutcome.SUCCESS and success.user_agent == "Firefox 140"


def test_throttled_attempts_are_journaled_as_such(client: FlaskClient, gestionnaire) -> None:
    lock_account(client)
    try_login(client, "gestionnaire", PASSWORD)
    assert events()[-1].outcome == LoginOutcome.THROTTLED


def test_what_the_client_sends_is_cut_to_the_columns(client: FlaskClient, clock) -> None:
    try_login(client, "u" * 5000, "faux", user_agent="A" * 5000)
    (event,) = events()
    assert event.username == "u" * 80 and event.user_agent == "A" * 255


def test_the_admin_sees_attempts_and_locked_accounts(
    client: FlaskClient, as_admin: FlaskClient, gestionnaire
) -> None:
    other = client.application.test_client()
    lock_account(other)
    page = as_admin.get(URL).get_data(as_text=True)
    assert "Comptes et adresses bloqués" in page
    assert "gestionnaire" in page and "Débloquer" in page
    assert "198.51.100.9" in page  # the journal shows the address
    assert "Identifiant ou mot de passe incorrect" in page
    assert "Connexion réussie" in page  # the admin's own login


def test_an_admin_unlocks_an_account(client: FlaskClient, as_admin: FlaskClient, gestionnaire):
    other = client.application.test_client()
    row = lock_account(other)
    response = as_admin.post(
        f"{URL}/{row.id}/debloquer", data={"csrf_token": page_token(as_admin, URL)}
    )
    assert response.status_code == 303
    page = as_admin.get(URL).get_data(as_text=True)
    assert "Compte « gestionnaire » : blocage levé." in page
    assert "Aucun compte ni aucune adresse n'est bloqué." in page
    assert try_login(other, "gestionnaire", PASSWORD).status_code == 302


def test_unlocking_an_unknown_row_is_a_404(as_admin: FlaskClient) -> None:
    token = page_token(as_admin, URL)
    for row_id in (123456, MAX_ROW_ID):
        response = as_admin.post(f"{URL}/{row_id}/debloquer", data={"csrf_token": token})
        assert response.status_code == 404


def test_unlocking_needs_the_csrf_token(client: FlaskClient, as_admin: FlaskClient, gestionnaire):
    row = lock_account(client.application.test_client())
    assert as_admin.post(f"{URL}/{row.id}/debloquer").status_code == 400


def test_the_journal_is_paginated_and_any_page_number_is_safe(
    as_admin: FlaskClient, app: Flask
) -> None:
    for number in range(login_events.PER_PAGE + 5):
        login_events.record(
            username=f"essai{number}",
            user=None,
            address="192.0.2.1",
            user_agent="",
            outcome=LoginOutcome.BAD_CREDENTIALS,
            now=utcnow(),
        )
    db.session.commit()
    assert "essai0" not in as_admin.get(URL).get_data(as_text=True)
    assert "essai0" in as_admin.get(f"{URL}?page=2").get_data(as_text=True)
    for page in ("abc", "-1", "0", "99999999999", "", "\u00b2"):
        assert as_admin.get(URL, query_string={"page": page}).status_code == 200


def test_the_page_and_the_unlock_are_for_admins_only(
    app: Flask, client: FlaskClient, gestionnaire, lecteur
) -> None:
    row = lock_account(app.test_client(), "cible")
    for user in (gestionnaire, lecteur):
        browser = login(app.test_client(), user)
        token = page_token(browser)
        assert browser.get(URL).status_code == 403
        response = browser.post(f"{URL}/{row.id}/debloquer", data={"csrf_token": token})
        assert response.status_code == 403
    anonymous = app.test_client()
    assert "/connexion" in anonymous.get(URL).headers["Location"]
    assert anonymous.post(f"{URL}/{row.id}/debloquer").status_code in {302, 400}
    assert db.session.get(LoginThrottle, row.id) is not None
