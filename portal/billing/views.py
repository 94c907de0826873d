"""Quittances, factures d'honoraires, encaissements — placeholder until the billing pages land."""

from flask import Blueprint, render_template

bp = Blueprint("billing", __name__)


@bp.route("/quittances")
def receipts_list() -> str:
    return render_template("placeholder.html", title="Quittances")


@bp.route("/factures")
def fee_invoices_list() -> str:
    return render_template("placeholder.html", title="Factures d'honoraires")


@bp.route("/encaissements")
def payments_list() -> str:
    return render_template("placeholder.html", title="Encaissements")
