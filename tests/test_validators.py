"""Shared validators: SIRET / SIREN / IBAN / BIC / digits / date order, French messages."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms import DateField, StringField
from wtforms.validators import Optional

from portal import validators as v
from tests.factories import OTHER_VALID_SIRET, VALID_SIRET

# -- pure functions ------------------------------------------------------------------------------


def test_a_valid_siret_is_returned_without_its_spaces() -> None:
    assert v.clean_siret(" 217 500 016 00019 ") == VALID_SIRET
    assert v.clean_siret("217\u00a0500\u202f016 00019") == VALID_SIRET
    assert v.clean_siret(OTHER_VALID_SIRET) == OTHER_VALID_SIRET


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("21750001600018", "clé de contrôle"),
        ("2175000160001", r"14 chiffres \(13 saisis\)"),
        ("217500016000190", r"14 chiffres \(15 saisis\)"),
        ("2175000160001A", "que des chiffres"),
    ],
)
def test_an_invalid_siret_is_refused_in_french(value: str, message: str) -> None:
    with pytest.raises(v.InvalidValue, match=message):
        v.clean_siret(value)
    assert not v.is_valid_siret(value)


def test_is_valid_siret_accepts_spaces_and_refuses_nothing() -> None:
    assert v.is_valid_siret("217 500 016 00019")
    assert not v.is_valid_siret(None)
    assert not v.is_valid_siret("")


def test_siren_is_checked_like_the_siret() -> None:
    assert v.clean_siren("217 500 016") == "217500016"
    with pytest.raises(v.InvalidValue, match="clé de contrôle"):
        v.clean_siren("217500017")
    with pytest.raises(v.InvalidValue, match="9 chiffres"):
        v.clean_siren("21750001")


def test_an_iban_is_stored_compact_and_upper_case() -> None:
    assert v.clean_iban("fr76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("FR7630006000011234567890188", "clé de contrôle"),
        ("FR763000600001123456789018", "longueur"),
        ("7630006000011234567890189", "code pays"),
        ("", "Saisissez"),
        ("ZZ7630006000011234567890189", "code pays inconnu"),
    ],
)
def test_an_invalid_iban_is_refused_in_french(value: str, message: str) -> None:
    with pytest.raises(v.InvalidValue, match=message):
        v.clean_iban(value)


def test_an_iban_is_displayed_grouped_by_four() -> None:
    assert v.format_iban("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"
    assert v.format_iban(None) == ""


def test_a_bic_of_8_or_11_characters_is_accepted() -> None:
    assert v.clean_bic("agri frpp") == "AGRIFRPP"
    assert v.clean_bic("AGRIFRPP882") == "AGRIFRPP882"


@pytest.mark.parametrize(
    ("value", "message"),
    [("AGRIFRP", "8 ou 11 caractères"), ("AGR1FRPP", "BIC invalide"), ("AGRIFRPP8", "8 ou 11")],
)
def test_an_invalid_bic_is_refused_in_french(value: str, message: str) -> None:
    with pytest.raises(v.InvalidValue, match=message):
        v.clean_bic(value)


def test_digits_only_strips_spaces_and_refuses_letters_and_excess() -> None:
    assert v.clean_digits(" 12 34 ") == "1234"
    with pytest.raises(v.InvalidValue, match="que des chiffres"):
        v.clean_digits("12a")
    with pytest.raises(v.InvalidValue, match="que des chiffres"):
        v.clean_digits("-12")
    with pytest.raises(v.InvalidValue, match="au plus 3 chiffres"):
        v.clean_digits("1234", max_length=3)


def test_dates_out_of_order_are_refused_and_equal_dates_accepted() -> None:
    v.check_date_order(date(2025, 1, 1), date(2025, 1, 1))
    v.check_date_order(date(2025, 1, 1), None)
    with pytest.raises(v.InvalidValue, match="postérieure ou égale"):
        v.check_date_order(date(2025, 1, 2), date(2025, 1, 1))


# -- WTForms integration --------------------------------------------------------------------------


class _Form(v.FrenchForm):
    class Meta:
        csrf = False

    siret = StringField(validators=[Optional(), v.Siret()])
    iban = StringField(validators=[Optional(), v.Iban()])
    bic = StringField(validators=[Optional(), v.Bic()])
    code = StringField(validators=[Optional(), v.Digits(max_length=18)])
    starts_on = DateField(validators=[Optional()])
    ends_on = DateField(validators=[Optional(), v.NotBefore("starts_on")])


def _form(app: Flask, **data: str) -> _Form:
    with app.test_request_context(method="POST", data=data):
        form = _Form(formdata=MultiDict(data))
        form.validate()
        return form


def test_the_validators_store_the_normalised_value(app: Flask) -> None:
    form = _form(
        app,
        siret="217 500 016 00019",
        iban="fr76 3000 6000 0112 3456 7890 189",
        bic="agrifrpp",
        code=" 42 ",
    )
    assert form.errors == {}
    assert form.siret.data == VALID_SIRET
    assert form.iban.data == "FR7630006000011234567890189"
    assert form.bic.data == "AGRIFRPP"
    assert form.code.data == "42"


def test_the_validators_put_french_messages_next_to_the_fields(app: Flask) -> None:
    form = _form(
        app,
        siret="2175000160001",
        iban="FR7630006000011234567890188",
        bic="XX",
        code="12b",
        starts_on="2025-02-01",
        ends_on="2025-01-31",
    )
    assert "14 chiffres" in form.errors["siret"][0]
    assert "clé de contrôle" in form.errors["iban"][0]
    assert "8 ou 11" in form.errors["bic"][0]
    assert "que des chiffres" in form.errors["code"][0]
    assert form.errors["ends_on"] == [v.DATE_ORDER_MESSAGE]


def test_empty_optional_values_are_left_alone(app: Flask) -> None:
    assert _form(app, siret="", iban="", bic="", code="").errors == {}


def test_wtforms_built_in_messages_are_in_french(app: Flask) -> None:
    form = _form(app, starts_on="pas une date")
    assert form.errors["starts_on"] == ["N'est pas une date valide."]


def test_a_service_error_lands_next_to_its_field_or_on_the_form(app: Flask) -> None:
    form = _form(app, code="1")
    v.ValidationFailed({"code": "Déjà utilisé.", "": "Refusé."}).apply_to(form)
    assert form.code.errors == ["Déjà utilisé."]
    assert form.form_errors == ["Refusé."]
    error = v.ValidationFailed("Tout est refusé.")
    assert error.messages == ["Tout est refusé."]
    assert str(error) == "Tout est refusé."
