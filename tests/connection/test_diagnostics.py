"""The Système tab's service functions: connection test (B5) and lookups (B4), on the emulator."""

from __future__ import annotations

from datetime import date

import pytest

from portal.chorus.errors import ChorusRefused
from portal.connection.diagnostics import (
    StepStatus,
    check_connection,
    fetch_bank_details,
    fetch_supplier_services,
    fetch_supplier_structures,
)
from tests.chorus.emulator_fixtures import SUPPLIER_ID, emulator_client


@pytest.fixture
def make(chorus_emulator):
    clients = []

    def build(**overrides):
        client = emulator_client(chorus_emulator, **overrides)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def test_a_working_connection_reports_three_successful_steps(make):
    report = check_connection(make(), SUPPLIER_ID)
    assert report.ok
    assert [step.status for step in report.steps] == [StepStatus.OK] * 3
    assert report.summary == "Connexion à Chorus Pro réussie."
    assert report.supplier_name == "Cabinet Dupont & Associés Courtage"
    assert report.password_expires_on == date(2027, 6, 30)
    assert "30/06/2027" in report.steps[2].message


def test_the_connection_test_always_asks_for_a_fresh_token(chorus_emulator, make):
    client = make()
    check_connection(client, SUPPLIER_ID)
    check_connection(client, SUPPLIER_ID)
    assert chorus_emulator.state.stats.calls["token"] == 2


def test_refused_piste_credentials_fail_the_first_step_and_skip_the_others(make):
    report = check_connection(make(client_secret="faux"), SUPPLIER_ID)
    assert not report.ok
    assert [step.status for step in report.steps] == [
        StepStatus.FAILED,
        StepStatus.SKIPPED,
        StepStatus.SKIPPED,
    ]
    assert report.summary.startswith("Échec de la connexion à Chorus Pro (Jeton d'accès PISTE)")
    assert "faux" not in report.summary


def test_a_wrong_technical_password_fails_the_api_steps(make):
    report = check_connection(make(tech_password="faux"), SUPPLIER_ID)
    assert [step.status for step in report.steps] == [
        StepStatus.OK,
        StepStatus.FAILED,
        StepStatus.FAILED,
    ]
    assert "compte technique" in report.steps[1].message


def test_a_missing_or_unknown_supplier_id_fails_the_last_step(make):
    missing = check_connection(make(), None)
    assert missing.steps[2].status is StepStatus.FAILED
    assert "pas renseigné" in missing.steps[2].message
    unknown = check_connection(make(), 42)
    assert unknown.steps[2].status is StepStatus.FAILED
    assert "20201" in unknown.steps[2].message


def test_an_unreachable_chorus_fails_with_a_french_message(chorus_emulator, make):
    client = make(
        api_url="http://127.0.0.1:9", oauth_url=f"{chorus_emulator.base_url}/api/oauth/token"
    )
    report = check_connection(client, SUPPLIER_ID)
    assert report.steps[1].status is StepStatus.FAILED
    assert "injoignable" in report.steps[1].message


def test_the_supplier_id_and_bank_details_can_be_looked_up(make):
    client = make()
    [structure] = fetch_supplier_structures(client)
    assert structure.id_structure_cpp == SUPPLIER_ID
    assert structure.label == (
        "25000001 — Cabinet Dupont & Associés Courtage (SIRET 80283822726464)"
    )
    banks = fetch_bank_details(client, SUPPLIER_ID)
    assert [b.id_coordonnee_bancaire for b in banks] == [45000001, 45000002]
    assert banks[0].label == "45000001 — Compte courant Dupont (Crédit Agricole)"
    services = fetch_supplier_services(client, SUPPLIER_ID)
    assert [s.id_service for s in services] == [35000001]


def test_bank_details_of_a_structure_the_account_does_not_own_are_refused(make):
    with pytest.raises(ChorusRefused) as caught:
        fetch_bank_details(make(), 26000100)
    assert caught.value.code_retour == 20203
