"""Login (password, then the code of a second factor) and logout; the administrators'
« Connexions » page (journal, locks)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.auth import login_events, rules, services, sessions, throttle
from portal.auth.access import personal_action, requires
from portal.auth.forms import LoginForm, SecondFactorForm
from portal.auth.models import Role
from portal.clock import utcnow
from portal.pagination import requested_page

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.index")
    return target


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = services.authenticate(
            form.username.data,
            form.password.data,
            address=request.remote_addr,
            user_agent=request.user_agent.string,
            now=utcnow(),
        )
        if attempt.user is not None and attempt.needs_second_factor:
            sessions.await_second_factor(attempt.user, _safe_next(request.args.get("next")))
            return redirect(url_for("auth.second_factor"))
        if attempt.user is not None:
            sessions.start(attempt.user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(rules.BAD_CREDENTIALS)
        if attempt.wait_seconds:
            form.password.errors.append(rules.throttle_message(attempt.wait_seconds))
    return render_template("auth/login.html", form=form)


@bp.route("/connexion/code", methods=["GET", "POST"])
def second_factor() -> str | Response:
    """Second step of a login with a second factor (public: the user is not logged in yet)."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    was_pending = sessions.is_pending()
    user = sessions.awaiting_second_factor()
    if user is None:
        if was_pending:
            flash(rules.SECOND_FACTOR_TIMED_OUT, "warning")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        attempt = services.check_second_factor(
            user,
            form.code.data,
            address=request.remote_addr,
            user_agent=request.user_agent.string,
            now=utcnow(),
        )
        if attempt.user is not None:
            target = _safe_next(sessions.pending_next())
            sessions.start(attempt.user)
            return redirect(target)
        form.code.errors.append(rules.BAD_CODE)
        if attempt.wait_seconds:
            form.code.errors.append(rules.throttle_message(attempt.wait_seconds))
    return render_template("auth/second_factor.html", form=form)


@bp.route("/deconnexion", methods=["POST"])
@login_required
@personal_action
def logout() -> Response:
    """Ends every session of the user (a copied cookie stops working too)."""
    current_user.end_sessions()
    sessions.end_current()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


# -- Connexions (administrators) ----------------------------------------------------------------


@bp.route("/administration/connexions")
@requires(Role.ADMIN)
def connections() -> str:
    return render_template(
        "auth/connections.html",
        locked=throttle.locked(utcnow()),
        events=login_events.page(requested_page(request.args.get("page"))),
        policy=rules.policy(),
    )


@bp.route("/administration/connexions/<int:throttle_id>/debloquer", methods=["POST"])
@requires(Role.ADMIN)
def unlock(throttle_id: int) -> Response:
    row = throttle.unlock(throttle_id)
    if row is None:
        abort(404)
    flash(f"{row.kind.label} « {row.subject} » : blocage levé.", "success")
    return redirect(url_for("auth.connections"), code=303)
