"""The optional TOTP second factor (issue 12, 4): enrolment, login with a code or a recovery
code, replay, throttling, disabling, the administrators' rule and the administrators' reset."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth import second_factor
from portal.auth.models import LoginEvent, LoginOutcome, RecoveryCode, User
from portal.crypto import decrypt
from portal.extensions import db
from tests.auth.conftest import START, page_token, try_login
from tests.auth.test_password_change import account_failures
from tests.auth.test_sessions import copy_of, is_logged_in
from tests.auth.totp import (
    ACCOUNT_URL,
    CODE_URL,
    DISABLE_URL,
    ENROL_URL,
    STEP,
    code_at,
    enrol,
    log_in_with_code,
    secret_on,
    send_code,
)
from tests.conftest import PASSWORD, login, page_urls
from tests.factories import csrf_token_from, make_user

BAD_CODE = "Code incorrect ou déjà utilisé."
TOO_MANY = "Trop de tentatives : réessayez dans"
USERS_URL = "/administration/utilisateurs"
RULE_URL = "/administration/utilisateurs/securite"


def enrolled(client: FlaskClient, user: User) -> tuple[str, list[str]]:
    """Log ``user`` in, turn the factor on at ``START``, log out; (secret, recovery codes)."""
    login(client, user)
    secret, codes = enrol(client, START)
    client.post("/deconnexion", data={"csrf_token": page_token(client)})
    return secret, codes


def outcomes() -> list[str]:
    return list(db.session.scalars(select(LoginEvent.outcome).order_by(LoginEvent.id)))


# -- enrolment ----------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_then_a_code_turns_it_on(
    client: FlaskClient, gestionnaire, clock
) -> None:
    login(client, gestionnaire)
    html = client.get(ENROL_URL).get_data(as_text=True)
    secret = secret_on(html)
    assert 'src="data:image/svg+xml' in html
    # Opening the page again shows the same secret (the QR code scanned stays valid).
    assert secret_on(client.get(ENROL_URL).get_data(as_text=True)) == secret
    db.session.refresh(gestionnaire)
    assert not gestionnaire.has_second_factor
    assert secret not in gestionnaire.totp_secret  # encrypted at rest
    assert decrypt(gestionnaire.totp_secret) == secret
    response = client.post(
        ENROL_URL, data={"csrf_token": csrf_token_from(html), "code": code_at(secret, START)}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Vos codes de secours" in page and "plus jamais affichés" in page
    codes = re.findall(r">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})<", page)
    assert len(set(codes)) == 10
    db.session.refresh(gestionnaire)
    assert gestionnaire.has_second_factor
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10
    assert not set(codes) & set(stored)  # hashed, never stored as shown
    assert second_factor.hash_recovery_code(codes[0]) in stored
    # « Mon compte » now says it is on, with the recovery codes left.
    account = client.get(ACCOUNT_URL).get_data(as_text=True)
    assert "Activée" in account and "Codes de secours inutilisés : 10 sur 10." in account


def test_the_qr_code_is_an_svg_image_without_inline_style(as_gestionnaire: FlaskClient) -> None:
    html = as_gestionnaire.get(ENROL_URL).get_data(as_text=True)
    match = re.search(r'<img src="(data:image/svg\+xml[^"]+)"', html)
    assert match
    svg = unquote(match.group(1).split(",", 1)[1].replace("&#39;", "'"))
    assert svg.startswith("<svg") and "<path" in svg
    assert "style" not in svg.lower() and "script" not in svg.lower()


def test_the_qr_code_carries_the_otpauth_address() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    uri = second_factor.provisioning_uri(secret, "marie")
    assert uri == (
        f"otpauth://totp/Portail%20courtier:marie?secret={secret}&issuer=Portail%20courtier"
    )
    data = second_factor.qr_data_uri(uri)
    assert data.startswith("data:image/svg+xml")
    assert '"' not in data and "<" not in data  # URL-encoded: safe inside an attribute


def test_a_wrong_code_does_not_turn_it_on(as_gestionnaire: FlaskClient, gestionnaire) -> None:
    html = as_gestionnaire.get(ENROL_URL).get_data(as_text=True)
    for code in ("000000", "12345", "abcdef", "x" * 41, "١٢٣٤٥٦"):
        response = as_gestionnaire.post(
            ENROL_URL, data={"csrf_token": csrf_token_from(html), "code": code}
        )
        assert response.status_code == 422, code
        page = response.get_data(as_text=True)
        assert "Code incorrect" in page or "Code trop long" in page
    db.session.refresh(gestionnaire)
    assert not gestionnaire.has_second_factor


def test_enrolling_ends_the_other_sessions(
    app: Flask, client: FlaskClient, gestionnaire, clock
) -> None:
    login(client, gestionnaire)
    other = login(app.test_client(), gestionnaire)
    enrol(client, START)
    assert is_logged_in(client)
    assert not is_logged_in(other)


def test_an_enrolled_user_is_sent_back_from_the_enrolment_page(
    client: FlaskClient, gestionnaire, clock
) -> None:
    login(client, gestionnaire)
    enrol(client, START)
    response = client.get(ENROL_URL)
    assert response.status_code == 303 and response.headers["Location"] == ACCOUNT_URL


# -- logging in ---------------------------------------------------------------------------------


def test_login_asks_for_the_code_after_the_password(
    client: FlaskClient, gestionnaire, clock
) -> None:
    secret, _codes = enrolled(client, gestionnaire)
    clock.shift(60)
    response = try_login(client, "gestionnaire", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == CODE_URL
    assert not is_logged_in(client)
    page = client.get(CODE_URL).get_data(as_text=True)
    assert "Code de vérification" in page
    response = send_code(client, code_at(secret, START + 2 * STEP))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert outcomes()[-2:] == [LoginOutcome.SECOND_FACTOR_ASKED, LoginOutcome.SUCCESS]


def test_the_page_asked_for_before_login_opens_after_the_code(
    client: FlaskClient, gestionnaire, clock
) -> None:
    secret, _codes = enrolled(client, gestionnaire)
    clock.shift(60)
    response = client.post(
        "/connexion?next=/clients",
        data={
            "username": "gestionnaire",
            "password": PASSWORD,
            "csrf_token": csrf_token_from(client.get("/connexion").get_data(as_text=True)),
        },
    )
    assert response.headers["Location"] == CODE_URL
    assert send_code(client, code_at(secret, START + 2 * STEP)).headers["Location"] == "/clients"


def test_a_pending_login_reaches_no_other_page(
    app: Flask, client: FlaskClient, gestionnaire, clock
) -> None:
    enrolled(client, gestionnaire)
    try_login(client, "gestionnaire", PASSWORD)
    for url in page_urls(app, also_open={"auth.second_factor"}):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/connexion?next="), url
    assert client.get(CODE_URL).status_code == 200  # still waiting for the code


def test_a_recovery_code_logs_in_once(client: FlaskClient, gestionnaire, clock) -> None:
    _secret, codes = enrolled(client, gestionnaire)
    typed = codes[3].lower().replace("-", " ")  # as a person may type it
    assert log_in_with_code(client, "gestionnaire", typed).status_code == 302
    assert is_logged_in(client)
    client.post("/deconnexion", data={"csrf_token": page_token(client)})
    clock.shift(120)
    response = log_in_with_code(client, "gestionnaire", codes[3])
    assert response.status_code == 200
    assert BAD_CODE in response.get_data(as_text=True)
    assert not is_logged_in(client)
    # Another one still works; « Mon compte » counts what is left.
    assert send_code(client, codes[4]).status_code == 302
    page = client.get(ACCOUNT_URL).get_data(as_text=True)
    assert "Codes de secours inutilisés : 8 sur 10." in page


def test_a_code_is_accepted_only_once(client: FlaskClient, gestionnaire, clock) -> None:
    secret, _codes = enrolled(client, gestionnaire)
    # The code that confirmed the enrolment cannot log in.
    response = log_in_with_code(client, "gestionnaire", code_at(secret, START))
    assert BAD_CODE in response.get_data(as_text=True)
    clock.shift(90)  # three steps later
    code = code_at(secret, START + 3 * STEP)
    assert send_code(client, code).status_code == 302
    client.post("/deconnexion", data={"csrf_token": page_token(client)})
    clock.shift(5)  # same step: the code on the phone has not changed yet
    response = log_in_with_code(client, "gestionnaire", code)
    assert response.status_code == 200
    assert BAD_CODE in response.get_data(as_text=True)
    # Nor is an older one still within the drift window.
    response = send_code(client, code_at(secret, START + 2 * STEP))
    assert BAD_CODE in response.get_data(as_text=True)
    assert outcomes()[-1] == LoginOutcome.BAD_SECOND_FACTOR


def test_a_code_of_the_next_or_previous_step_is_accepted_not_further(
    client: FlaskClient, gestionnaire, clock
) -> None:
    secret, _codes = enrolled(client, gestionnaire)
    clock.shift(300)
    now = START + 10 * STEP
    response = log_in_with_code(client, "gestionnaire", code_at(secret, now - 2 * STEP))
    assert BAD_CODE in response.get_data(as_text=True)
    response = send_code(client, code_at(secret, now + 2 * STEP))
    assert BAD_CODE in response.get_data(as_text=True)
    assert send_code(client, code_at(secret, now - STEP)).status_code == 302


def test_wrong_codes_are_throttled_and_the_password_does_not_reset_the_count(
    client: FlaskClient, gestionnaire, clock
) -> None:
    secret, _codes = enrolled(client, gestionnaire)
    try_login(client, "gestionnaire", PASSWORD)
    for _ in range(3):
        send_code(client, "000000")
    # The 4th comes before the wait: refused without checking, even the right code.
    response = send_code(client, code_at(secret, START + STEP))
    page = response.get_data(as_text=True)
    assert BAD_CODE in page and f"{TOO_MANY} 1 minute." in page
    assert not is_logged_in(client)
    assert outcomes()[-1] == LoginOutcome.THROTTLED
    # Typing the right password again does not forget the wrong codes (it would let an
    # attacker who knows the password try codes without end).
    clock.shift(60)
    assert try_login(client, "gestionnaire", PASSWORD).headers["Location"] == CODE_URL
    assert account_failures("gestionnaire") == 4
    # The right code logs in and forgets them.
    assert send_code(client, code_at(secret, START + 2 * STEP)).status_code == 302
    assert account_failures("gestionnaire") == 0


def test_ten_wrong_codes_lock_the_account(client: FlaskClient, gestionnaire, clock) -> None:
    _secret, _codes = enrolled(client, gestionnaire)
    try_login(client, "gestionnaire", PASSWORD)
    for _ in range(10):
        send_code(client, "999999")
        clock.shift(20)  # the code must come within 5 minutes: fast enough
    # Even the right password is now refused.
    response = try_login(client, "gestionnaire", PASSWORD)
    assert response.status_code == 200
    assert f"{TOO_MANY} 15 minutes." in response.get_data(as_text=True)


def test_the_code_must_come_within_five_minutes(client: FlaskClient, gestionnaire, clock) -> None:
    _secret, _codes = enrolled(client, gestionnaire)
    try_login(client, "gestionnaire", PASSWORD)
    clock.shift(5 * 60 + 1)
    response = client.get(CODE_URL, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Délai dépassé pour saisir le code" in page and "Se connecter" in page
    assert client.get(CODE_URL).headers["Location"] == "/connexion"


def test_a_password_reset_during_the_code_step_voids_it(
    client: FlaskClient, gestionnaire, clock
) -> None:
    _secret, _codes = enrolled(client, gestionnaire)
    try_login(client, "gestionnaire", PASSWORD)
    gestionnaire.end_sessions()  # e.g. an administrator resets the password
    db.session.commit()
    assert client.get(CODE_URL).headers["Location"] == "/connexion"


def test_the_code_page_without_a_password_step_goes_to_the_login(client: FlaskClient) -> None:
    response = client.get(CODE_URL)
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert "Délai dépassé" not in client.get("/connexion").get_data(as_text=True)


def test_a_logged_in_user_is_sent_home_from_the_code_page(as_gestionnaire: FlaskClient) -> None:
    assert as_gestionnaire.get(CODE_URL).headers["Location"] == "/"


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "x" * 41, "9" * 100_000, "<b>1</b>"]
)
def test_a_malformed_code_is_refused_in_french_never_an_error(
    client: FlaskClient, gestionnaire, clock, code: str
) -> None:
    enrolled(client, gestionnaire)
    try_login(client, "gestionnaire", PASSWORD)
    response = send_code(client, code)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert BAD_CODE in page or "Saisissez le code." in page or "Code trop long" in page
    assert not is_logged_in(client)


def test_a_user_without_second_factor_logs_in_with_the_password_alone(
    client: FlaskClient, gestionnaire
) -> None:
    assert try_login(client, "gestionnaire", PASSWORD).headers["Location"] == "/"


# -- disabling ----------------------------------------------------------------------------------


def disable(client: FlaskClient, **fields: str):
    data = {"desactivation-password": PASSWORD, "desactivation-code": ""}
    data.update({f"desactivation-{name}": value for name, value in fields.items()})
    return client.post(DISABLE_URL, data={"csrf_token": page_token(client, ACCOUNT_URL), **data})


def test_disabling_needs_the_password_and_a_code(
    app: Flask, client: FlaskClient, gestionnaire, clock
) -> None:
    secret, _codes = enrolled(client, gestionnaire)
    clock.shift(60)
    log_in_with_code(client, "gestionnaire", code_at(secret, START + 2 * STEP))
    other = copy_of(app, client)
    clock.shift(30)
    now = START + 3 * STEP
    wrong_password = disable(client, password="pas-le-bon-mot-de-passe", code=code_at(secret, now))
    assert wrong_password.status_code == 422
    assert "Mot de passe actuel incorrect." in wrong_password.get_data(as_text=True)
    wrong_code = disable(client, code="000000")
    assert wrong_code.status_code == 422
    assert BAD_CODE in wrong_code.get_data(as_text=True)
    db.session.refresh(gestionnaire)
    assert gestionnaire.has_second_factor
    assert disable(client, code=code_at(secret, now)).status_code == 303
    db.session.refresh(gestionnaire)
    assert not gestionnaire.has_second_factor and gestionnaire.totp_secret is None
    assert db.session.scalar(select(RecoveryCode.id)) is None
    assert is_logged_in(client) and not is_logged_in(other)
    client.post("/deconnexion", data={"csrf_token": page_token(client)})
    assert try_login(client, "gestionnaire", PASSWORD).headers["Location"] == "/"


def test_a_recovery_code_can_disable_it(client: FlaskClient, gestionnaire, clock) -> None:
    _secret, codes = enrolled(client, gestionnaire)
    log_in_with_code(client, "gestionnaire", codes[0])
    assert disable(client, code=codes[1]).status_code == 303


# -- mandatory for administrators ---------------------------------------------------------------


def set_rule(client: FlaskClient, required: bool):
    data = {"csrf_token": page_token(client, USERS_URL)}
    if required:
        data["required_for_admins"] = "y"
    return client.post(RULE_URL, data=data)


def test_the_rule_is_off_by_default_and_set_on_the_users_page(as_admin: FlaskClient, admin) -> None:
    page = as_admin.get(USERS_URL).get_data(as_text=True)
    assert "Double authentification obligatoire pour les administrateurs" in page
    assert not second_factor.required_for_admins()
    assert set_rule(as_admin, True).status_code == 303
    assert second_factor.required_for_admins()


def test_an_admin_without_second_factor_must_enrol_before_anything_else(
    client: FlaskClient, admin, gestionnaire, clock
) -> None:
    login(client, admin)
    set_rule(client, True)
    for url in ("/", "/clients", USERS_URL, ACCOUNT_URL, "/administration/connexions"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == ENROL_URL
    # A fragment a page loads by itself gets nothing rather than an error.
    assert client.get("/notifications/cloche", headers={"HX-Request": "true"}).status_code == 204
    page = client.get(ENROL_URL).get_data(as_text=True)
    assert "obligatoire pour les administrateurs" in page
    # Nor can the admin turn the rule off again.
    off = client.post(RULE_URL, data={"csrf_token": csrf_token_from(page)})
    assert off.status_code == 302 and off.headers["Location"] == ENROL_URL
    assert second_factor.required_for_admins()
    enrol(client, START)
    assert client.get("/").status_code == 200
    # Managers are not concerned.
    manager = login(client.application.test_client(), gestionnaire)
    assert manager.get("/").status_code == 200


def test_an_admin_who_must_enrol_can_log_out(client: FlaskClient, admin) -> None:
    second_factor.set_required_for_admins(True)
    db.session.commit()
    login(client, admin)
    html = client.get(ENROL_URL).get_data(as_text=True)
    response = client.post("/deconnexion", data={"csrf_token": csrf_token_from(html)})
    assert response.headers["Location"] == "/connexion"
    assert not is_logged_in(client)


def test_after_login_an_admin_who_must_enrol_lands_on_the_enrolment(
    client: FlaskClient, admin
) -> None:
    second_factor.set_required_for_admins(True)
    db.session.commit()
    login(client, admin)
    response = client.get("/", follow_redirects=True)
    assert response.request.path == ENROL_URL
    assert 'data-testid="qr-code"' in response.get_data(as_text=True)


# -- reset by an administrator ------------------------------------------------------------------


def test_an_admin_resets_a_users_second_factor(
    clock, app: Flask, client: FlaskClient, as_admin: FlaskClient
) -> None:
    user = make_user("paul", role="gestionnaire", password=PASSWORD)
    paul = app.test_client()
    _secret, codes = enrolled(paul, user)
    log_in_with_code(paul, "paul", codes[0])
    assert is_logged_in(paul)
    url = f"{USERS_URL}/{user.id}"
    page = as_admin.get(url).get_data(as_text=True)
    assert "Double authentification" in page and "Réinitialiser" in page
    assert "Activée" in as_admin.get(USERS_URL).get_data(as_text=True)
    response = as_admin.post(
        f"{url}/double-authentification", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 303
    db.session.refresh(user)
    assert not user.has_second_factor
    assert not is_logged_in(paul)
    assert try_login(paul, "paul", PASSWORD).headers["Location"] == "/"
    assert is_logged_in(as_admin)


def test_only_admins_reset_a_second_factor_or_set_the_rule(
    app: Flask, client: FlaskClient, gestionnaire, lecteur, clock
) -> None:
    target = make_user("paul", role="lecture", password=PASSWORD)
    _secret, _codes = enrolled(app.test_client(), target)
    for user in (gestionnaire, lecteur):
        browser = login(app.test_client(), user)
        token = page_token(browser)
        reset = browser.post(
            f"{USERS_URL}/{target.id}/double-authentification", data={"csrf_token": token}
        )
        assert reset.status_code == 403
        rule = browser.post(RULE_URL, data={"csrf_token": token, "required_for_admins": "y"})
        assert rule.status_code == 403
    db.session.refresh(target)
    assert target.has_second_factor
    assert not second_factor.required_for_admins()


def test_resetting_an_unknown_user_is_a_404(as_admin: FlaskClient) -> None:
    response = as_admin.post(
        f"{USERS_URL}/999999/double-authentification", data={"csrf_token": page_token(as_admin)}
    )
    assert response.status_code == 404


def test_the_journal_shows_the_second_factor_steps(
    client: FlaskClient, admin, gestionnaire, clock
) -> None:
    _secret, _codes = enrolled(client, gestionnaire)
    log_in_with_code(client, "gestionnaire", "000000")
    admin_client = login(client.application.test_client(), admin)
    page = admin_client.get("/administration/connexions").get_data(as_text=True)
    assert "Mot de passe correct, code demandé" in page
    assert "Code de vérification incorrect" in page


def test_time_travel_helper_is_consistent() -> None:
    # The tests compute codes at START + n steps: START is on a step boundary.
    with time_machine.travel(START, tick=False):
        assert int(START.timestamp()) % 30 == 0
