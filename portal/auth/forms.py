"""Login form, the second factor's code, « Mon compte » forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.auth.password_policy import HINT
from portal.auth.second_factor import CODE_MAX_LENGTH
from portal.validators import FrenchForm

CODE_TOO_LONG = "Code trop long : 6 chiffres, ou un code de secours (ABCD-EFGH-JKLM)."


class LoginForm(FlaskForm):
    username = StringField("Identifiant", validators=[DataRequired("Saisissez votre identifiant.")])
    password = PasswordField(
        "Mot de passe", validators=[DataRequired("Saisissez votre mot de passe.")]
    )
    submit = SubmitField("Se connecter")


def _code_field(label: str, description: str) -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired("Saisissez le code."),
            Length(max=CODE_MAX_LENGTH, message=CODE_TOO_LONG),
        ],
        description=description,
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "characters"},
    )


class SecondFactorForm(FrenchForm):
    """Second step of a login with a second factor."""

    code = _code_field(
        "Code de vérification",
        "Le code à 6 chiffres de votre application d'authentification, ou un code de secours.",
    )
    submit = SubmitField("Valider")


def _current_password(label: str, message: str) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(message)], render_kw={"autocomplete": "current-password"}
    )


def new_password(label: str, message: str) -> PasswordField:
    """A new password; the services apply the policy (``portal.auth.password_policy``)."""
    return PasswordField(
        label,
        validators=[DataRequired(message)],
        description=HINT,
        render_kw={"autocomplete": "new-password"},
    )


def password_confirmation(label: str) -> PasswordField:
    """The new password typed again (the form's ``password`` field)."""
    return PasswordField(
        label,
        validators=[EqualTo("password", "Les deux mots de passe ne correspondent pas.")],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(FrenchForm):
    current_password = _current_password(
        "Mot de passe actuel", "Saisissez votre mot de passe actuel."
    )
    password = new_password("Nouveau mot de passe", "Saisissez le nouveau mot de passe.")
    password_confirm = password_confirmation("Confirmation du nouveau mot de passe")
    submit = SubmitField("Changer le mot de passe")


class SecondFactorConfirmForm(FrenchForm):
    code = StringField(
        "Code affiché par l'application",
        validators=[
            DataRequired("Saisissez le code."),
            Length(max=CODE_MAX_LENGTH, message=CODE_TOO_LONG),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Activer")


class SecondFactorDisableForm(FrenchForm):
    password = _current_password("Mot de passe", "Saisissez votre mot de passe.")
    code = _code_field("Code de vérification", "Le code de l'application, ou un code de secours.")
    submit = SubmitField("Désactiver la double authentification")
