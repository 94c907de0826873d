"""Input checks shared by every area: French identifiers (SIRET, IBAN, BIC), digits, row ids,
amounts, plausible dates and their order.

Two layers:
- ``clean_*`` functions are pure: they return the normalised value or raise ``InvalidValue``
  with a French message (services and the CLI use them directly);
- WTForms validators wrap them, put the message next to the field and store the normalised
  value back into ``field.data`` (so ``" 217 500 016 00019 "`` becomes ``"21750001600019"``).

``FrenchForm`` is a ``FlaskForm`` whose built-in WTForms messages ("Not a valid date value."…)
are in French, ``ValidationFailed`` is the error a service raises so the view can show it
next to the right field, and ``submit`` is how a view runs a posted form's service call.
``required_text`` and ``optional_text`` build the trimmed text fields the forms share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from wtforms import Field, Form, StringField
from wtforms import ValidationError as WTFormsValidationError
from wtforms.meta import DefaultMeta
from wtforms.validators import DataRequired, Length, Optional

from portal.formatting import fr_date, fr_money
from portal.models_base import MAX_ROW_ID

_SPACES = re.compile(r"\s+")  # also matches non-breaking spaces
_ROW_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only: "²".isdigit() is true, int("²") fails

T = TypeVar("T")


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


def submit(form: FlaskForm, action: Callable[[], T]) -> T | None:
    """Validate the posted ``form``, then run ``action`` (the service call) and return its result.

    None when nothing valid was posted or ``action`` raised ``ValidationFailed``: its messages
    then stand next to the fields (the page answers 422, which rolls the request back).
    """
    if not form.validate_on_submit():
        return None
    try:
        return action()
    except ValidationFailed as failure:
        failure.apply_to(form)
        return None


# -- pure checks ---------------------------------------------------------------------------------


def compact(value: str | None) -> str:
    """Remove every space (also non-breaking ones) people type inside numbers."""
    return _SPACES.sub("", value or "")


def clean_siret(value: str) -> str:
    """14 digits with a valid checksum (spaces tolerated); returns the compact SIRET."""
    number = compact(value)
    if not (number.isascii() and number.isdigit()):
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
    if not (number.isascii() and number.isdigit()):
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
    if not (number.isascii() and number.isdigit()):
        raise InvalidValue(f"{label} ne doit contenir que des chiffres.")
    if max_length is not None and len(number) > max_length:
        raise InvalidValue(f"{label} comporte au plus {max_length} chiffres.")
    return number


# -- row ids read from a request -------------------------------------------------------------------


def parse_row_id(raw: object) -> int | None:
    """A row id as a request carries it (query string, form field); None unless it is ASCII
    digits naming 1..``MAX_ROW_ID`` (beyond, the database refuses it: no such row)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw <= MAX_ROW_ID else None
    text = raw.strip() if isinstance(raw, str) else ""
    if not _ROW_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def parse_row_ids(values: Iterable[object]) -> list[int]:
    """The valid row ids among ``values`` (``request.args.getlist("ids")``), in order."""
    return [ident for ident in map(parse_row_id, values) if ident is not None]


def coerce_row_id(value: object) -> int | None:
    """``SelectField(coerce=…)`` for a row id: None when empty, ``ValueError`` when invalid
    (WTForms then says « Choix invalide » next to the field)."""
    if value is None or value in ("", "None"):
        return None
    ident = parse_row_id(value)
    if ident is None:
        raise ValueError(f"not a row id: {value!r}")
    return ident


# -- amounts ---------------------------------------------------------------------------------------

# Every euro amount the portal accepts is below one billion in absolute value (premiums, fees and
# payments of a broker are far below; Chorus Pro and the cents stored as BIGINT allow more).
MAX_AMOUNT = Decimal("999999999.99")
AMOUNT_SYNTAX_MESSAGE = "Montant invalide (exemple : 1 234,56)."
AMOUNT_DECIMALS_MESSAGE = "2 décimales au plus."
AMOUNT_RANGE_MESSAGE = f"Montant hors limites : {fr_money(MAX_AMOUNT)} au plus en valeur absolue."
_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_amount(raw: str | None) -> Decimal | None:
    """French amount as typed (``1 234,56``, ``-10``, ``12,5 €``); None when empty.

    Syntax only (see ``clean_amount``). Raises ``ValueError`` when the text is not an amount.
    """
    text = re.sub(r"[\s\u00a0\u202f€]", "", raw or "")
    if not text:
        return None
    text = text.replace(",", ".")
    if not _AMOUNT.fullmatch(text):
        raise ValueError(raw)
    try:
        return Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - excluded by the pattern
        raise ValueError(raw) from error


def check_amount(value: Decimal) -> Decimal:
    """An amount with at most 2 decimals and below ``MAX_AMOUNT`` in absolute value.

    Never rounded: ``100,005`` is refused rather than silently becoming ``100,01``.
    """
    if abs(value) > MAX_AMOUNT:
        raise InvalidValue(AMOUNT_RANGE_MESSAGE)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidValue(AMOUNT_DECIMALS_MESSAGE)
    return value


def clean_amount(raw: str | None) -> Decimal | None:
    """``parse_amount`` then ``check_amount``; ``InvalidValue`` carries the French message."""
    try:
        value = parse_amount(raw)
    except ValueError as error:
        raise InvalidValue(AMOUNT_SYNTAX_MESSAGE) from error
    return None if value is None else check_amount(value)


# -- dates -----------------------------------------------------------------------------------------

# Dates typed in the portal (periods, entry, payment, contract dates, filters) lie in this range:
# anything else is a typing slip (``0202``, ``20225``) that would otherwise be stored for good.
MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)
DATE_RANGE_MESSAGE = f"Date hors limites : entre le {fr_date(MIN_DATE)} et le {fr_date(MAX_DATE)}."


def check_plausible_date(value: date) -> date:
    """``value`` between ``MIN_DATE`` and ``MAX_DATE``, else ``InvalidValue``."""
    if not MIN_DATE <= value <= MAX_DATE:
        raise InvalidValue(DATE_RANGE_MESSAGE)
    return value


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


class PlausibleDate:
    """A date field's value lies between ``MIN_DATE`` and ``MAX_DATE`` (empty: not checked)."""

    def __call__(self, form: Form, field: Field) -> None:
        if not isinstance(field.data, date):
            return
        try:
            check_plausible_date(field.data)
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


# -- text fields -----------------------------------------------------------------------------------


def required_text(label: str, message: str, max_length: int, **options: Any) -> StringField:
    """A trimmed text field that must be filled (``message`` when it is not), at most
    ``max_length`` characters; ``options`` go to ``StringField`` (description, default…)."""
    return StringField(
        label, [DataRequired(message), Length(max=max_length)], filters=[strip], **options
    )


def optional_text(label: str, max_length: int, **options: Any) -> StringField:
    """A trimmed text field that may stay empty (its data is then None), at most
    ``max_length`` characters; ``options`` go to ``StringField``."""
    return StringField(
        label, [Optional(), Length(max=max_length)], filters=[strip, empty_to_none], **options
    )
