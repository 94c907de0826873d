"""Administration — placeholder until the settings pages land."""

from flask import Blueprint, render_template

from portal.auth.access import requires
from portal.auth.models import Role

bp = Blueprint("settings", __name__, url_prefix="/administration")


@bp.route("/")
@requires(Role.ADMIN)
def index() -> str:
    return render_template("placeholder.html", title="Administration")
