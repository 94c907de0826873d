"""Input checks shared by every area: French identifiers (SIRET, IBAN, BIC), digits, date order.

Two layers:
- ``clean_*`` functions are pure: they return the normalised value or raise ``InvalidValue``
  with a French message (services and the CLI use them directly);
- WTForms validators wrap them, put the message next to the field and store the normalised
  value back into ``field.data`` (so ``" 217 500 016 00019 "`` becomes ``"21750001600019"``).

``FrenchForm`` is a ``FlaskForm`` whose built-in WTForms messages ("Not a valid date value."…)
are in French, and ``ValidationFailed`` is the error a service raises so the view can show it
next to the right field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from wtforms import Field, Form
from wtforms import ValidationError as WTFormsValidationError
from wtforms.meta import DefaultMeta

_SPACES = re.compile(r"\s+")  # also matches non-breaking spaces


class InvalidValue(ValueError):
    """A value refused by a ``clean_*`` function; ``str(error)`` is the French message."""


class ValidationFailed(Exception):
    """A service refused its input. ``errors`` maps form field names to French messages.

    The key ``""`` holds errors that belong to no single field.
    """

    def __init__(self, errors: Mapping[str, str] | str) -> None:
        self.errors: dict[str, str] = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))

    @property
    def messages(self) -> list[str]:
        return list(self.errors.values())

    def apply_to(self, form: Form) -> None:
        """Show each message next to its field (unknown fields go to ``form.form_errors``)."""
        for name, message in self.errors.items():
            if name and name in form:
                field = form[name]
                field.errors = [*field.errors, message]
            else:
                form.form_errors.append(message)


class FrenchForm(FlaskForm):
    """``FlaskForm`` with WTForms' own French catalogue (Flask-Babel is not used here)."""

    class Meta:
        locales = ("fr_FR", "fr")

        def get_translations(self, form: Form) -> Any:
            return DefaultMeta.get_translations(self, form)  # type: ignore[arg-type]


# -- pure checks ---------------------------------------------------------------------------------


def compact(value: str | None) -> str:
    """Remove every space (also non-breaking ones) people type inside numbers."""
    return _SPACES.sub("", value or "")


def clean_siret(value: str) -> str:
    """14 digits with a valid checksum (spaces tolerated); returns the compact SIRET."""
    number = compact(value)
    if not number.isdigit():
        raise InvalidValue("Le SIRET ne doit contenir que des chiffres.")
    if len(number) != 14:
        raise InvalidValue(f"Le SIRET doit comporter 14 chiffres ({len(number)} saisis).")
    try:
        return str(stdnum_siret.validate(number))
    except ValidationError as error:
        raise InvalidValue("SIRET invalide : la clé de contrôle ne correspond pas.") from error


def is_valid_siret(value: str | None) -> bool:
    """True for a SIRET usable as a Chorus recipient identifier (S7)."""
    try:
        clean_siret(value or "")
    except InvalidValue:
        return False
    return True


def clean_siren(value: str) -> str:
    """9 digits with a valid checksum; returns the compact SIREN."""
    number = compact(value)
    if not number.isdigit():
        raise InvalidValue("Le SIREN ne doit contenir que des chiffres.")
    if len(number) != 9:
        raise InvalidValue(f"Le SIREN doit comporter 9 chiffres ({len(number)} saisis).")
    try:
        return str(stdnum_siren.validate(number))
    except ValidationError as error:
        raise InvalidValue("SIREN invalide : la clé de contrôle ne correspond pas.") from error


def clean_iban(value: str) -> str:
    """A valid IBAN, upper case without spaces (``FR7630006000011234567890189``)."""
    number = compact(value).upper()
    if not number:
        raise InvalidValue("Saisissez l'IBAN.")
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", number):
        raise InvalidValue(
            "IBAN invalide : il commence par le code pays et deux chiffres (ex. FR76…)."
        )
    # stdnum checks the checksum first; check the structure with corrected check digits
    # first so the message names the real problem (unknown country, wrong length).
    repaired = number[:2] + stdnum_iban.calc_check_digits(number) + number[4:]
    try:
        stdnum_iban.validate(repaired)
    except InvalidComponent as error:
        raise InvalidValue("IBAN invalide : code pays inconnu.") from error
    except (InvalidLength, InvalidFormat) as error:
        raise InvalidValue(
            "IBAN invalide : sa longueur ou son format ne correspond pas à son pays."
        ) from error
    except ValidationError as error:
        raise InvalidValue("IBAN invalide : vérifiez le pays et le format.") from error
    try:
        return str(stdnum_iban.validate(number))
    except ValidationError as error:
        raise InvalidValue("IBAN invalide : la clé de contrôle ne correspond pas.") from error


