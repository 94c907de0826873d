"""The official status table (B1): every Swagger status classified, final ones no longer
read, unknown ones stored and shown as they come with a warning, and still read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask

from portal.chorus import statuses
from portal.chorus.emulator import state as emulator_state
from portal.extensions import db
from portal.followup import queries, rules
from tests.followup.conftest import SIRET_PAID, advance, receipt_for, send, sync


def factures_models(shared_dir: Path) -> dict[str, Any]:
    swagger = shared_dir / "chorus-pro" / "swagger" / "factures.json"
    return json.loads(swagger.read_text(encoding="utf-8"))["definitions"]


def test_b1_every_status_of_the_official_enum_is_classified_with_a_french_label(
    shared_dir: Path,
) -> None:
    official = factures_models(shared_dir)["HistoriqueStatus"]["properties"]["histoStatutCode"][
        "enum"
    ]

    assert len(official) == 56
    assert list(statuses.OFFICIAL_CODES) == official  # same values, same order, no extra
    for code in official:
        assert statuses.label(code) != code
        assert isinstance(statuses.STATUSES[code].finality, statuses.Finality)


def test_b1_the_other_status_enums_of_the_swagger_are_the_same_list(shared_dir: Path) -> None:
    models = factures_models(shared_dir)
    for model, field in (
        ("WsRetourConsulterHistoriqueFacture", "statutCourantCode"),
        ("FactureCpp", "statutFacture"),
    ):
        assert models[model]["properties"][field]["enum"] == list(statuses.OFFICIAL_CODES)


def test_b1_final_statuses_include_abandoned_and_deleted_and_exclude_returned_ones() -> None:
    assert {"MISE_EN_PAIEMENT", "REJETEE", "ABANDONNEE", "SUPPRIMEE"} <= statuses.FINAL_STATUSES
    assert not statuses.FINAL_STATUSES & {"SUSPENDUE", "A_RECYCLER", "DEPOSEE", "SERVICE_FAIT"}
    assert {
        "MANDATEE",
        "MISE_A_DISPOSITION_COMPTABLE",
        "COMPTABILISEE",
    } == statuses.FINAL_IF_PAYMENT_NOT_REPORTED
    assert set(statuses.OFFICIAL_CODES) >= statuses.RETURNED_STATUSES


def test_b1_an_unknown_status_is_never_final_and_is_shown_as_it_came() -> None:
    assert rules.is_final("STATUT_APPARU_EN_2027", True) is False
    assert rules.is_unknown_status("STATUT_APPARU_EN_2027")
    assert not rules.is_unknown_status("ABANDONNEE")
    assert not rules.is_unknown_status(None)
    assert rules.status_label("STATUT_APPARU_EN_2027") == "STATUT_APPARU_EN_2027"
    assert rules.status_tone("STATUT_APPARU_EN_2027") == "warning"
    assert rules.status_tone("ABANDONNEE") == "dark"


def test_b1_an_abandoned_invoice_is_final_and_no_longer_read(
    app: Flask, chorus, monkeypatch
) -> None:
    monkeypatch.setitem(
        emulator_state.SCENARIO_STEPS, "paid", (*emulator_state.ROUTING, ("ABANDONNEE", 24))
    )
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)
    advance(chorus, 24)

    job = sync(app)

    db.session.refresh(receipt)
    assert (job.succeeded, receipt.chorus_status) == (1, "ABANDONNEE")
    assert "Nouveau statut : Abandonnée" in job.items[0].explanation
    assert queries.candidates() == []


def test_b1_an_unknown_status_is_stored_shown_with_a_warning_and_still_read(
    app: Flask, chorus, as_gestionnaire, monkeypatch, caplog
) -> None:
    monkeypatch.setitem(
        emulator_state.SCENARIO_STEPS,
        "paid",
        (*emulator_state.ROUTING, ("STATUT_APPARU_EN_2027", 24)),
    )
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)
    advance(chorus, 24)

    job = sync(app)

    db.session.refresh(receipt)
    assert (job.succeeded, job.failed) == (1, 0)
    assert receipt.chorus_status == "STATUT_APPARU_EN_2027"
    assert "n'est pas dans la liste officielle" in job.items[0].explanation
    assert "STATUT_APPARU_EN_2027" in caplog.text
    assert [c[1] for c in queries.candidates()] == [receipt.id]  # still read
    html = as_gestionnaire.get(f"/suivi-chorus/quittances/{receipt.id}/statut").get_data(
        as_text=True
    )
    assert 'data-status="STATUT_APPARU_EN_2027" data-unknown="1"' in html
    assert "Statut inconnu du portail" in html
    assert "définitif" not in html
    again = sync(app)
    assert (again.succeeded, again.failed) == (1, 0)
