"""Sociétés, clients (with GED) and contrats — placeholder until the portfolio pages land."""

from flask import Blueprint, render_template

bp = Blueprint("portfolio", __name__)


@bp.route("/clients")
def clients_list() -> str:
    return render_template("placeholder.html", title="Clients")


@bp.route("/societes")
def companies_list() -> str:
    return render_template("placeholder.html", title="Sociétés")


@bp.route("/contrats")
def contracts_list() -> str:
    return render_template("placeholder.html", title="Contrats")
