"""Notifications — placeholder until the notifications pages land."""

from flask import Blueprint, render_template

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
def index() -> str:
    return render_template("placeholder.html", title="Notifications")


@bp.route("/cloche")
def bell() -> str:
    return ""
