"""Forms of the dematerialization screens (CSRF and French messages through FrenchForm)."""

from __future__ import annotations

from typing import Any

from wtforms import SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from portal.validators import FrenchForm


class GedPiecesField(SelectMultipleField):
    """Checked GED documents (ids); an id that is not the client's is refused in French."""

    def pre_validate(self, form: Any) -> None:
        known = {value for value, *_rest in self.choices or []}
        if any(value not in known for value in self.data or []):
            raise ValidationError(
                "Une pièce choisie n'appartient plus à la GED du client : rechargez la page."
            )


class SendForm(FrenchForm):
    """« Dématérialiser dans Chorus Pro »: GED documents added as secondary attachments."""

    pieces = GedPiecesField("Pièces jointes complémentaires", coerce=int)


class UseServiceForm(FrenchForm):
    """B3 « Utiliser ce service » on the contract page."""

    code = StringField(
        "Code service",
        validators=[
            InputRequired(message="Choisissez un service."),
            Length(max=100, message="Code service trop long."),
        ],
    )
