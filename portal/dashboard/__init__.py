"""Home page: a few counts and shortcuts."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.dashboard import queries

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def index() -> str:
    return render_template("dashboard/index.html", counts=queries.counts())
