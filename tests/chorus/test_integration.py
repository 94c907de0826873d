"""The real client against the emulator served on a local port (real sockets, real faults)."""

from __future__ import annotations

import socket
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from portal.chorus.client import ChorusClient, RetryPolicy
from portal.chorus.errors import ChorusAuthenticationError, ChorusRefused, ChorusUnavailable
from portal.chorus.payload import (
    AttachmentRef,
)
from portal.sending.payload_input import (
    main_attachment_designation,
    main_attachment_file_name,
    submission_for,
)
from tests import factories
from tests.chorus.emulator_fixtures import (
    BANK_DETAILS_ID,
    STRUCTURE_PAID,
    SUPPLIER_ID,
    SUPPLIER_SERVICE_ID,
    emulator_client,
    emulator_settings,
    exempt_invoice,
)


@pytest.fixture
def client(chorus_emulator):
    chorus = emulator_client(chorus_emulator)
    yield chorus
    chorus.close()


def faults(emulator, **settings: Any) -> None:
    response = requests.post(f"{emulator.base_url}/_emulator/faults", json=settings, timeout=5)
    assert response.status_code == 200, response.text


def stats(emulator) -> dict[str, Any]:
    return requests.get(f"{emulator.base_url}/_emulator/stats", timeout=5).json()


def submission(client: ChorusClient, numero: str = "Q2026-1", **references: Any) -> dict[str, Any]:
    attachment = client.upload_attachment(b"%PDF-1.4", "avis.pdf", "application/pdf")
    return exempt_invoice(
        numero,
        attachment.piece_jointe_id,
        amount=Decimal("10.00"),
        supplier={"idFournisseur": SUPPLIER_ID},
        **references,
    )


def test_a_portal_receipt_goes_through_upload_submit_search_and_history(
    app, chorus_emulator, client
):
    company = factories.make_company()
    account = factories.make_bank_account(
        company,
        chorus_supplier_service_id=SUPPLIER_SERVICE_ID,
        chorus_bank_details_id=BANK_DETAILS_ID,
    )
    public = factories.make_client(siret="21588139298698")
    contract = factories.make_contract(
        client=public,
        company=company,
        bank_account=account,
        chorus_service_code="TECHNIQUE",
        chorus_engagement_number="EJ-77",
    )
    receipt = factories.make_receipt(contract=contract, number="Q-INT-0001")
    uploaded = client.upload_attachment(
        b"%PDF-1.4 avis", main_attachment_file_name(receipt), "application/pdf"
    )
    body = submission_for(
        receipt,
        settings=emulator_settings(chorus_emulator),
        invoice_date=date(2026, 3, 2),
        main_attachment=AttachmentRef(
            uploaded.piece_jointe_id, main_attachment_designation(receipt)
        ),
    )
    sent = client.submit_invoice(body)
    assert sent.statut == "DEPOSEE"
    assert sent.numero_facture == "Q-INT-0001"
    found = client.find_invoices("Q-INT-0001", SUPPLIER_ID)
    assert [i.identifiant_facture_cpp for i in found] == [sent.identifiant_facture_cpp]
    assert found[0].montant_ttc == Decimal("1090.00")
    detail = client.get_supplier_invoice(sent.identifiant_facture_cpp)
    assert (detail.code_service_executant, detail.montant_a_payer) == (
        "TECHNIQUE",
        Decimal("1090.00"),
    )
    chorus_emulator.state.clock.advance(7 * 24 * 3600)
    history = client.get_invoice_history(sent.identifiant_facture_cpp)
    assert history.current_status == "MISE_EN_PAIEMENT"
    assert history.entries[0].code == "DEPOSEE"


def test_structure_lookups_give_typed_rules_and_all_services(client):
    [structure] = client.search_structures("28876634840020")
    detail = client.get_structure(structure.id_structure_cpp)
    assert detail.service_code_required and detail.engagement_required
    assert detail.is_public
    services = client.list_services(STRUCTURE_PAID, page_size=3)
    assert [s.code for s in services if s.is_usable] == ["FINANCES", "TECHNIQUE"]
    assert client.get_service(STRUCTURE_PAID, 30000002).engagement_required
    assert client.search_structures("00000000000000") == []
    assert client.search_supplier_invoices(numero_facture="nothing") == []


def test_a_refusal_carries_the_emulator_code_and_libelle(client):
    invalid = submission(client) | {"dateFacture": "2026-02-30"}
    with pytest.raises(ChorusRefused) as caught:
        client.submit_invoice(invalid)
    assert caught.value.http_status == 400
    assert "dateFacture" in caught.value.libelle
    body = submission(client)
    body["destinataire"]["codeServiceExecutant"] = "FACTURES_PUBLIQUES"
    with pytest.raises(ChorusRefused) as caught:
        client.submit_invoice(body)
    assert caught.value.code_retour == 20109
    assert "FACTURES_PUBLIQUES" in caught.value.libelle


def test_lookups_survive_transient_503s(chorus_emulator, client):
    faults(
        chorus_emulator,
        script=[{"kind": "error", "operation": "structures/consulter", "times": 2, "status": 503}],
    )
    assert client.get_structure(STRUCTURE_PAID).id_structure_cpp == STRUCTURE_PAID
    assert stats(chorus_emulator)["calls"]["structures/consulter"] == 3


def test_a_429_retry_after_is_honoured_against_the_emulator(chorus_emulator):
    slept: list[float] = []
    chorus = emulator_client(chorus_emulator, sleep=slept.append)
    faults(
        chorus_emulator,
        retry_after=2,
        script=[{"kind": "throttle", "operation": "structures/consulter"}],
    )
    chorus.get_structure(STRUCTURE_PAID)
    chorus.close()
    assert slept == [2.0]