def format_iban(value: str | None) -> str:
    """IBAN grouped by four characters for display (``FR76 3000 6000 …``)."""
    number = compact(value).upper()
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def clean_bic(value: str) -> str:
    """A valid BIC (8 or 11 characters), upper case without spaces."""
    code = compact(value).upper()
    if len(code) not in (8, 11):
        raise InvalidValue(f"Le BIC doit comporter 8 ou 11 caractères ({len(code)} saisis).")
    try:
        return str(stdnum_bic.validate(code))
    except ValidationError as error:
        raise InvalidValue(
            "BIC invalide : 4 lettres (banque), 2 lettres (pays), 2 caractères (lieu), "
            "éventuellement 3 caractères (agence)."
        ) from error


def clean_digits(value: str, *, max_length: int | None = None, label: str = "Ce champ") -> str:
    """Digits only (spaces tolerated and removed)."""
    number = compact(value)
    if not number.isdigit():
        raise InvalidValue(f"{label} ne doit contenir que des chiffres.")
    if max_length is not None and len(number) > max_length:
        raise InvalidValue(f"{label} comporte au plus {max_length} chiffres.")
    return number


DATE_ORDER_MESSAGE = "La date de fin doit être postérieure ou égale à la date de début."


def check_date_order(
    start: date | None, end: date | None, message: str = DATE_ORDER_MESSAGE
) -> None:
    """Raise ``InvalidValue`` when both dates are given and ``end`` is before ``start``."""
    if start is not None and end is not None and end < start:
        raise InvalidValue(message)


# -- WTForms validators --------------------------------------------------------------------------


class _Cleaning:
    """Base: skip empty values (``Optional``/``DataRequired`` decide), clean, store back."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def clean(self, value: str) -> str:
        raise NotImplementedError

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is None or str(field.data).strip() == "":
            return
        try:
            field.data = self.clean(str(field.data))
        except InvalidValue as error:
            raise WTFormsValidationError(self.message or str(error)) from error


class Siret(_Cleaning):
    """SIRET: 14 digits, valid checksum; spaces stripped."""

    def clean(self, value: str) -> str:
        return clean_siret(value)


class Siren(_Cleaning):
    """SIREN: 9 digits, valid checksum; spaces stripped."""

    def clean(self, value: str) -> str:
        return clean_siren(value)


class Iban(_Cleaning):
    """IBAN validated and stored without spaces, upper case."""

    def clean(self, value: str) -> str:
        return clean_iban(value)


class Bic(_Cleaning):
    """BIC validated, upper case."""

    def clean(self, value: str) -> str:
        return clean_bic(value)


class Digits(_Cleaning):
    """Digits only, at most ``max_length`` of them; spaces stripped."""

    def __init__(self, max_length: int | None = None, message: str | None = None) -> None:
        super().__init__(message)
        self.max_length = max_length

    def clean(self, value: str) -> str:
        return clean_digits(value, max_length=self.max_length)


class NotBefore:
    """This date field must not be before the date field ``other`` (end ≥ start)."""

    def __init__(self, other: str, message: str = DATE_ORDER_MESSAGE) -> None:
        self.other = other
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        try:
            check_date_order(form[self.other].data, field.data, self.message)
        except InvalidValue as error:
            raise WTFormsValidationError(str(error)) from error


def strip(value: Any) -> Any:
    """WTForms filter: trim surrounding whitespace of strings."""
    return value.strip() if isinstance(value, str) else value


def empty_to_none(value: Any) -> Any:
    """WTForms filter: an empty string becomes ``None`` (optional columns stay NULL)."""
    if isinstance(value, str) and value.strip() == "":
        return None
    return value
