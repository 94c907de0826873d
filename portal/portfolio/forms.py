"""Forms of the portfolio pages. Formats are checked here; rules that need the database
(uniqueness, company ↔ bank account pairing) are checked by the services."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from portal import validators as v
from portal.portfolio import client_picker, queries
from portal.portfolio.models import ClientKind, Term
from portal.portfolio.services import (
    BankAccountChorus,
    BankAccountData,
    ClientData,
    CompanyData,
    ContractChorus,
    ContractData,
)

# Chorus ids are BIGINT columns: 18 digits always fit.
CHORUS_ID_DIGITS = 18


class CompanyForm(v.FrenchForm):
    name = v.required_text("Raison sociale", "Saisissez la raison sociale.", 160)
    siren = StringField(
        "SIREN",
        filters=[v.strip],
        validators=[Optional(), v.Siren()],
        description="Facultatif : 9 chiffres.",
    )
    orias_number = StringField(
        "N° ORIAS",
        filters=[v.strip],
        validators=[
            Optional(),
            v.Digits(),
            Length(min=8, max=8, message="Le n° ORIAS comporte 8 chiffres."),
        ],
        description="Facultatif : 8 chiffres (immatriculation des intermédiaires d'assurance).",
    )
    address = TextAreaField("Adresse", filters=[v.strip], render_kw={"rows": 3})
    submit = SubmitField("Enregistrer")

    def to_data(self) -> CompanyData:
        return CompanyData(
            name=self.name.data,
            siren=self.siren.data or None,
            orias_number=self.orias_number.data or None,
            address=self.address.data or "",
        )


class BankAccountForm(v.FrenchForm):
    label = v.required_text("Libellé", "Saisissez un libellé (ex. « Compte principal »).", 120)
    iban = StringField(
        "IBAN",
        validators=[DataRequired("Saisissez l'IBAN."), v.Iban()],
        description="Les espaces sont acceptés.",
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    bic = StringField(
        "BIC",
        validators=[DataRequired("Saisissez le BIC."), v.Bic()],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    # S6 — present only while Chorus Pro is enabled (S1): see __init__.
    chorus_supplier_service_id = StringField(
        "Code du service du fournisseur",
        validators=[Optional(), v.Digits(max_length=CHORUS_ID_DIGITS)],
        description="Facultatif, chiffres uniquement (identifiant Chorus Pro du service).",
        render_kw={"inputmode": "numeric"},
    )
    chorus_bank_details_id = StringField(
        "Code du compte bancaire fournisseur",
        validators=[Optional(), v.Digits(max_length=CHORUS_ID_DIGITS)],
        description="Facultatif, chiffres uniquement (coordonnées bancaires dans Chorus Pro).",
        render_kw={"inputmode": "numeric"},
    )
    submit = SubmitField("Enregistrer")

    CHORUS_FIELDS = ("chorus_supplier_service_id", "chorus_bank_details_id")

    def __init__(self, *args: Any, chorus_enabled: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chorus_enabled = chorus_enabled
        if not self.is_submitted() and self.iban.data:
            self.iban.data = v.format_iban(self.iban.data)
        if not chorus_enabled:
            # S1: hidden, and whatever a forged POST carries is ignored.
            for name in self.CHORUS_FIELDS:
                delattr(self, name)

    def to_data(self) -> BankAccountData:
        data = BankAccountData(label=self.label.data, iban=self.iban.data, bic=self.bic.data)
        if self.chorus_enabled:
            service = self.chorus_supplier_service_id.data
            details = self.chorus_bank_details_id.data
            data.chorus = BankAccountChorus(
                supplier_service_id=int(service) if service else None,
                bank_details_id=int(details) if details else None,
            )
        return data


class ClientForm(v.FrenchForm):
    kind = SelectField(
        "Type de client",
        choices=[(kind.value, kind.label) for kind in ClientKind],
        default=ClientKind.ENTREPRISE.value,
    )
    name = v.required_text("Nom / raison sociale", "Saisissez le nom du client.", 200)
    address = TextAreaField("Adresse", filters=[v.strip], render_kw={"rows": 2})
    postal_code = StringField(
        "Code postal",
        filters=[v.strip],
        validators=[
            Optional(),
            Regexp(r"^[0-9A-Za-z -]{2,10}$", message="Code postal invalide (ex. 75001)."),
        ],
    )
    city = StringField("Ville", filters=[v.strip], validators=[Length(max=120)])
    email = StringField(
        "E-mail",
        filters=[v.strip],
        validators=[
            Optional(),
            Length(max=254),
            Email(message="Adresse e-mail invalide.", check_deliverability=False),
        ],
    )
    siret = StringField(
        "SIRET",
        filters=[v.strip],
        validators=[Optional(), v.Siret()],
        description="Facultatif : 14 chiffres (les espaces sont acceptés).",
        render_kw={"inputmode": "numeric"},
    )
    submit = SubmitField("Enregistrer")

    def __init__(self, *args: Any, chorus_enabled: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if chorus_enabled:  # S1: Chorus is mentioned only while it is on
            self.kind.description = (
                "Seuls les clients Entreprise (structures publiques) sont dématérialisables."
            )
            self.siret.description = (
                "14 chiffres (les espaces sont acceptés) ; obligatoire pour dématérialiser "
                "dans Chorus Pro."
            )

    def to_data(self) -> ClientData:
        return ClientData(
            kind=ClientKind(self.kind.data),
            name=self.name.data,
            address=self.address.data or "",
            postal_code=self.postal_code.data or "",
            city=self.city.data or "",
            email=self.email.data or None,
            siret=self.siret.data or None,
        )


class DocumentUploadForm(v.FrenchForm):
    file = FileField("Fichier", validators=[FileRequired("Choisissez un fichier à envoyer.")])
    submit = SubmitField("Ajouter à la GED")


class ContractForm(v.FrenchForm):
    number = v.required_text("N° de contrat", "Saisissez le numéro du contrat.", 40)
    client_id = SelectField(
        "Client",
        coerce=v.coerce_row_id,
        validate_choice=False,  # the service checks it exists, with a French message
        validators=[InputRequired("Choisissez le client.")],
    )
    company_id = SelectField(
        "Société",
        coerce=v.coerce_row_id,
        validate_choice=False,
        validators=[InputRequired("Choisissez la société.")],
    )
    bank_account_id = SelectField(
        "Compte bancaire d'encaissement",
        coerce=v.coerce_row_id,
        validate_choice=False,  # pairing with the company is checked by the service
        description="Un compte de la société choisie.",
    )
    product = v.required_text("Produit", "Saisissez le produit.", 160)
    insurer = v.required_text("Assureur", "Saisissez l'assureur.", 160)
    starts_on = DateField(
        "Date de début",
        validators=[InputRequired("Saisissez la date de début."), v.PlausibleDate()],
    )
    ends_on = DateField(
        "Date de fin", validators=[Optional(), v.PlausibleDate(), v.NotBefore("starts_on")]
    )
    term = SelectField(
        "Terme",
        choices=[(term.value, term.label) for term in Term],
        default=Term.ADVANCE.value,
        description="À échoir : prime payable en début de période ; échu : en fin de période.",
    )
    # S8 — present only while Chorus Pro is enabled (S1): see __init__.
    is_chorus_enabled = BooleanField("Activer Chorus Pro ?")
    chorus_service_code = StringField(
        "Code service",
        filters=[v.strip],
        validators=[Length(max=100)],
        description="Code du service exécutant de la structure publique destinataire.",
    )
    chorus_engagement_number = StringField(
        "Numéro d'engagement",
        filters=[v.strip],
        validators=[Length(max=50)],
        description="Numéro de bon de commande / engagement juridique.",
    )
    chorus_market_number = StringField(
        "Numéro de marché", filters=[v.strip], validators=[Length(max=50)]
    )
    submit = SubmitField("Enregistrer")

    CHORUS_FIELDS = (
        "is_chorus_enabled",
        "chorus_service_code",
        "chorus_engagement_number",
        "chorus_market_number",
    )

    def __init__(
        self, *args: Any, chorus_enabled: bool, with_party_choices: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.chorus_enabled = chorus_enabled
        if not chorus_enabled:
            for name in self.CHORUS_FIELDS:
                delattr(self, name)
        if with_party_choices:
            self.load_party_choices()
        self.set_bank_account_choices(self.company_id.data)

    def load_party_choices(self) -> None:
        """Clients and sociétés for the selects (skipped by the HTMX bank-account fragment)."""
        self.client_id.choices = client_picker.client_options(selected=self.client_id.data).options
        self.company_id.choices = [("", "Choisissez une société…")] + [
            (company.id, company.name) for company in queries.company_choices()
        ]
        self.company_id.render_kw = {
            "hx-get": url_for("portfolio.contract_bank_account_field"),
            "hx-target": "#bank-account-field",
            "hx-swap": "outerHTML",
            "hx-trigger": "change",
        }

    def set_bank_account_choices(self, company_id: int | None) -> None:
        """Offer the bank accounts of the chosen company only."""
        accounts = queries.bank_accounts_of(company_id) if company_id else []
        if company_id is None:
            placeholder = "Choisissez d'abord la société"
        elif accounts:
            placeholder = "Aucun compte choisi"
        else:
            placeholder = "Cette société n'a aucun compte bancaire"
        self.bank_account_id.choices = [("", placeholder)] + [
            (account.id, f"{account.label} — {account.iban_display}") for account in accounts
        ]

    def to_data(self) -> ContractData:
        data = ContractData(
            number=self.number.data,
            client_id=self.client_id.data,
            company_id=self.company_id.data,
            bank_account_id=self.bank_account_id.data,
            product=self.product.data,
            insurer=self.insurer.data,
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            term=Term(self.term.data),
        )
        if self.chorus_enabled:
            data.chorus = ContractChorus(
                is_enabled=bool(self.is_chorus_enabled.data),
                service_code=self.chorus_service_code.data or None,
                engagement_number=self.chorus_engagement_number.data or None,
                market_number=self.chorus_market_number.data or None,
            )
        return data
