"""Administration: settings tabs (Assurances, Système), users, recipient lists (S1–S5)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from jinja2 import TemplateNotFound
from werkzeug.wrappers import Response

from portal import transactions
from portal.auth import second_factor, sessions
from portal.auth.access import requires
from portal.auth.models import Role, User
from portal.extensions import db
from portal.htmx import fragment, is_htmx, render
from portal.jobs import retries
from portal.jobs.scheduler import settings_changed
from portal.settings import attachment_types, chorus, recipients, services, vat_exemption
from portal.settings.forms import (
    AddRecipientForm,
    InsuranceSettingsForm,
    PasswordResetForm,
    SecondFactorRuleForm,
    SystemSettingsForm,
    UserCreateForm,
    UserEditForm,
)
from portal.validators import submit

bp = Blueprint("settings", __name__, url_prefix="/administration")


@bp.route("/")
@requires(Role.ADMIN)
def index() -> str:
    return render_template("settings/index.html", chorus_settings=chorus.load())


# -- Paramètres ---------------------------------------------------------------------------------


@bp.route("/parametres", methods=["GET", "POST"])
@requires(Role.ADMIN)
def insurance() -> str | Response:
    """Onglet Assurances (S1)."""
    form = InsuranceSettingsForm()
    if form.validate_on_submit():
        services.save_insurance(chorus_enabled=bool(form.chorus_enabled.data))
        _reschedule_after_commit()  # the 19:00 schedule follows S1 without a restart
        flash(
            "Dématérialisation de facture activée : ses paramètres sont dans l'onglet Système."
            if form.chorus_enabled.data
            else "Dématérialisation de facture désactivée.",
            "success",
        )
        return redirect(url_for("settings.insurance"), code=303)
    if request.method == "GET":
        form.chorus_enabled.data = chorus.is_chorus_enabled()
    return render_template("settings/insurance.html", form=form, tab="insurance")


@bp.route("/parametres/systeme", methods=["GET", "POST"])
@requires(Role.ADMIN)
def system() -> str | Response:
    """Onglet Système: Chorus Pro (S2–S4, S15), shown only while S1 is on."""
    enabled = chorus.is_chorus_enabled()
    form = SystemSettingsForm(
        data=None if request.method == "POST" else services.system_form_data()
    )
    if request.method == "POST":
        if not enabled:
            flash(
                "La dématérialisation est désactivée : "
                "activez-la d'abord dans l'onglet Assurances.",
                "warning",
            )
            return redirect(url_for("settings.system"), code=303)
        if submit(form, lambda: services.update_system(_system_input(form))) is not None:
            _reschedule_after_commit()
            flash("Paramètres Chorus Pro enregistrés.", "success")
            return redirect(url_for("settings.system"), code=303)
        flash("Le formulaire contient des erreurs : rien n'a été enregistré.", "danger")
    status = 200 if request.method == "GET" else 422
    settings = chorus.load()
    vat = vat_exemption.current(settings)
    form.vat_exemption_code.choices = vat.choices()
    types = attachment_types.current(settings)
    form.default_attachment_type.choices = types.choices()
    return render(
        "settings/system.html",
        status=status,
        form=form,
        tab="system",
        chorus_enabled_setting=enabled,
        states=services.field_states(settings.unreadable_secrets),
        chorus_settings=settings,
        default_urls=chorus.default_urls(settings.environment),
        default_recipient_freshness=str(chorus.DEFAULT_RECIPIENT_FRESHNESS_HOURS),
        default_retry_attempts=str(retries.DEFAULT_ATTEMPTS),
        default_retry_first_delay=str(retries.DEFAULT_FIRST_DELAY_SECONDS),
        vat_exemption=vat,
        attachment_types=types,
    )


def _reschedule_after_commit() -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    transactions.after_commit(lambda: settings_changed(app))


def _system_input(form: SystemSettingsForm) -> services.SystemInput:
    return services.SystemInput(
        environment=form.environment.data or "",
        client_id=form.client_id.data or "",
        client_secret=form.client_secret.data or "",
        clear_client_secret=bool(form.clear_client_secret.data),
        tech_login=form.tech_login.data or "",
        tech_password=form.tech_password.data or "",
        clear_tech_password=bool(form.clear_tech_password.data),
        user_id=form.user_id.data or "",
        supplier_id=form.supplier_id.data or "",
        oauth_url=form.oauth_url.data or "",
        api_url=form.api_url.data or "",
        auto_send_enabled=bool(form.auto_send_enabled.data),
        auto_settle=bool(form.auto_settle.data),
        delay_receipts=form.delay_receipts.data or "",
        delay_fee_invoices=form.delay_fee_invoices.data or "",
        cutoff_date=form.cutoff_date.data or "",
        recipient_freshness_hours=form.recipient_freshness_hours.data or "",
        retry_attempts=form.retry_attempts.data or "",
        retry_first_delay_seconds=form.retry_first_delay_seconds.data or "",
        vat_exemption_code=form.vat_exemption_code.data or "",
        default_attachment_type=form.default_attachment_type.data or "",
    )


# -- Utilisateurs -------------------------------------------------------------------------------


@bp.route("/utilisateurs")
@requires(Role.ADMIN)
def users() -> str:
    rows = services.users_by_name()
    rule_form = SecondFactorRuleForm(
        formdata=None, data={"required_for_admins": second_factor.required_for_admins()}
    )
    return render_template("settings/users.html", users=rows, rule_form=rule_form)


@bp.route("/utilisateurs/securite", methods=["POST"])
@requires(Role.ADMIN)
def users_security() -> Response:
    """« Double authentification obligatoire pour les administrateurs » (issue 12)."""
    form = SecondFactorRuleForm()
    if form.validate_on_submit():
        required = bool(form.required_for_admins.data)
        services.save_second_factor_rule(required_for_admins=required)
        flash(
            "Double authentification obligatoire pour les administrateurs : un administrateur "
            "qui ne l'a pas encore devra l'activer avant de continuer."
            if required
            else "Double authentification facultative pour les administrateurs.",
            "success",
        )
    return redirect(url_for("settings.users"), code=303)


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
@requires(Role.ADMIN)
def user_create() -> str | Response:
    form = UserCreateForm()
    user = submit(
        form,
        lambda: services.create_user(
            username=form.username.data,
            password=form.password.data,
            role=form.role.data,
            full_name=form.full_name.data or "",
            email=form.email.data,
            is_enabled=bool(form.is_enabled.data),
        ),
    )
    if user is not None:
        flash(f"Utilisateur « {user.username} » créé.", "success")
        return redirect(url_for("settings.users"), code=303)
    status = 422 if request.method == "POST" else 200
    return render("settings/user_form.html", status=status, form=form)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/utilisateurs/<int:user_id>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def user_edit(user_id: int) -> str | Response:
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    saved = submit(
        form,
        lambda: services.update_user(
            current_user,
            user,
            full_name=form.full_name.data or "",
            email=form.email.data,
            role=form.role.data,
            is_enabled=bool(form.is_enabled.data),
        ),
    )
    if saved is not None:
        flash(f"Utilisateur « {user.username} » enregistré.", "success")
        return redirect(url_for("settings.users"), code=303)
    status = 422 if request.method == "POST" else 200
    return render(
        "settings/user_form.html",
        status=status,
        form=form,
        user=user,
        password_form=PasswordResetForm(),
    )


@bp.route("/utilisateurs/<int:user_id>/double-authentification", methods=["POST"])
@requires(Role.ADMIN)
def user_second_factor_reset(user_id: int) -> Response:
    """Turn off a user's second factor (a lost phone); they log in with their password alone
    and may enrol again."""
    user = _user_or_404(user_id)
    services.reset_second_factor(user)
    sessions.keep_current(user)  # an administrator resetting their own second factor
    flash(f"Double authentification de « {user.username} » réinitialisée.", "success")
    return redirect(url_for("settings.user_edit", user_id=user.id), code=303)


@bp.route("/utilisateurs/<int:user_id>/mot-de-passe", methods=["POST"])
@requires(Role.ADMIN)
def user_password(user_id: int) -> Response:
    user = _user_or_404(user_id)
    password_form = PasswordResetForm()
    reset = submit(
        password_form, lambda: services.reset_password(user, password_form.password.data)
    )
    if reset is not None:
        sessions.keep_current(user)  # an administrator resetting their own password
        flash(f"Mot de passe de « {user.username} » réinitialisé.", "success")
        return redirect(url_for("settings.user_edit", user_id=user.id), code=303)
    return render(
        "settings/user_form.html",
        status=422,
        form=UserEditForm(obj=user),
        user=user,
        password_form=password_form,
    )


# -- Destinataires et déclencheurs des tâches ---------------------------------------------------


def _visible_lists() -> list[recipients.RecipientList]:
    enabled = chorus.is_chorus_enabled()
    return [rl for rl in recipients.RECIPIENT_LISTS.values() if enabled or not rl.is_chorus]


def _list_or_404(list_key: str) -> recipients.RecipientList:
    visible = {recipient_list.key: recipient_list for recipient_list in _visible_lists()}
    if list_key not in visible:
        abort(404)
    return visible[list_key]


def _add_form(list_key: str) -> AddRecipientForm:
    form = AddRecipientForm(prefix=list_key)
    form.user_id.choices = [
        (user.id, f"{user.display_name} ({user.username})")
        for user in recipients.candidates(list_key)
    ]
    return form


def _list_context(recipient_list: recipients.RecipientList) -> dict[str, Any]:
    return {
        "recipient_list": recipient_list,
        "members": recipients.all_members(recipient_list.key),
        "add_form": _add_form(recipient_list.key),
    }


@bp.route("/destinataires")
@requires(Role.ADMIN)
def recipients_page() -> str:
    lists = [_list_context(rl) for rl in _visible_lists()]
    return render_template(
        "settings/recipients.html",
        lists=lists,
        hidden_chorus=not chorus.is_chorus_enabled(),
        has_task_triggers=_template_exists("jobs/_task_triggers.html"),
    )


def _template_exists(name: str) -> bool:
    """Later issues drop their fragment in place (task triggers); until then a placeholder."""
    try:
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def _list_response(recipient_list: recipients.RecipientList) -> Response:
    if is_htmx():
        context = _list_context(recipient_list)
        return fragment("settings/_recipient_list.html", flashes=True, **context)
    return redirect(url_for("settings.recipients_page"), code=303)


@bp.route("/destinataires/<list_key>/ajouter", methods=["POST"])
@requires(Role.ADMIN)
def recipient_add(list_key: str) -> Response:
    recipient_list = _list_or_404(list_key)
    form = _add_form(list_key)
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        if user is not None and recipients.add_member(list_key, user):
            flash(f"{user.display_name} ajouté à la liste « {recipient_list.label} ».", "success")
    else:
        flash("Choisissez un utilisateur à ajouter.", "warning")
    return _list_response(recipient_list)


@bp.route("/destinataires/<list_key>/<int:user_id>/retirer", methods=["POST"])
@requires(Role.ADMIN)
def recipient_remove(list_key: str, user_id: int) -> Response:
    recipient_list = _list_or_404(list_key)
    user = _user_or_404(user_id)
    if recipients.remove_member(list_key, user):
        flash(f"{user.display_name} retiré de la liste « {recipient_list.label} ».", "success")
    return _list_response(recipient_list)
