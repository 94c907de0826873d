"""« Mise en service » (issue 10 §7): the go-live checklist page, for admins.

A page with the choice of a public client (and contract) and a « Lancer » button; the run
answers the ``#go-live`` component (HTMX) or the whole page. A 404 while dematerialization
is off (S1), like every Chorus screen.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from portal import transactions
from portal.auth.access import requires
from portal.auth.models import Role
from portal.connection import golive_service
from portal.htmx import fragment, is_htmx, render
from portal.settings import chorus as chorus_settings
from portal.validators import ValidationFailed

bp = Blueprint("golive", __name__, url_prefix="/administration/mise-en-service")

PAGE = "connection/go_live.html"
COMPONENT = "connection/_go_live.html"
INVALID = 422
TOO_MANY = 429


@bp.before_request
def _only_while_enabled() -> None:
    """S1: no Chorus screen exists while dematerialization is off."""
    if not chorus_settings.is_chorus_enabled():
        abort(404)


def _id(raw: str | None) -> int | None:
    """An id from the request, None when absent or not one (never an error)."""
    try:
        return golive_service.parse_id(raw)
    except ValueError:
        return None


def _context(
    search: str | None, client_id: int | None, contract_id: int | None, **extra: Any
) -> dict[str, Any]:
    search = (search or "")[: golive_service.MAX_SEARCH]
    return {
        "search": search,
        "client_choices": golive_service.client_options(search, client_id),
        "contract_choices": golive_service.contract_options(client_id),
        "contract_id": contract_id,
        "environment_label": chorus_settings.load().environment.label,
        "errors": {},
        **extra,
    }


@bp.route("/")
@requires(Role.ADMIN)
def page() -> Response:
    """The checklist page (``?client_id=`` preselects a client)."""
    args = request.args
    context = _context(
        args.get("recherche_client"), _id(args.get("client_id")), _id(args.get("contract_id"))
    )
    return render(PAGE, **context)


@bp.route("/clients")
@requires(Role.ADMIN)
def client_options() -> Response:
    """HTMX: the client select's options for what was typed in the search box."""
    search = (request.args.get("recherche_client") or "")[: golive_service.MAX_SEARCH]
    choices = golive_service.client_options(search, _id(request.args.get("client_id")))
    return fragment("portfolio/_client_options.html", choices=choices)


@bp.route("/contrats")
@requires(Role.ADMIN)
def contract_options() -> Response:
    """HTMX: the contract select's options for the chosen client."""
    options = golive_service.contract_options(_id(request.args.get("client_id")))
    return fragment("connection/_go_live_contract_options.html", options=options, selected=None)


@bp.route("/", methods=["POST"])
@requires(Role.ADMIN)
def run() -> Response:
    """« Lancer »: every step against the configured environment (throttled)."""
    form = request.form
    raw_client, raw_contract = form.get("client_id"), form.get("contract_id")
    search = form.get("recherche_client")
    status_if_page = 200
    try:
        choice = golive_service.parse_choice(raw_client, raw_contract)
    except ValidationFailed as failure:
        context = _context(search, _id(raw_client), _id(raw_contract), errors=failure.errors)
        status_if_page = INVALID
    else:
        client_id = choice.client.id if choice.client is not None else None
        contract_id = choice.contract.id if choice.contract is not None else None
        wait = golive_service.claim()
        if wait is not None:
            transactions.rollback()
            message = golive_service.throttled_message(wait)
            context = _context(search, client_id, contract_id, throttled=message)
            status_if_page = TOO_MANY
        else:
            transactions.commit()  # the claim holds before any Chorus call (no open transaction)
            result = golive_service.run(choice)
            context = _context(search, client_id, contract_id, run=result)
    # HTMX swaps only successful answers: the component says what went wrong itself.
    return render(PAGE, COMPONENT, status=200 if is_htmx() else status_if_page, **context)
