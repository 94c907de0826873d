"""The emulator's request models: strict validation, and agreement with the official Swagger."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from portal.chorus.emulator import models
from portal.chorus.emulator.models import Field, Model, RequestInvalid

# Deliberate differences from the Swagger files, documented in models.py and the README.
DEVIATIONS = {
    ("SoumettreFactureParam", "pieceJointePrincipale"): "array of the Swagger object",
    ("SoumettreFactureParam", "dateFacture"): "date instead of date-time",
}

SCALARS = {
    ("string", None): "string",
    ("string", "date-time"): "datetime",
    ("integer", "int32"): "integer",
    ("integer", "int64"): "integer",
    ("integer", None): "integer",
    ("number", None): "number",
    ("number", "double"): "number",
    ("boolean", None): "boolean",
}


def _compare(definitions: dict[str, Any], name: str, model: Model, problems: list[str]) -> None:
    swagger = definitions[name]
    if model.name != name:
        problems.append(f"{model.name}: Swagger definition is {name}")
    properties = swagger.get("properties", {})
    if model.free_form:
        if properties:
            problems.append(f"{name}: free-form here, {len(properties)} fields in Swagger")
        return
    if set(properties) != set(model.fields):
        missing = sorted(set(properties) - set(model.fields))
        extra = sorted(set(model.fields) - set(properties))
        problems.append(f"{name}: missing {missing}, not in Swagger {extra}")
    for field_name, spec in model.fields.items():
        if field_name not in properties:
            continue
        where = f"{name}.{field_name}"
        prop = properties[field_name]
        if (name, field_name) in DEVIATIONS:
            _check_deviation(definitions, name, field_name, spec, prop, problems)
            continue
        _compare_field(definitions, where, spec, prop, problems)


def _compare_field(
    definitions: dict[str, Any], where: str, spec: Field, prop: dict[str, Any], problems: list[str]
) -> None:
    if "$ref" in prop:
        if spec.kind != "object" or spec.model is None:
            problems.append(f"{where}: object in Swagger, {spec.kind} here")
            return
        _compare(definitions, prop["$ref"].split("/")[-1], spec.model, problems)
        return
    if prop.get("type") == "array":
        if spec.kind != "array":
            problems.append(f"{where}: array in Swagger, {spec.kind} here")
            return
        items = prop["items"]
        if "$ref" in items:
            if spec.model is None:
                problems.append(f"{where}: array of objects in Swagger")
                return
            _compare(definitions, items["$ref"].split("/")[-1], spec.model, problems)
        elif (
            spec.items is None
            or SCALARS.get((items["type"], items.get("format"))) != spec.items.kind
        ):
            problems.append(f"{where}: array items differ")
        return
    expected = SCALARS.get((prop.get("type"), prop.get("format")))
    if expected != spec.kind:
        problems.append(f"{where}: {expected} in Swagger, {spec.kind} here")
    if spec.enum and not set(spec.enum) <= set(prop.get("enum", [])):
        unknown = sorted(set(spec.enum) - set(prop.get("enum", [])))
        problems.append(f"{where}: enum values not in Swagger {unknown}")


def _check_deviation(
    definitions: dict[str, Any],
    name: str,
    field_name: str,
    spec: Field,
    prop: dict[str, Any],
    problems: list[str],
) -> None:
    if field_name == "pieceJointePrincipale":
        if spec.kind != "array" or spec.model is None or "$ref" not in prop:
            problems.append(f"{name}.{field_name}: expected an array of the Swagger object")
            return
        _compare(definitions, prop["$ref"].split("/")[-1], spec.model, problems)
    elif (prop.get("type"), prop.get("format"), spec.kind) != ("string", "date-time", "date"):
        problems.append(f"{name}.{field_name}: expected a date for a Swagger date-time")


def test_request_models_match_the_official_swagger_files(shared_dir: Path):
    swagger_dir = shared_dir / "chorus-pro" / "swagger"
    if not swagger_dir.is_dir():
        pytest.skip("../shared/chorus-pro/swagger is absent")
    problems: list[str] = []
    for path, (file_name, model) in models.SWAGGER_CHECKED.items():
        document = json.loads((swagger_dir / file_name).read_text(encoding="utf-8"))
        operation = document["paths"][path]["post"]
        body = next(p for p in operation["parameters"] if p["in"] == "body")
        name = body["schema"]["$ref"].split("/")[-1]
        _compare(document["definitions"], name, model, problems)
    assert problems == []


def test_the_comparison_notices_a_misspelt_or_mistyped_field(shared_dir: Path):
    swagger_dir = shared_dir / "chorus-pro" / "swagger"
    if not swagger_dir.is_dir():
        pytest.skip("../shared/chorus-pro/swagger is absent")
    document = json.loads((swagger_dir / "structures.json").read_text(encoding="utf-8"))
    wrong = Model(
        "ConsulterStructureAvecTVAIntraComParam",
        {"codeLangage": models.text(), "idStructureCPP": models.text()},
    )
    problems: list[str] = []
    _compare(document["definitions"], wrong.name, wrong, problems)
    assert len(problems) == 2


def test_every_operation_with_swagger_is_checked():
    from portal.chorus.emulator.app import ROUTES

    swagger_routes = {
        "/" + path.split("/cpro/", 1)[1].split("/", 1)[1]
        for path in ROUTES
        if path.startswith(("/cpro/factures/", "/cpro/structures/"))
    }
    assert swagger_routes == set(models.SWAGGER_CHECKED)


# -- validation ----------------------------------------------------------------------------------


def check(model: Model, body: Any) -> str | None:
    try:
        model.validate(body)
    except RequestInvalid as error:
        assert error.field in error.message or error.field == "(corps)"
        return error.field
    return None


def test_nulls_count_as_absent_for_optional_fields_only():
    assert (
        check(
            models.ConsulterServiceStructureParam,
            {"idStructure": 1, "idService": 2, "codeLangue": None},
        )
        is None
    )
    assert (
        check(models.ConsulterServiceStructureParam, {"idStructure": 1, "idService": None})
        == "idService"
    )


def test_numbers_accept_integers_and_decimals_but_not_strings_or_booleans():
    totals = models.SoumettreFactureMontantTotal
    good = {
        "montantHtTotal": 1,
        "montantTVA": Decimal("0.00"),
        "montantTtcTotal": 1,
        "montantAPayer": 1,
    }
    assert check(totals, good) is None
    assert check(totals, {**good, "montantTVA": "0"}) == "montantTVA"
    assert check(totals, {**good, "montantTVA": False}) == "montantTVA"


def test_arrays_of_scalars_and_datetimes_are_checked():
    search = models.RechercherFactureParFournisseurParam
    assert check(search, {"statutCourant": ["DEPOSEE"], "periodeDateDepotDu": "2026-01-01"}) is None
    assert check(search, {"periodeDateDepotAu": "2026-01-01T10:00:00Z"}) is None
    assert check(search, {"statutCourant": "DEPOSEE"}) == "statutCourant"
    assert check(search, {"statutCourant": [1]}) == "statutCourant[0]"
    assert check(search, {"periodeDateDepotDu": "hier"}) == "periodeDateDepotDu"
    assert check(search, {"rechercheFactureParFournisseur": {"triSens": "Haut"}}) == (
        "rechercheFactureParFournisseur.triSens"
    )


def test_free_form_objects_accept_anything():
    body = {"rechercheFactureParFournisseur": {"champsDeTri": {"quoi": [1, 2]}}}
    assert check(models.RechercherFactureParFournisseurParam, body) is None


def test_max_length_is_enforced_where_declared():
    references = models.SoumettreFactureReferences
    good = {"deviseFacture": "EUR", "typeFacture": "FACTURE", "typeTva": "EXONERATION"}
    assert check(references, good) is None
    assert check(references, {**good, "deviseFacture": "EURO"}) == "deviseFacture"
