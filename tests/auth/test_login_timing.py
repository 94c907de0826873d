"""User enumeration: an unknown user costs the same work and gets the same answer (issue 12, 2)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from portal.auth import models
from tests.auth.conftest import login_token, try_login
from tests.conftest import PASSWORD
from tests.factories import make_user


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash verified, in order (the method part of the hash)."""
    checked: list[str] = []
    real = models.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    return checked


def answer(client: FlaskClient, username: str, password: str = "faux") -> str:
    """The login page's answer, without the per-request CSRF token."""
    response = try_login(client, username, password, token=login_token(client))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "", page)


def test_an_unknown_user_costs_one_hash_check_like_a_known_one(
    client: FlaskClient, admin, hash_checks: list[str]
) -> None:
    known = answer(client, "admin")
    unknown = answer(client, "personne")
    assert len(hash_checks) == 2
    assert hash_checks[0] == hash_checks[1]  # same hasher, same parameters
    assert known.replace("admin", "") == unknown.replace("personne", "")
    assert "Identifiant ou mot de passe incorrect." in unknown


def test_a_disabled_account_costs_the_same_and_answers_the_same(
    client: FlaskClient, hash_checks: list[str]
) -> None:
    make_user("parti", role="gestionnaire", is_enabled=False)
    disabled = answer(client, "parti", PASSWORD)
    unknown = answer(client, "autre", PASSWORD)
    assert len(hash_checks) == 2
    assert disabled.replace("parti", "") == unknown.replace("autre", "")


def test_the_dummy_hash_is_made_like_the_users_hashes(admin) -> None:
    method = admin.password_hash.split("$", 1)[0]
    assert models._dummy_hash().split("$", 1)[0] == method


def test_throttled_answers_are_the_same_for_known_and_unknown_users(
    client: FlaskClient, admin, clock, hash_checks: list[str]
) -> None:
    for username in ("admin", "personne"):
        for _ in range(10):
            answer(client, username)
    hash_checks.clear()
    known = answer(client, "admin")
    unknown = answer(client, "personne")
    assert hash_checks == []  # refused before any check
    assert "Trop de tentatives" in known
    assert known.replace("admin", "") == unknown.replace("personne", "")
