"""Helpers of the login tests: browsers that share nothing but what they send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask, g
from flask.testing import FlaskClient

from tests.factories import csrf_token_from

# A fixed instant to start from: cookies are signed in the traveller's time, which only goes on.
START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _nothing_cached_between_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test requests share the test's app context, hence ``g``: without this, a request would
    see the user (Flask-Login) and CSRF token (Flask-WTF) of the previous request, whoever
    sent it. Each request here sees only its own cookies, as in production."""
    original = FlaskClient.open

    def open_fresh(self: FlaskClient, *args: Any, **kwargs: Any) -> Any:
        for cached in ("_login_user", "csrf_token"):
            g.pop(cached, None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_fresh)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """A stopped clock at ``START``: move it with ``clock.shift(seconds)``."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def timeouts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production defaults (the suite's app has no session timeouts)."""
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 60)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 12)


def login_token(client: FlaskClient) -> str:
    return csrf_token_from(client.get("/connexion").get_data(as_text=True))


def try_login(
    client: FlaskClient,
    username: str,
    password: str,
    *,
    token: str | None = None,
    address: str = "127.0.0.1",
    user_agent: str = "Navigateur de test",
) -> Any:
    """One POST of the login form."""
    return client.post(
        "/connexion",
        data={
            "username": username,
            "password": password,
            "csrf_token": token or login_token(client),
        },
        environ_base={"REMOTE_ADDR": address},
        headers={"User-Agent": user_agent},
    )


def page_token(client: FlaskClient, url: str = "/") -> str:
    return csrf_token_from(client.get(url).get_data(as_text=True))
