"""Chorus Pro screens of the Système tab and the bank-account form (B4, B5).

HTMX fragments dropped into the spots the settings and portfolio pages leave for them:
``#chorus-connection-test``, ``#chorus-supplier-lookup``, ``#chorus-health``,
``#chorus-vat-reason-lookup``, ``#chorus-attachment-type-lookup`` and
``#bank-account-chorus-lookup``. Everything answers 404
while dematerialization is off (S1).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from portal import transactions
from portal.auth.access import requires
from portal.auth.models import Role
from portal.connection import health, services
from portal.htmx import fragment, is_htmx
from portal.jobs import scheduler
from portal.settings import attachment_types, vat_exemption
from portal.settings import chorus as chorus_settings
from portal.settings.forms import SystemSettingsForm
from portal.validators import ValidationFailed

bp = Blueprint("chorus", __name__, url_prefix="/administration/chorus")

CONNECTION_TEST = "connection/_connection_test_response.html"
SUPPLIER_LOOKUP = "connection/_supplier_lookup.html"
HEALTH = "connection/_health.html"
BANK_LOOKUP = "connection/_bank_lookup.html"
VAT_REASON_LOOKUP = "connection/_vat_reason_lookup.html"
ATTACHMENT_TYPE_LOOKUP = "connection/_attachment_type_lookup.html"


@bp.before_request
def _only_while_enabled() -> None:
    """S1: no Chorus screen exists while dematerialization is off."""
    if not chorus_settings.is_chorus_enabled():
        abort(404)


@bp.app_template_global("chorus_health_panel")
def chorus_health_panel() -> health.HealthPanel | None:
    """The B5 panel's values for the Système tab (None while S1 is off)."""
    if not chorus_settings.is_chorus_enabled():
        return None
    return health.panel()


@bp.route("/tester-la-connexion", methods=["POST"])
@requires(Role.ADMIN)
def connection_test() -> Response:
    """« Tester la connexion » (B5): each step's outcome, and the refreshed health panel."""
    result = services.run_connection_test()
    if not is_htmx():
        flash(result.summary, "success" if result.ok else "danger")
        return redirect(url_for("settings.system"), code=303)
    return fragment(CONNECTION_TEST, flashes=True, connection_test=result, health=health.panel())


@bp.route("/sante")
@requires(Role.ADMIN)
def health_panel() -> Response:
    return fragment(HEALTH, flashes=True, health=health.panel())


@bp.route("/identifiant-fournisseur")
@requires(Role.ADMIN)
def supplier_lookup() -> Response:
    """« Récupérer l'identifiant fournisseur » (B4): the structures to choose from."""
    return fragment(SUPPLIER_LOOKUP, flashes=True, lookup=services.lookup_supplier_structures())


@bp.route("/identifiant-fournisseur", methods=["POST"])
@requires(Role.ADMIN)
def supplier_use() -> Response:
    """Store the structure picked as "Identifiant fournisseur" (refused under an env override)."""
    try:
        chosen = services.use_supplier_id(request.form.get("structure_id", ""))
    except ValidationFailed as failure:
        transactions.rollback()
        if not is_htmx():
            flash(" ".join(failure.messages), "danger")
            return redirect(url_for("settings.system"), code=303)
        return fragment(
            SUPPLIER_LOOKUP,
            flashes=True,
            choice_error=" ".join(failure.messages),
            supplier_overridden=services.supplier_overridden(),
        )
    transactions.after_commit(lambda: scheduler.settings_changed(current_app))
    if not is_htmx():
        flash(f"Identifiant fournisseur {chosen} enregistré.", "success")
        return redirect(url_for("settings.system"), code=303)
    return fragment(SUPPLIER_LOOKUP, flashes=True, chosen=chosen)


@bp.route("/coordonnees-bancaires")
@requires(Role.GESTIONNAIRE)
def bank_lookup() -> Response:
    """« Récupérer depuis Chorus Pro » on a bank account (B4): codes to fill the form with."""
    lookup = services.lookup_bank_choices()
    return fragment(
        BANK_LOOKUP,
        flashes=True,
        bank=lookup,
        iban_hints=lookup.iban_hints(request.args.get("iban", "")[:64]),
    )


@bp.route("/motifs-exoneration-tva")
@requires(Role.ADMIN)
def vat_reason_lookup() -> Response:
    """Read the VAT exemption reasons Chorus accepts again (stored: they are what may be
    chosen) and answer the Système tab's choice with them, the admin's pick kept."""
    lookup = services.lookup_vat_exemption_reasons()
    vat = vat_exemption.current()
    return _offer_list_choice(
        VAT_REASON_LOOKUP,
        "vat_exemption_code",
        vat.choices(),
        vat.code,
        lookup=lookup,
        vat_exemption=vat,
    )


@bp.route("/types-pieces-jointes")
@requires(Role.ADMIN)
def attachment_type_lookup() -> Response:
    """Read the attachment types Chorus accepts again (throttled; stored: they are what may be
    chosen) and answer the Système tab's default-type choice with them, the admin's pick kept."""
    lookup = services.claim_attachment_types_lookup()
    transactions.commit()  # the claim holds before any Chorus call (no open transaction)
    if lookup is None:
        lookup = services.lookup_attachment_types()
    types = attachment_types.current()
    return _offer_list_choice(
        ATTACHMENT_TYPE_LOOKUP,
        "default_attachment_type",
        types.choices(),
        types.default,
        lookup=lookup,
        attachment_types=types,
    )


def _offer_list_choice(
    template: str,
    field: str,
    choices: list[tuple[str, str]],
    stored: str | None,
    **context: Any,
) -> Response:
    """The Système tab's select ``field`` offering ``choices``: the code the admin had picked
    (sent in the query string) stays selected when offered, else the ``stored`` one."""
    picked = request.args.get(field, "")
    if picked not in {code for code, _text in choices}:
        picked = stored or ""
    form = SystemSettingsForm(formdata=None, data={field: picked})
    form[field].choices = choices
    return fragment(template, flashes=True, form=form, **context)
