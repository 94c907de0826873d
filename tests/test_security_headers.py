"""Issue 12 (6): security headers on every response, HTTPS-only cookies and HSTS by setting,
the reverse-proxy setting (ProxyFix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from portal import create_app
from portal.config import Config
from portal.security_headers import CONTENT_SECURITY_POLICY
from tests.conftest import app_config, login

COMMON = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _assert_common(response: Any) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, name


def test_the_policy_allows_only_the_portals_own_files() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["img-src"] == "'self' data:"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_pages_fragments_downloads_and_errors_carry_the_headers_and_are_never_stored(
    client: FlaskClient, admin
) -> None:
    anonymous = client.get("/connexion")
    _assert_common(anonymous)
    assert anonymous.headers["Cache-Control"] == "no-store"
    login(client, admin)
    for url in ("/", "/notifications/cloche", "/quittances", "/page-inexistante"):
        response = client.get(url, headers={"HX-Request": "true"} if "cloche" in url else {})
        _assert_common(response)
        assert response.headers["Cache-Control"] == "no-store", url
    assert client.get("/page-inexistante").status_code == 404


def test_static_files_stay_cacheable(client: FlaskClient) -> None:
    for url in ("/static/portal.js", "/vendor/htmx.min.js"):
        response = client.get(url)
        assert response.status_code == 200
        _assert_common(response)
        assert "no-store" not in response.headers.get("Cache-Control", ""), url
        response.close()


def test_no_inline_script_or_style_is_left_in_the_layout(client: FlaskClient, admin) -> None:
    login(client, admin)
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert '"allowEval": false' in html and '"includeIndicatorStyles": false' in html


def test_without_secure_cookies_there_is_no_hsts(client: FlaskClient, admin) -> None:
    response = client.get("/connexion")
    assert "Strict-Transport-Security" not in response.headers


def test_secure_cookies_send_hsts_and_mark_the_session_cookie_secure(
    app: Flask, client: FlaskClient, admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    response = client.get("/connexion")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_the_settings_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = Config.from_env(tmp_path).to_flask()
    assert defaults["SESSION_COOKIE_SECURE"] is False  # the local demo runs over http
    assert defaults["PROXY_FIX_HOPS"] == 0
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("PROXY_FIX_HOPS", "2")
    values = Config.from_env(tmp_path).to_flask()
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["REMEMBER_COOKIE_SECURE"] is True
    assert values["PROXY_FIX_HOPS"] == 2


def _app(tmp_path: Path, hops: int) -> Flask:
    return create_app(app_config(tmp_path, proxy_fix_hops=hops))


def test_proxy_hops_trust_the_forwarded_headers_of_that_many_proxies(tmp_path: Path) -> None:
    assert not isinstance(_app(tmp_path / "direct", 0).wsgi_app, ProxyFix)
    proxied = _app(tmp_path / "proxied", 1).wsgi_app
    assert isinstance(proxied, ProxyFix)
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    proxied.app = inner
    Client(proxied).get(
        "/",
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Host": "portail.example.fr",
        },
    )
    assert seen["wsgi.url_scheme"] == "https"
    assert seen["REMOTE_ADDR"] == "203.0.113.7"
    assert seen["HTTP_HOST"] == "portail.example.fr"
