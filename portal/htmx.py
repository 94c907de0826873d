"""Page-or-fragment rendering: one source of markup for full pages and HTMX swaps."""

from __future__ import annotations

from typing import Any

from flask import Response, get_flashed_messages, make_response, render_template, request


def is_htmx() -> bool:
    """True for an HTMX request that expects a fragment (not a history restore)."""
    htmx = request.htmx  # type: ignore[attr-defined]  # set by htmx_flask.Htmx
    return bool(htmx) and not htmx.history_restore_request


def render(
    page: str, fragment: str | None = None, /, *, status: int = 200, **context: Any
) -> Response:
    """Render ``fragment`` for HTMX requests and ``page`` otherwise; always ``Vary: HX-Request``.

    The page template includes the fragment, so markup has a single source.
    """
    template = fragment if fragment and is_htmx() else page
    body = render_template(template, **context)
    if template == fragment and is_htmx():
        body += render_template(
            "_flashes_oob.html", messages=get_flashed_messages(with_categories=True)
        )
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(url: str) -> Response:
    """Tell HTMX to navigate (plain redirect for non-HTMX requests)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    response = make_response("", 303)
    response.headers["Location"] = url
    return response
