"""Système tab (issue 11): how many attempts a document gets and the delay before the second."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.jobs import retries
from portal.settings import chorus, store
from tests.settings.helpers import SYSTEM_URL, enable_chorus, post_system


def test_the_retry_fields_are_on_the_system_tab_with_their_defaults(
    as_admin: FlaskClient,
) -> None:
    enable_chorus()
    html = unescape(as_admin.get(SYSTEM_URL).get_data(as_text=True))
    assert 'name="retry_attempts"' in html and 'placeholder="5"' in html
    assert 'name="retry_first_delay_seconds"' in html and 'placeholder="60"' in html
    assert "Nombre d'essais par document" in html
    assert "Délai avant le deuxième essai (secondes)" in html
    assert "chaque délai suivant double" in html
    assert "5 essais sur environ 15 minutes" in html


@pytest.mark.parametrize(
    ("attempts", "delay", "policy"),
    [
        ("3", "30", retries.RetryPolicy(attempts=3, first_delay_seconds=30)),
        (" 10 ", "3600", retries.RetryPolicy(attempts=10, first_delay_seconds=3600)),
        ("1", "0", retries.RetryPolicy(attempts=1, first_delay_seconds=0)),
        ("", "", retries.RetryPolicy()),
    ],
)
def test_the_retry_policy_is_saved(
    as_admin: FlaskClient, attempts: str, delay: str, policy: retries.RetryPolicy
) -> None:
    enable_chorus()
    response = post_system(as_admin, retry_attempts=attempts, retry_first_delay_seconds=delay)
    assert response.status_code == 303
    assert retries.load_policy() == policy
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    for name, typed in (("retry_attempts", attempts), ("retry_first_delay_seconds", delay)):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert tag is not None and f'value="{typed.strip()}"' in tag.group(0)


def test_emptying_a_field_returns_to_the_default(as_admin: FlaskClient) -> None:
    enable_chorus()
    post_system(as_admin, retry_attempts="2", retry_first_delay_seconds="10")
    assert retries.load_policy() == retries.RetryPolicy(attempts=2, first_delay_seconds=10)
    post_system(as_admin, retry_attempts="", retry_first_delay_seconds="")
    assert store.get(retries.ATTEMPTS) is None and store.get(retries.FIRST_DELAY_SECONDS) is None
    assert retries.load_policy() == retries.RetryPolicy()


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("retry_attempts", "0", "Nombre d'essais : un nombre entier entre 1 et 10."),
        ("retry_attempts", "11", "Nombre d'essais : un nombre entier entre 1 et 10."),
        ("retry_attempts", "cinq", "Nombre d'essais : un nombre entier entre 1 et 10."),
        ("retry_attempts", "2.5", "Nombre d'essais : un nombre entier entre 1 et 10."),
        ("retry_attempts", "-1", "Nombre d'essais : un nombre entier entre 1 et 10."),
        (
            "retry_first_delay_seconds",
            "3601",
            "Délai avant le deuxième essai : un nombre entier entre 0 et 3600.",
        ),
        (
            "retry_first_delay_seconds",
            "une minute",
            "Délai avant le deuxième essai : un nombre entier entre 0 et 3600.",
        ),
        (
            "retry_first_delay_seconds",
            "9" * 40,
            "Délai avant le deuxième essai : un nombre entier entre 0 et 3600.",
        ),
    ],
)
def test_a_wrong_retry_setting_is_refused_next_to_its_field_and_nothing_is_saved(
    as_admin: FlaskClient, field: str, bad: str, message: str
) -> None:
    enable_chorus()
    other = "retry_first_delay_seconds" if field == "retry_attempts" else "retry_attempts"
    response = post_system(as_admin, **{field: bad, other: "2"}, client_id="ne-pas-enregistrer")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    after = html[html.index(f'name="{field}"') :][:1500]
    assert "invalid-feedback" in after and message in after
    assert store.get(chorus.CLIENT_ID) is None
    assert store.get(retries.ATTEMPTS) is None and store.get(retries.FIRST_DELAY_SECONDS) is None


@pytest.mark.parametrize("user", ["as_gestionnaire", "as_lecteur"])
def test_only_admins_change_the_retry_policy(
    app: Flask, request: pytest.FixtureRequest, user: str
) -> None:
    client: FlaskClient = request.getfixturevalue(user)
    enable_chorus()
    assert client.get(SYSTEM_URL).status_code == 403
    response = client.post(SYSTEM_URL, data={"retry_attempts": "1"})
    assert response.status_code in (400, 403)
    assert store.get(retries.ATTEMPTS) is None
