"""Forms of the dematerialization screens (CSRF and French messages through FrenchForm)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    """« Dématérialiser dans Chorus Pro »: GED documents added as secondary attachments.

    Each ticked document's Chorus type comes in ``type-<id>`` (one select per row, read by
    :func:`posted_attachment_types`; ``AttachmentTypes.choose`` decides what is valid).
    """

    pieces = GedPiecesField("Pièces jointes complémentaires", coerce=int)


MAX_POSTED_TYPE_LENGTH = 200  # anything longer is refused anyway: never read more


def attachment_type_field(document_id: int) -> str:
    """Name of the « Type Chorus Pro » select of one GED document on the send screen."""
    return f"type-{document_id}"


def posted_attachment_types(formdata: Mapping[str, Any], ids: Iterable[int]) -> dict[int, str]:
    """The type posted for each GED document id (empty when absent), bounded in length."""
    posted = {}
    for document_id in ids:
        value = formdata.get(attachment_type_field(document_id))
        posted[document_id] = value[:MAX_POSTED_TYPE_LENGTH] if isinstance(value, str) else ""
    return posted


class UseServiceForm(FrenchForm):
    """B3 « Utiliser ce service » on the contract page."""

    code = StringField(
        "Code service",
        validators=[
            InputRequired(message="Choisissez un service."),
            Length(max=100, message="Code service trop long."),
        ],
    )
