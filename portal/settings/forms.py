"""Administration forms: settings tabs, users, recipient lists.

The Système form only collects strings: ``services.validate_system`` decides what is valid,
so the same rules serve the CLI, the seed and the tests.
"""

from __future__ import annotations

from flask_bootstrap import SwitchField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from portal.auth.forms import new_password, password_confirmation
from portal.auth.models import ROLE_LABELS, Role
from portal.jobs import retries
from portal.settings import chorus
from portal.validators import FrenchForm, strip

ROLE_CHOICES = [
    (role.value, ROLE_LABELS[role]) for role in (Role.LECTURE, Role.GESTIONNAIRE, Role.ADMIN)
]


DEFAULT_URL_HINT = "Facultatif : laissez vide pour l'adresse par défaut de l'environnement."


def _number_text(label: str, description: str) -> StringField:
    """A trimmed text field for a whole number (the service checks it), with a numeric keypad."""
    return StringField(
        label, filters=[strip], description=description, render_kw={"inputmode": "numeric"}
    )


class InsuranceSettingsForm(FrenchForm):
    """Onglet Assurances (S1)."""

    chorus_enabled = SwitchField(
        "Activer la dématérialisation de facture",
        description=(
            "Envoi des quittances et factures d'honoraires des clients publics vers "
            "Chorus Pro. Désactivée, aucune fonction Chorus n'est visible ni exécutée."
        ),
    )
    submit = SubmitField("Enregistrer")


class SystemSettingsForm(FrenchForm):
    """Onglet Système: Chorus Pro connection (S2), automatic sending (S3, S4), VAT reason."""

    environment = SelectField(
        "Environnement",
        choices=[(env.value, chorus.ENVIRONMENT_LABELS[env]) for env in chorus.Environment],
    )
    client_id = StringField("Client ID PISTE", filters=[strip], render_kw={"autocomplete": "off"})
    client_secret = PasswordField("Client secret PISTE", render_kw={"autocomplete": "new-password"})
    clear_client_secret = BooleanField("Effacer")
    tech_login = StringField(
        "Login du compte technique", filters=[strip], render_kw={"autocomplete": "off"}
    )
    tech_password = PasswordField(
        "Mot de passe du compte technique", render_kw={"autocomplete": "new-password"}
    )
    clear_tech_password = BooleanField("Effacer")
    user_id = _number_text(
        "Identifiant utilisateur courant",
        "Facultatif, chiffres uniquement (idUtilisateurCourant).",
    )
    supplier_id = _number_text(
        "Identifiant fournisseur",
        "Identifiant de la structure du cabinet dans Chorus Pro (idStructureCPP).",
    )
    oauth_url = StringField(
        "URL du service OAuth",
        filters=[strip],
        description=DEFAULT_URL_HINT,
    )
    api_url = StringField(
        "URL de l'API Chorus Pro",
        filters=[strip],
        description=DEFAULT_URL_HINT,
    )
    auto_send_enabled = SwitchField(
        "Dématérialiser automatiquement chaque jour à 19 h",
        description="Envoi automatique quotidien des quittances et factures arrivées à échéance.",
    )
    auto_settle = SwitchField(
        "Solder automatiquement les documents mis en paiement dans Chorus Pro",
        description=(
            "Au statut « Mise en paiement », un encaissement par virement est créé et affecté "
            "au document ; il est marqué « automatique (Chorus) » et annulable depuis la page "
            "À solder."
        ),
    )
    delay_receipts = _number_text(
        "Chorus - Délai en jours pour la dématérialisation automatique des primes d'assurance",
        "Nombre de jours d'avance sur la date d'effet ; vide = 0.",
    )
    delay_fee_invoices = _number_text(
        "Chorus - Délai en jours pour la dématérialisation automatique des factures d'honoraires",
        "Nombre de jours d'avance sur la date de saisie ; vide = 0.",
    )
    cutoff_date = StringField(
        "Chorus - Ne pas dématérialiser automatiquement les quittances et factures dont la "
        "date de saisie est antérieure ou égale au",
        filters=[strip],
        description="Obligatoire pour que l'envoi automatique fonctionne.",
        render_kw={"type": "date"},
    )
    recipient_freshness_hours = _number_text(
        "Durée de validité d'une vérification de destinataire (heures)",
        (
            "Pendant cette durée, un envoi ne réinterroge pas Chorus Pro sur une structure "
            "destinataire déjà vérifiée ; 0 = vérifier à chaque envoi ; vide = "
            f"{chorus.DEFAULT_RECIPIENT_FRESHNESS_HOURS} h. « Vérifier dans Chorus Pro » sur "
            "un contrat force toujours une nouvelle vérification."
        ),
    )
    retry_attempts = _number_text(
        "Nombre d'essais par document",
        (
            "Un document qui échoue pour une raison passagère (Chorus Pro indisponible, trop "
            f"de requêtes) est réessayé automatiquement : de {retries.MIN_ATTEMPTS} à "
            f"{retries.MAX_ATTEMPTS} essais en tout ; vide = {retries.DEFAULT_ATTEMPTS}."
        ),
    )
    retry_first_delay_seconds = _number_text(
        "Délai avant le deuxième essai (secondes)",
        (
            f"De 0 à {retries.MAX_FIRST_DELAY_SECONDS} s ; chaque délai suivant double. Vide = "
            f"{retries.DEFAULT_FIRST_DELAY_SECONDS} s : avec les valeurs par défaut, "
            f"{retries.DEFAULT_ATTEMPTS} essais sur environ 15 minutes."
        ),
    )
    # Choices: the stored copy of Chorus's list (vat_exemption.VatExemption.choices); the
    # service refuses anything else with a French message next to the field.
    vat_exemption_code = SelectField(
        "Motif d'exonération de TVA",
        choices=[],
        validate_choice=False,
        description=(
            "Code envoyé à Chorus Pro pour les primes d'assurance (exonérées de TVA) et les "
            "factures d'honoraires sans TVA, choisi dans la liste de Chorus Pro : sans motif, "
            "ces documents ne peuvent pas être envoyés."
        ),
    )
    # Choices: the stored copy of Chorus's list (attachment_types.AttachmentTypes.choices);
    # the service refuses anything else with a French message next to the field.
    default_attachment_type = SelectField(
        "Type de pièce jointe complémentaire par défaut",
        choices=[],
        validate_choice=False,
        description=(
            "Type proposé pour chaque pièce jointe complémentaire sur l'écran d'envoi (il "
            "reste modifiable pièce par pièce), choisi dans la liste de Chorus Pro."
        ),
    )
    submit = SubmitField("Enregistrer")


