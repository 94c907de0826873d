"""Billing forms (French labels and messages; errors shown next to fields)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional

from portal import clock
from portal.billing.models import PaymentMethod
from portal.chorus.limits import NUMBER_RULE
from portal.validators import (
    FrenchForm,
    InvalidValue,
    NotBefore,
    PlausibleDate,
    clean_amount,
    coerce_row_id,
    optional_text,
    required_text,
    strip,
)


class AmountField(StringField):
    """A euro amount typed the French way (``1 234,56``, ``-50``); ``data`` is a Decimal.

    At most 2 decimals and below ``MAX_AMOUNT`` (``validators.clean_amount``): never rounded.
    """

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        try:
            self.data = clean_amount(valuelist[0])
        except InvalidValue as error:
            self.data = None
            raise ValueError(str(error)) from error

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, Decimal):
            return format(self.data, "f").replace(".", ",")
        return ""


NUMBER_MESSAGE = "Saisissez le numéro."
REQUIRED_DATE = InputRequired("Saisissez une date valide.")
PLAUSIBLE_DATE = PlausibleDate()
REQUIRED_AMOUNT = InputRequired("Saisissez un montant.")

# The contract number offers the contracts starting with what is typed (an HTMX datalist).
CONTRACT_PICKER = {
    "list": "contract-options",
    "autocomplete": "off",
    "hx-get": "/quittances/contrats",
    "hx-trigger": "input changed delay:250ms",
    "hx-target": "#contract-options",
    "hx-swap": "innerHTML",
}


class ReceiptForm(FrenchForm):
    number = required_text("N° de quittance", NUMBER_MESSAGE, 40)
    contract_number = required_text(
        "N° de contrat",
        "Saisissez le numéro du contrat.",
        40,
        description="Le client et la société sont ceux du contrat.",
        render_kw=CONTRACT_PICKER,
    )
    period_start_on = DateField("Début de période", [REQUIRED_DATE, PLAUSIBLE_DATE])
    period_end_on = DateField(
        "Fin de période",
        [
            REQUIRED_DATE,
            PLAUSIBLE_DATE,
            NotBefore(
                "period_start_on",
                "La fin de période doit être postérieure ou égale au début de période.",
            ),
        ],
    )
    entered_on = DateField("Date de saisie", [REQUIRED_DATE, PLAUSIBLE_DATE], default=clock.today)
    net_premium = AmountField("Prime nette", [REQUIRED_AMOUNT])
    taxes = AmountField("Taxes", [REQUIRED_AMOUNT])
    total = AmountField(
        "Total TTC",
        [REQUIRED_AMOUNT],
        description="Prime nette + taxes. Montants négatifs pour un remboursement.",
    )
    original_receipt_number = optional_text(
        "Quittance remboursée (n°)",
        40,
        description=(
            "Pour un remboursement : la quittance d'origine (même contrat ou même client). "
            "Chorus Pro reçoit alors un avoir qui la référence."
        ),
    )
    submit = SubmitField("Enregistrer")


class FeeInvoiceForm(FrenchForm):
    number = required_text("N° de facture", NUMBER_MESSAGE, 40)
    client_id = SelectField(
        "Client", coerce=coerce_row_id, validators=[InputRequired("Choisissez le client.")]
    )
    contract_number = optional_text(
        "N° de contrat (facultatif)",
        40,
        description="Le contrat doit appartenir au client.",
        render_kw=CONTRACT_PICKER,
    )
    company_id = SelectField(
        "Société émettrice",
        coerce=coerce_row_id,
        validators=[Optional()],
        description="Par défaut, la société du contrat.",
    )
    label = required_text("Libellé", "Saisissez le libellé.", 200, default="Honoraires de courtage")
    entered_on = DateField("Date de saisie", [REQUIRED_DATE, PLAUSIBLE_DATE], default=clock.today)
    amount_ht = AmountField("Montant HT", [REQUIRED_AMOUNT])
    vat_rate = AmountField(
        "Taux de TVA (%)",
        [REQUIRED_AMOUNT],
        default=Decimal("20"),
        description="De 0 à 100. La TVA et le TTC sont calculés à l'enregistrement.",
    )
    original_fee_invoice_number = optional_text(
        "Facture d'origine (n°)",
        40,
        description=(
            "Pour un avoir (montant HT négatif) : la facture qu'il annule (même client). "
            "Chorus Pro reçoit alors un avoir qui la référence."
        ),
    )
    submit = SubmitField("Enregistrer")


class ReissueForm(FrenchForm):
    """Réémettre sous un nouveau numéro: the copy's number (proposed, editable)."""

    number = required_text(
        "Nouveau numéro",
        NUMBER_MESSAGE,
        40,
        description=(
            f"Proposé par le portail, modifiable ({NUMBER_RULE}) ; jamais utilisé par une "
            "quittance ni une facture."
        ),
    )
    submit = SubmitField("Réémettre sous ce numéro")


class PdfUploadForm(FrenchForm):
    pdf = FileField("Fichier PDF", [FileRequired("Choisissez un fichier PDF.")])
    submit = SubmitField("Remplacer le PDF")


class PaymentEntryForm(FrenchForm):
    """Saisie des paiements: a payment for the document found, and its allocation."""

    document_kind = HiddenField()
    document_id = HiddenField()
    received_on = DateField(
        "Date d'encaissement", [REQUIRED_DATE, PLAUSIBLE_DATE], default=clock.today
    )
    amount = AmountField("Montant encaissé", [REQUIRED_AMOUNT])
    method = SelectField(
        "Mode de paiement",
        choices=[(method.value, method.label) for method in PaymentMethod],
        default=PaymentMethod.VIREMENT.value,
    )
    reference = StringField("Référence", [Optional(), Length(max=120)], filters=[strip])
    allocation_amount = AmountField(
        "Montant à affecter",
        [REQUIRED_AMOUNT],
        description="Par défaut, le reste à solder du document.",
    )
    submit = SubmitField("Enregistrer l'encaissement")
