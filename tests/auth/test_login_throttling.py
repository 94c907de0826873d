"""Brute force: throttling per account and per address, stored in the database (issue 12, 1)."""

from __future__ import annotations

import threading
from datetime import timedelta

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth import rules, throttle
from portal.auth.models import LoginThrottle, ThrottleKind
from portal.clock import utcnow
from portal.extensions import db
from tests.auth.conftest import login_token, page_token, try_login
from tests.conftest import PASSWORD
from tests.factories import make_user

TOO_MANY = "Trop de tentatives : réessayez dans"
BAD = "Identifiant ou mot de passe incorrect."


def fail(client: FlaskClient, clock: time_machine.Coordinates, times: int, **kwargs) -> None:
    """``times`` wrong passwords, each after the wait the previous one imposed."""
    token = login_token(client)
    username = kwargs.pop("username", "admin")
    for _ in range(times):
        response = try_login(client, username, "faux", token=token, **kwargs)
        assert TOO_MANY not in response.get_data(as_text=True)
        clock.shift(61)


def throttle_row(kind: ThrottleKind, subject: str) -> LoginThrottle | None:
    db.session.expire_all()
    return db.session.scalar(
        select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.subject == subject)
    )


def test_25_wrong_passwords_in_3_seconds_then_the_right_one_is_refused(
    client: FlaskClient, admin, clock
) -> None:
    token = login_token(client)
    for _ in range(25):
        response = try_login(client, "admin", "faux", token=token)
        assert response.status_code == 200
    clock.shift(3)
    response = try_login(client, "admin", PASSWORD, token=token)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BAD in page
    assert "Trop de tentatives : réessayez dans 15 minutes." in page
    # Trying during the wait counts too: the account was locked at the 10th attempt.
    row = throttle_row(ThrottleKind.ACCOUNT, "admin")
    assert row.failures == 26 and row.locked_until == utcnow() + timedelta(minutes=15 - 3 / 60)


def test_an_account_is_locked_15_minutes_after_10_failures(
    client: FlaskClient, admin, clock
) -> None:
    fail(client, clock, 10)
    response = try_login(client, "admin", PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BAD in page
    assert "Trop de tentatives : réessayez dans 14 minutes." in page  # 61 s already passed
    row = throttle_row(ThrottleKind.ACCOUNT, "admin")
    # The refused attempt counts, but a running lock is not extended.
    assert row.failures == 11 and row.locked_until == utcnow() + timedelta(seconds=15 * 60 - 61)


def test_the_lock_expires_and_a_success_forgets_the_failures(
    client: FlaskClient, admin, clock
) -> None:
    fail(client, clock, 10)
    clock.shift(15 * 60)
    response = try_login(client, "admin", PASSWORD)
    assert response.status_code == 302
    assert throttle_row(ThrottleKind.ACCOUNT, "admin") is None


def test_a_failure_after_the_lock_expired_locks_again(client: FlaskClient, admin, clock) -> None:
    fail(client, clock, 10)
    clock.shift(15 * 60)
    try_login(client, "admin", "faux")
    assert TOO_MANY in try_login(client, "admin", PASSWORD).get_data(as_text=True)


def test_the_account_counter_ignores_case_and_counts_unknown_usernames_too(
    client: FlaskClient, clock
) -> None:
    fail(client, clock, 5, username="Inconnu")
    fail(client, clock, 5, username="INCONNU")
    page = try_login(client, "inconnu", "faux").get_data(as_text=True)
    assert BAD in page and TOO_MANY in page
    assert throttle_row(ThrottleKind.ACCOUNT, "inconnu").failures == 11


def test_an_address_is_throttled_across_usernames(client: FlaskClient, admin, clock) -> None:
    attacker = "203.0.113.7"
    token = login_token(client)
    lock_after = rules.THRESHOLDS[ThrottleKind.ADDRESS].lock_after
    for number in range(lock_after):
        response = try_login(client, f"essai{number}", "faux", token=token, address=attacker)
        assert TOO_MANY not in response.get_data(as_text=True)
        clock.shift(61)
    refused = try_login(client, "admin", PASSWORD, token=token, address=attacker)
    assert refused.status_code == 200
    assert TOO_MANY in refused.get_data(as_text=True)
    # Anyone else still logs in.
    assert (
        try_login(client, "admin", PASSWORD, token=token, address="198.51.100.2").status_code == 302
    )


def test_the_address_delay_starts_later_than_the_account_delay(
    client: FlaskClient, admin, clock
) -> None:
    token = login_token(client)
    delay_after = rules.THRESHOLDS[ThrottleKind.ADDRESS].delay_after
    for number in range(delay_after):
        response = try_login(client, f"essai{number}", "faux", token=token)
        assert TOO_MANY not in response.get_data(as_text=True)
    assert TOO_MANY in try_login(client, "autre", "faux", token=token).get_data(as_text=True)


def test_successful_logins_from_one_address_never_throttle_it(
    client: FlaskClient, admin, clock
) -> None:
    for _ in range(rules.THRESHOLDS[ThrottleKind.ADDRESS].delay_after + 5):
        assert try_login(client, "admin", PASSWORD).status_code == 302
        client.post("/deconnexion", data={"csrf_token": page_token(client)})
    assert db.session.scalar(select(LoginThrottle)) is None


def test_concurrent_failures_are_all_counted(app: Flask) -> None:
    """Each failure is one UPDATE: threads failing at once never lose a count."""
    keys = throttle.keys_for("cible", "192.0.2.1")
    errors: list[BaseException] = []

    def fail_five_times() -> None:
        try:
            with app.app_context():
                for _ in range(5):
                    throttle.record_failure(keys, utcnow())
                    db.session.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=fail_five_times) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert throttle_row(ThrottleKind.ACCOUNT, "cible").failures == 30
    assert throttle_row(ThrottleKind.ADDRESS, "192.0.2.1").failures == 30
    assert throttle_row(ThrottleKind.ACCOUNT, "cible").locked_until is not None


def test_a_very_long_username_is_counted_under_its_first_80_characters(
    client: FlaskClient, clock
) -> None:
    try_login(client, "x" * 5000, "faux")
    assert throttle_row(ThrottleKind.ACCOUNT, "x" * 80).failures == 1


def test_a_disabled_account_with_its_right_password_gets_the_same_answer(
    client: FlaskClient, clock
) -> None:
    make_user("parti", role="gestionnaire", is_enabled=False)
    response = try_login(client, "parti", PASSWORD)
    assert response.status_code == 200
    assert BAD in response.get_data(as_text=True)
    assert throttle_row(ThrottleKind.ACCOUNT, "parti").failures == 1