def test_soumettre_is_sent_once_even_when_the_gateway_fails(chorus_emulator, client):
    body = submission(client)
    faults(
        chorus_emulator,
        script=[{"kind": "error", "operation": "factures/soumettre", "status": 503}],
    )
    with pytest.raises(ChorusUnavailable) as caught:
        client.submit_invoice(body)
    assert not caught.value.outcome_unknown
    assert stats(chorus_emulator)["calls"]["factures/soumettre"] == 1


def test_connection_resets_are_retried_for_lookups_and_unknown_for_soumettre(
    chorus_emulator, client
):
    faults(chorus_emulator, script=[{"kind": "reset", "operation": "structures/consulter"}])
    assert client.get_structure(STRUCTURE_PAID).is_public
    body = submission(client)
    faults(chorus_emulator, script=[{"kind": "reset", "operation": "factures/soumettre"}])
    with pytest.raises(ChorusUnavailable) as caught:
        client.submit_invoice(body)
    assert caught.value.outcome_unknown
    assert stats(chorus_emulator)["calls"]["factures/soumettre"] == 1


def test_a_read_timeout_is_unavailable_with_unknown_outcome(chorus_emulator):
    chorus = emulator_client(chorus_emulator, read_timeout=0.3, retry=RetryPolicy(max_attempts=1))
    faults(chorus_emulator, timeout_seconds=2, script=[{"kind": "timeout"}])
    started = time.monotonic()
    with pytest.raises(ChorusUnavailable) as caught:
        chorus.health_check()
    chorus.close()
    assert caught.value.outcome_unknown
    assert time.monotonic() - started < 1.5


def test_an_invoice_accepted_but_answered_too_late_is_found_by_reconciliation(chorus_emulator):
    chorus = emulator_client(chorus_emulator, read_timeout=0.3)
    body = submission(chorus, "LATE-1")
    faults(
        chorus_emulator,
        late_seconds=1,
        script=[{"kind": "late", "operation": "factures/soumettre"}],
    )
    with pytest.raises(ChorusUnavailable) as caught:
        chorus.submit_invoice(body)
    assert caught.value.outcome_unknown
    found = chorus.find_invoices("LATE-1", SUPPLIER_ID)
    chorus.close()
    assert len(found) == 1
    counters = stats(chorus_emulator)
    assert counters["submissions"] == {"LATE-1": 1}
    assert counters["invoices_created"] == {"LATE-1": 1}


def test_a_malformed_answer_to_soumettre_leaves_an_invoice_to_reconcile(chorus_emulator, client):
    body = submission(client, "MAL-1")
    faults(chorus_emulator, script=[{"kind": "malformed", "operation": "factures/soumettre"}])
    with pytest.raises(ChorusUnavailable) as caught:
        client.submit_invoice(body)
    assert caught.value.outcome_unknown
    assert len(client.find_invoices("MAL-1", SUPPLIER_ID)) == 1


def test_an_expired_token_is_renewed_once_transparently(chorus_emulator, client):
    client.health_check()
    faults(chorus_emulator, expire_tokens=True)
    client.health_check()
    counters = stats(chorus_emulator)
    assert counters["calls"]["token"] == 2
    assert counters["http_statuses"]["transverses/health-check:401"] == 1


def test_a_wrong_technical_password_is_an_authentication_error(chorus_emulator):
    chorus = emulator_client(chorus_emulator, tech_password="wrong")
    with pytest.raises(ChorusAuthenticationError) as caught:
        chorus.health_check()
    chorus.close()
    assert caught.value.http_status == 401
    assert stats(chorus_emulator)["calls"]["token"] == 2


def test_a_wrong_piste_secret_is_an_authentication_error_at_the_token_stage(chorus_emulator):
    chorus = emulator_client(chorus_emulator, client_secret="wrong")
    with pytest.raises(ChorusAuthenticationError) as caught:
        chorus.health_check()
    chorus.close()
    assert caught.value.stage == "token"


def test_a_closed_port_is_unavailable_and_nothing_was_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chorus = emulator_client(
        f"http://127.0.0.1:{port}", retry=RetryPolicy(max_attempts=1), connect_timeout=1
    )
    with pytest.raises(ChorusUnavailable) as caught:
        chorus.submit_invoice({})
    chorus.close()
    assert not caught.value.outcome_unknown
    assert "injoignable" in str(caught.value)


def test_added_latency_slows_every_call(chorus_emulator, client):
    client.health_check()
    faults(chorus_emulator, latency_ms=150)
    started = time.monotonic()
    client.health_check()
    assert time.monotonic() - started >= 0.15


def test_concurrent_submissions_of_one_number_create_one_invoice(chorus_emulator, client):
    from concurrent.futures import ThreadPoolExecutor

    bodies = [submission(client, "RACE-1") for _ in range(6)]

    def send(body: dict[str, Any]) -> str:
        try:
            client.submit_invoice(body)
        except ChorusRefused as refusal:
            return str(refusal.code_retour)
        return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(send, bodies))
    assert outcomes == ["20117"] * 5 + ["ok"]
    assert stats(chorus_emulator)["invoices_created"] == {"RACE-1": 1}


def test_invoices_can_be_searched_by_current_status(chorus_emulator, client):
    rejected = submission(client, "ST-1")
    rejected["destinataire"] = {"codeDestinataire": "29787534677876"}
    client.submit_invoice(rejected)
    client.submit_invoice(submission(client, "ST-2"))
    chorus_emulator.state.clock.advance(3 * 24 * 3600)
    found = client.search_supplier_invoices(statuses=["REJETEE"])
    assert [(i.numero_facture, i.statut) for i in found] == [("ST-1", "REJETEE")]
    assert found[0].status_comment is not None
