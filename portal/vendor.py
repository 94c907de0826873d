"""Third-party front-end files served from their installed packages (no CDN, nothing committed).

Bootstrap comes from Bootstrap-Flask (``BOOTSTRAP_SERVE_LOCAL``); htmx 2 from the PyPI
package ``django-js-lib-htmx``, read here with ``importlib.resources``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from flask import Blueprint, Response

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@cache
def _htmx_source() -> bytes:
    return resources.files("js_lib_htmx").joinpath("static/htmx/htmx.min.js").read_bytes()


@bp.route("/htmx.min.js")
def htmx() -> Response:
    response = Response(_htmx_source(), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
