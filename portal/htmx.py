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
    """Page or fragment: ``fragment`` for HTMX requests (with the flash region out of band),
    ``page`` otherwise; always ``Vary: HX-Request``.

    The page template includes the fragment, so markup has a single source.
    """
    if fragment and is_htmx():
        return _respond(render_template(fragment, **context) + _flashes_oob(), status)
    return _respond(render_template(page, **context), status)


def fragment(
    template: str, /, *, status: int = 200, flashes: bool = False, **context: Any
) -> Response:
    """Fragment only: ``template`` whatever the request (an HTMX component, a select's options).

    With ``flashes``, an HTMX request also gets the flash region out of band; without it the
    page's flash region is left as it is.
    """
    body = render_template(template, **context)
    if flashes and is_htmx():
        body += _flashes_oob()
    return _respond(body, status)


def _flashes_oob() -> str:
    return render_template("_flashes_oob.html", messages=get_flashed_messages(with_categories=True))


def _respond(body: str, status: int) -> Response:
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
