"""Fixtures of the Chorus screens' tests: settings aimed at the emulator, HTMX posts, roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.chorus.emulator.server import RunningEmulator
from portal.connection import health
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from portal.settings.models import RecipientListMember
from tests.browser.conftest import browser, live_server, page  # noqa: F401  (re-exported fixtures)
from tests.chorus.emulator_fixtures import (  # noqa: F401  (fixtures used by name)
    chorus_emulator,
    chorus_emulator_server,
)
from tests.factories import csrf_token_from
from tests.sending.conftest import configure_chorus

HX = {"HX-Request": "true"}
# Nothing listens there: connections are refused at once (the emulator "down").
DOWN_URL = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings under test come from the database unless a test sets a variable."""
    for variable in keys.ENV_OVERRIDES.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(autouse=True)
def _fresh_health_recorder() -> Iterator[None]:
    """Each test sees its first success written (no throttling carried over)."""
    health.RECORDER.reset()
    yield
    health.RECORDER.reset()


@pytest.fixture
def short_timeouts(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "CHORUS_READ_TIMEOUT", 2.0)
    monkeypatch.setitem(app.config, "CHORUS_CONNECT_TIMEOUT", 2.0)


@pytest.fixture
def chorus(app: Flask, chorus_emulator: RunningEmulator, short_timeouts: None) -> RunningEmulator:
    """S1 on and the stored settings aimed at the emulator (demo credentials)."""
    configure_chorus(chorus_emulator.base_url)
    return chorus_emulator


@pytest.fixture
def chorus_down(app: Flask, short_timeouts: None) -> str:
    """S1 on and the settings aimed at an address where nothing answers."""
    configure_chorus(DOWN_URL)
    return DOWN_URL


@pytest.fixture
def chorus_admin(admin: Any) -> Any:
    """The admin, member of the Administrateurs Chorus list."""
    db.session.add(RecipientListMember(list_key="chorus_admins", user_id=admin.id))
    db.session.commit()
    return admin


def chorus_off() -> None:
    store.put_bool(keys.CHORUS_ENABLED, False)
    db.session.commit()


PostFn = Callable[..., TestResponse]


@pytest.fixture
def post(client: FlaskClient) -> PostFn:
    """An HTMX POST with the session's CSRF token in the header, as the page's htmx sends it."""

    def do_post(url: str, data: dict[str, Any] | None = None, *, htmx: bool = True) -> TestResponse:
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        headers = {"X-CSRFToken": token, **(HX if htmx else {})}
        return client.post(url, data=data or {}, headers=headers)

    return do_post


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
