"""Helpers of the portfolio tests: CSRF-valid posts, S1 switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.settings import chorus, store
from tests.browser.conftest import browser, live_server, page  # noqa: F401  (re-exported fixtures)
from tests.factories import csrf_token_from


@pytest.fixture
def chorus_on(app: Any) -> None:
    """S1 switched on."""
    store.put_bool(chorus.CHORUS_ENABLED, True)
    db.session.commit()


PostFn = Callable[..., TestResponse]


@pytest.fixture
def post(client: FlaskClient) -> PostFn:
    """POST with a valid CSRF token taken from the home page (the session's token)."""

    def do_post(url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        payload = {"csrf_token": token, **(data or {})}
        return client.post(url, data=payload, **kwargs)

    return do_post


def client_form(**overrides: str) -> dict[str, str]:
    """The client form as typed: a commune with a SIRET spaced as people type it."""
    data = {
        "kind": "entreprise",
        "name": "Commune de Sceaux",
        "address": "122 rue Houdan",
        "postal_code": "92330",
        "city": "Sceaux",
        "email": "compta@sceaux.fr",
        "siret": "217 500 016 00019",
    }
    data.update(overrides)
    return data


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
