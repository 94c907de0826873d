"""The password policy (issue 12, 4): 12 to 128 characters, not common, not the username."""

from __future__ import annotations

import pytest

from portal.auth import password_policy
from portal.auth.password_policy import (
    CLOSE_TO_USERNAME,
    TOO_COMMON,
    TOO_LONG,
    TOO_SHORT,
    password_problem,
)


@pytest.mark.parametrize(
    "password",
    [
        "demo-courtier-2026",
        "cheval-agrafe-pile",
        "éléphant-rose-été",  # accented letters
        "Ünïcødé-Mot-2026",
        "x7#Lq9!vT2@m",  # exactly 12 random characters
        "correct horse battery staple",  # spaces are characters like any other
        "a" + "Zq9-vX3!kL7#" * 10 + "b7",  # 123 characters
    ],
)
def test_a_long_uncommon_password_is_accepted(password: str) -> None:
    assert password_problem(password, "gestionnaire") is None


def test_twelve_characters_is_the_minimum() -> None:
    assert password_problem("q7#Lx9!vT2@", "paul") == TOO_SHORT  # 11
    assert password_problem("q7#Lx9!vT2@m", "paul") is None  # 12
    assert password_problem("", "paul") == TOO_SHORT
    assert password_problem(None, "paul") == TOO_SHORT


def test_128_characters_is_the_maximum() -> None:
    base = "Zq9-vX3!kL7#" * 11  # 132
    assert password_problem(base[:128], "paul") is None
    assert password_problem(base[:129], "paul") == TOO_LONG
    assert password_problem("x" * 100_000, "paul") == TOO_LONG


def test_characters_not_bytes_are_counted() -> None:
    # 12 characters, 24 bytes in UTF-8: long enough; 11 accented characters are not.
    assert password_problem("ééàèùç-ÉÀÈÙÇ", "paul") is None
    assert password_problem("ééàèùç-ÉÀÈÙ", "paul") == TOO_SHORT


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password123!",
        "motdepasse123456",  # a French common password with a common suffix
        "azertyuiop123",  # the French keyboard row
        "qwertyuiop12",
        "123456789012",
        "aaaaaaaaaaaa",
        "azertyazerty",
        "bonjourbonjour",
        "iloveyou2024",
        "P@ssw0rd1234",  # l33t does not hide it
        "soleil123456",
        "🐘🐘🐘🐘🐘🐘🐘🐘🐘🐘🐘🐘",
    ],
)
def test_a_common_or_easily_guessed_password_is_refused(password: str) -> None:
    assert password_problem(password, "gestionnaire") == TOO_COMMON


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("gestionnaire", "gestionnaire"),
        ("GESTIONNAIRE-2026", "gestionnaire"),  # contains it, whatever the case
        ("Gestionnair3!", "gestionnaire"),  # a character changed and one added
        ("mot-de-passe-de-paul", "paul"),  # contains it
        ("jean.dupont.cabinet", "jean.dupont"),
        ("Cabinet.Dupond", "cabinet.dupont"),  # one letter changed
        ("martine.durand", "martine.durand@cabinet.fr"),  # inside the username
        ("élodie-martin-75", "élodie.martin"),  # accented username
    ],
)
def test_a_password_close_to_the_username_is_refused(password: str, username: str) -> None:
    assert password_policy.is_close_to_username(password, username)
    assert password_problem(password, username) == CLOSE_TO_USERNAME


def test_a_short_username_is_not_looked_for_inside_the_password() -> None:
    # « jo » is in many words: a two-letter username does not forbid them.
    assert not password_policy.is_close_to_username("joyeux-lapin-vert", "jo")
    assert password_problem("joyeux-lapin-vert", "jo") is None
    assert password_policy.is_close_to_username("joe-lapin-vert", "joe")


def test_the_messages_are_french() -> None:
    assert "au moins 12 caractères" in TOO_SHORT
    assert "au plus 128 caractères" in TOO_LONG
    assert "trop courant" in TOO_COMMON
    assert "identifiant" in CLOSE_TO_USERNAME
