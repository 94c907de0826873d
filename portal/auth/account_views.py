"""« Mon compte »: every user changes their own password and manages their second factor.

Every role may use these pages (the POST views are ``@personal_action``: they only touch the
user's own account). Changing the password or the second factor ends the user's other
sessions and keeps this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal import transactions
from portal.auth import account, second_factor, sessions
from portal.auth.access import personal_action
from portal.auth.forms import PasswordChangeForm, SecondFactorConfirmForm, SecondFactorDisableForm
from portal.auth.models import User
from portal.clock import utcnow
from portal.htmx import render
from portal.validators import ValidationFailed, submit

bp = Blueprint("account", __name__, url_prefix="/mon-compte")
# The disabling form shares the page with the password form: its fields get their own names.
DISABLE_PREFIX = "desactivation"


def _me() -> User:
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def _client() -> dict[str, Any]:
    return {
        "address": request.remote_addr,
        "user_agent": request.user_agent.string,
        "now": utcnow(),
    }


def _page(
    *,
    password_form: PasswordChangeForm | None = None,
    disable_form: SecondFactorDisableForm | None = None,
    status: int = 200,
) -> Response:
    user = _me()
    return render(
        "auth/account.html",
        status=status,
        password_form=password_form or PasswordChangeForm(formdata=None),
        disable_form=disable_form or SecondFactorDisableForm(formdata=None, prefix=DISABLE_PREFIX),
        recovery_codes_left=second_factor.recovery_codes_left(user),
        recovery_code_count=second_factor.RECOVERY_CODE_COUNT,
        required=user.is_admin and second_factor.required_for_admins(),
    )


def _change_own_account(
    form: FlaskForm, change: Callable[[User], object], done: str
) -> Response | None:
    """Once ``form`` is valid, ``change`` the user's account (checking their password or code),
    keep this session (the change ended the others), say ``done`` and go back to the account
    page. None when the form or the change is refused: the page then answers 422."""
    if not form.validate_on_submit():
        return None
    user = _me()
    try:
        change(user)
    except ValidationFailed as failure:
        transactions.commit()  # the failed attempt stays counted though the form answers 422
        failure.apply_to(form)
        return None
    sessions.keep_current(user)
    flash(done, "success")
    return redirect(url_for("account.index"), code=303)


@bp.route("/")
def index() -> Response:
    return _page()


@bp.route("/mot-de-passe", methods=["POST"])
@personal_action
def password() -> Response:
    form = PasswordChangeForm()
    done = _change_own_account(
        form,
        lambda user: account.change_password(
            user, current=form.current_password.data, new=form.password.data, **_client()
        ),
        "Mot de passe modifié. Vos autres sessions ont été fermées.",
    )
    if done is not None:
        return done
    return _page(password_form=form, status=422)


@bp.route("/double-authentification", methods=["GET", "POST"])
@personal_action
def second_factor_enrol() -> Response:
    """Show the QR code and the secret; a code from the application turns the factor on and
    the recovery codes are shown, once."""
    user = _me()
    if user.has_second_factor:
        flash("La double authentification est déjà activée sur votre compte.", "info")
        return redirect(url_for("account.index"), code=303)
    secret = second_factor.pending_secret(user)
    transactions.commit()  # the pending secret is kept whatever the code typed
    form = SecondFactorConfirmForm()
    codes = submit(form, lambda: account.enable_second_factor(user, form.code.data, utcnow()))
    if codes is not None:
        sessions.keep_current(user)
        return render("auth/recovery_codes.html", codes=codes)
    return render(
        "auth/second_factor_enrol.html",
        status=422 if request.method == "POST" else 200,
        form=form,
        qr_code=second_factor.qr_data_uri(second_factor.provisioning_uri(secret, user.username)),
        secret=second_factor.format_secret(secret),
        forced=second_factor.must_enrol(user),
    )


@bp.route("/double-authentification/desactiver", methods=["POST"])
@personal_action
def second_factor_disable() -> Response:
    form = SecondFactorDisableForm(prefix=DISABLE_PREFIX)
    user = _me()
    if not user.has_second_factor:
        return redirect(url_for("account.index"), code=303)
    done = _change_own_account(
        form,
        lambda user: account.disable_second_factor(
            user, password=form.password.data, code=form.code.data, **_client()
        ),
        "Double authentification désactivée. Vos autres sessions ont été fermées.",
    )
    if done is not None:
        return done
    return _page(disable_form=form, status=422)
