"""Forms of the Chorus follow-up pages (French labels and messages)."""

from __future__ import annotations

from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import InputRequired

from portal import clock
from portal.billing.models import PaymentMethod
from portal.validators import FrenchForm, PlausibleDate


class SettleForm(FrenchForm):
    """À solder: the payment date (and mode) of the documents ticked in the list."""

    received_on = DateField(
        "Date d'encaissement",
        [InputRequired("Saisissez une date d'encaissement valide."), PlausibleDate()],
        default=clock.today,
    )
    method = SelectField(
        "Mode de paiement",
        choices=[(method.value, method.label) for method in PaymentMethod],
        default=PaymentMethod.VIREMENT.value,
    )
    submit = SubmitField("Solder la sélection")
