"""Helpers of the second factor tests: enrol through the pages, compute codes like a phone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pyotp
from flask.testing import FlaskClient

from tests.auth.conftest import try_login
from tests.conftest import PASSWORD
from tests.factories import csrf_token_from

ACCOUNT_URL = "/mon-compte/"
ENROL_URL = "/mon-compte/double-authentification"
DISABLE_URL = "/mon-compte/double-authentification/desactiver"
CODE_URL = "/connexion/code"
STEP = timedelta(seconds=30)


def secret_on(html: str) -> str:
    """The secret the enrolment page shows as text (groups of four)."""
    match = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def code_at(secret: str, when: datetime) -> str:
    """The code a phone shows at ``when``."""
    return pyotp.TOTP(secret).at(when)


def recovery_codes_on(html: str) -> list[str]:
    return re.findall(r">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})<", html)


def enrol(client: FlaskClient, when: datetime) -> tuple[str, list[str]]:
    """Turn the second factor on for the logged-in user; (secret, recovery codes)."""
    html = client.get(ENROL_URL).get_data(as_text=True)
    secret = secret_on(html)
    response = client.post(
        ENROL_URL, data={"csrf_token": csrf_token_from(html), "code": code_at(secret, when)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    codes = recovery_codes_on(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def send_code(client: FlaskClient, code: str) -> Any:
    """POST ``code`` on the second step of the login (its page must be open to the client)."""
    page = client.get(CODE_URL)
    assert page.status_code == 200, page.headers.get("Location")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(CODE_URL, data={"csrf_token": token, "code": code})


def log_in_with_code(client: FlaskClient, username: str, code: str) -> Any:
    """Password then code; the answer to the code."""
    response = try_login(client, username, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == CODE_URL
    return send_code(client, code)
