"""Numbers read from a request (issue 12, item 7): out of range is « not found » or ignored.

Ids in a query string or a form field go through ``parse_row_id`` (1..MAX_ROW_ID, ASCII
digits); page numbers through ``requested_page``; a NUL character anywhere is a 400.
"""

from __future__ import annotations

from html import unescape

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models_base import MAX_ROW_ID
from portal.pagination import MAX_PAGE, requested_page
from portal.validators import coerce_row_id, parse_row_id, parse_row_ids
from tests import factories


@pytest.mark.parametrize("raw", ["1", " 42 ", str(MAX_ROW_ID), 7])
def test_a_row_id_in_range_is_read(raw: object) -> None:
    assert parse_row_id(raw) == int(str(raw).strip())


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "0",
        "-1",
        "abc",
        "²",
        "١٢",
        "1.5",
        str(MAX_ROW_ID + 1),
        str(10**30),
        "9" * 400,
        True,
    ],
)
def test_anything_else_is_no_row_id(raw: object) -> None:
    assert parse_row_id(raw) is None


def test_a_list_of_ids_keeps_the_valid_ones_in_order() -> None:
    assert parse_row_ids(["3", "x", str(10**30), "1", "²"]) == [3, 1]


def test_a_select_coerces_an_invalid_id_to_a_french_choice_error() -> None:
    assert coerce_row_id("") is None and coerce_row_id("None") is None
    assert coerce_row_id("12") == 12
    with pytest.raises(ValueError):
        coerce_row_id(str(10**30))


@pytest.mark.parametrize(
    ("raw", "page"),
    [
        (None, 1),
        ("", 1),
        ("3", 3),
        (" 12 ", 12),
        ("0", 1),
        ("-2", 1),
        ("abc", 1),
        ("²", 1),
        ("9999999", MAX_PAGE),
        ("9" * 40, MAX_PAGE),
    ],
)
def test_the_page_asked_for_is_a_small_positive_number(raw: object, page: int) -> None:
    assert requested_page(raw) == page


@pytest.mark.parametrize(
    "url",
    [
        "/clients?page=" + "9" * 31,
        "/contrats?page=" + "9" * 31,
        "/notifications/?page=" + "9" * 31,
        "/taches/?page=" + "9" * 31,
    ],
)
def test_a_huge_page_number_shows_a_page(as_admin: FlaskClient, url: str) -> None:
    assert as_admin.get(url).status_code == 200


def test_an_id_filter_out_of_range_is_ignored_with_a_message(as_gestionnaire) -> None:
    contract = factories.make_contract()
    db.session.commit()

    response = as_gestionnaire.get(f"/contrats?client_id={10**30}&company_id=2147483648")

    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Filtre « client » ignoré : valeur invalide." in page
    assert "Filtre « société » ignoré : valeur invalide." in page
    assert contract.number in page


@pytest.mark.parametrize(
    "url",
    [
        f"/clients/choix?client_id={10**30}",
        f"/contrats/champ-compte-bancaire?company_id={10**30}",
        f"/contrats/nouveau?client_id={MAX_ROW_ID + 1}&company_id=²",
        f"/factures/nouvelle?client_id={10**30}",
        f"/encaissements/saisie?numero=Q1&type=receipt&id={10**30}",
    ],
)
def test_an_id_out_of_range_in_a_query_string_is_no_choice(as_gestionnaire, url: str) -> None:
    assert as_gestionnaire.get(url).status_code == 200


def test_an_id_out_of_range_in_a_select_is_a_field_error(as_gestionnaire) -> None:
    token = factories.csrf_token_from(as_gestionnaire.get("/factures/nouvelle").get_data(True))

    response = as_gestionnaire.post(
        "/factures/nouvelle",
        data={"csrf_token": token, "number": "F1", "client_id": str(10**30), "amount_ht": "10"},
    )

    assert response.status_code == 422
    assert "Choix non valide" in unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("GET", "/quittances?numero=Q%00", {}),
        ("GET", "/contrats?numero=%00", {}),
        ("POST", "/clients/nouveau", {"name": "Commune\x00"}),
        ("POST", "/clients/nouveau", {"name\x00": "Commune"}),
    ],
)
def test_a_nul_character_is_a_bad_request(
    as_admin: FlaskClient, method: str, url: str, data: dict[str, str]
) -> None:
    if method == "POST":
        data["csrf_token"] = factories.csrf_token_from(as_admin.get("/").get_data(True))

    response = as_admin.open(url, method=method, data=data)

    assert response.status_code == 400
    assert "Requête invalide" in response.get_data(as_text=True)
