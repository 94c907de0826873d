"""Security headers on every response (issue 12).

- ``Content-Security-Policy``: only the portal's own files. No inline script and no eval:
  behaviour lives in ``static/portal.js`` (``data-*`` attributes, delegated listeners), htmx
  runs with ``allowEval: false`` (no ``hx-on``, no ``js:`` values, no ``[…]`` trigger filters)
  and its indicator styles come from ``portal.css`` (``includeIndicatorStyles: false``). No
  inline style either — neither ``<style>`` elements nor ``style`` attributes: widths computed
  on the server travel as ``data-width`` and ``portal.js`` applies them through the CSSOM,
  which CSP does not restrict, and htmx settles no ``style`` attribute (``attributesToSettle``
  without it: it would copy one with ``setAttribute``). ``data:`` images are Bootstrap's own
  SVG icons in its CSS. Nothing may frame the portal, forms only post to it, no plugins, no
  ``<base>`` elsewhere.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers),
  ``Referrer-Policy: same-origin``.
- ``Cache-Control: no-store`` on everything but the static files: pages, fragments and
  downloads hold the brokers' data and must not stay in a shared or browser cache.
- ``Strict-Transport-Security`` when cookies are HTTPS-only (``SESSION_COOKIE_SECURE``).
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
# Files served as they are (Bootstrap, its icons, htmx, portal.css/js): cacheable.
STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static", "vendor.htmx"})


def add_security_headers(response: Response) -> Response:
    """``after_request`` hook (also runs for error pages)."""
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if request.endpoint not in STATIC_ENDPOINTS:
        headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