class _UserProfileForm(FrenchForm):
    """The fields of a user that an administrator sets at creation and may change later."""

    full_name = StringField(
        "Nom complet",
        filters=[strip],
        validators=[Length(max=120, message="120 caractères au plus.")],
    )
    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[Optional(), Email("Adresse e-mail invalide."), Length(max=254)],
    )


class UserCreateForm(_UserProfileForm):
    username = StringField(
        "Identifiant",
        filters=[strip],
        validators=[
            DataRequired("Saisissez l'identifiant."),
            Length(max=80, message="80 caractères au plus."),
            Regexp(
                r"^[A-Za-z0-9._@-]+$",
                message="Lettres sans accent, chiffres, point, tiret, @ ou souligné uniquement.",
            ),
        ],
    )
    role = SelectField("Rôle", choices=ROLE_CHOICES, default=Role.GESTIONNAIRE.value)
    is_enabled = SwitchField("Compte actif", default=True)
    password = new_password("Mot de passe", "Saisissez un mot de passe.")
    password_confirm = password_confirmation("Confirmation du mot de passe")
    submit = SubmitField("Créer l'utilisateur")


class UserEditForm(_UserProfileForm):
    role = SelectField("Rôle", choices=ROLE_CHOICES)
    is_enabled = SwitchField("Compte actif")
    submit = SubmitField("Enregistrer")


class PasswordResetForm(FrenchForm):
    password = new_password("Nouveau mot de passe", "Saisissez un mot de passe.")
    password_confirm = password_confirmation("Confirmation")
    submit = SubmitField("Réinitialiser le mot de passe")


class SecondFactorRuleForm(FrenchForm):
    required_for_admins = SwitchField(
        "Double authentification obligatoire pour les administrateurs",
        description=(
            "Un administrateur sans double authentification devra l'activer à sa prochaine "
            "page, avant de pouvoir utiliser le portail."
        ),
    )
    submit = SubmitField("Enregistrer")


class AddRecipientForm(FrenchForm):
    user_id = SelectField("Utilisateur", coerce=int, validate_choice=True)
    submit = SubmitField("Ajouter")
