"""The soumettre mapping (payload.py) and the exact JSON the client sends, against snapshots.

Snapshots live in ``snapshots/``; after an intended change, regenerate them with
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/chorus/test_payload.py`` and review the
diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses

from portal.chorus import jsonbody
from portal.chorus.client import ChorusClient
from portal.chorus.emulator.models import SoumettreFactureParam
from portal.chorus.payload import (
    AttachmentRef,
    PayloadError,
    chorus_file_name,
)
from portal.chorus.tokens import TokenCache
from portal.sending.payload_input import (
    main_attachment_designation,
    main_attachment_file_name,
    submission_for,
)
from portal.settings.chorus import ChorusSettings
from tests import factories
from tests.chorus.emulator_fixtures import emulator_settings

SNAPSHOTS = Path(__file__).parent / "snapshots"
API = "https://api.test"
OAUTH = "https://oauth.test/token"
DAY = date(2026, 3, 2)
MAIN = AttachmentRef(9000001, "Avis d'échéance Q2026-000123")


def settings(**overrides: Any) -> ChorusSettings:
    """Settings as the portal loads them (no emulator behind: nothing is sent)."""
    return emulator_settings("http://127.0.0.1:1", **overrides)


def canonical(text: str) -> Any:
    """Parsed JSON keeping key order and the exact text of numbers."""
    return json.loads(text, parse_float=str, parse_int=str, object_pairs_hook=list)


def assert_matches_snapshot(name: str, sent: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(jsonbody.dumps(json.loads(sent, parse_float=Decimal), indent=2) + "\n")
    assert path.exists(), f"snapshot {name} missing: run with UPDATE_SNAPSHOTS=1"
    assert canonical(sent) == canonical(path.read_text())


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, OAUTH, json={"access_token": "t", "expires_in": 3600})
        rsps.add(
            responses.POST,
            f"{API}/cpro/factures/v1/soumettre",
            json={"codeRetour": 0, "identifiantFactureCPP": 1, "statutFacture": "DEPOSEE"},
        )
        rsps.add(
            responses.POST,
            f"{API}/cpro/transverses/v1/ajouter/fichier",
            json={"codeRetour": 0, "pieceJointeId": 9000001},
        )
        yield rsps


@pytest.fixture
def chorus_client() -> Iterator[ChorusClient]:
    client = ChorusClient(
        oauth_url=OAUTH,
        api_url=API,
        client_id="id",
        client_secret="secret",
        tech_login="login",
        tech_password="password",
        token_cache=TokenCache(),
    )
    yield client
    client.close()


def sent_body(rsps: responses.RequestsMock, path: str) -> str:
    call = next(c for c in rsps.calls if c.request.url.endswith(path))
    body = call.request.body
    return body.decode("utf-8") if isinstance(body, bytes) else body


def full_receipt(**kw: Any) -> Any:
    company = factories.make_company(name="Cabinet Dupont")
    account = factories.make_bank_account(
        company, chorus_supplier_service_id=35000001, chorus_bank_details_id=45000001
    )
    client = factories.make_client(name="Commune de Saint-Aubin", siret="21588139298698")
    contract = factories.make_contract(
        number="CT-000042",
        client=client,
        company=company,
        bank_account=account,
        chorus_service_code="TECHNIQUE",
        chorus_engagement_number="EJ-2026-17",
        chorus_market_number="M-2025-003",
    )
    values = {"number": "Q2026-000123", "contract": contract, "total": Decimal("1090.00")}
    values.update(kw)
    return factories.make_receipt(**values)


# -- snapshots of the exact JSON sent ------------------------------------------------------------


def test_a_receipt_is_sent_exactly_as_the_snapshot(app, mocked, chorus_client):
    receipt = full_receipt()
    body = submission_for(
        receipt, settings=settings(user_id=123456), invoice_date=DAY, main_attachment=MAIN
    )
    chorus_client.submit_invoice(body)
    assert_matches_snapshot("soumettre_receipt.json", sent_body(mocked, "/soumettre"))


def test_a_fee_invoice_with_vat_and_attachments_is_sent_exactly_as_the_snapshot(
    app, mocked, chorus_client
):
    company = factories.make_company(name="Cabinet Dupont")
    account = factories.make_bank_account(
        company, chorus_supplier_service_id=None, chorus_bank_details_id=45000002
    )
    client = factories.make_client(siret="28797309311412")
    contract = factories.make_contract(
        client=client, company=company, bank_account=account, chorus_service_code="FINANCES"
    )
    invoice = factories.make_fee_invoice(
        number="FH2026-0007",
        client=client,
        contract=contract,
        amount_ht=Decimal("250.00"),
        vat_rate=Decimal("20.00"),
        vat_amount=Decimal("50.00"),
        total=Decimal("300.00"),
    )
    secondary = [  # each with the type chosen in Chorus's list (EVIDENCE.md § 2)
        AttachmentRef(9000002, "Attestation d'assurance", "ATT"),
        AttachmentRef(9000003, "Tableau de garanties", "AUT"),
    ]
    body = submission_for(
        invoice,
        settings=settings(),
        invoice_date=DAY,
        main_attachment=AttachmentRef(9000001, main_attachment_designation(invoice)),
        secondary_attachments=secondary,
    )
    chorus_client.submit_invoice(body)
    assert_matches_snapshot("soumettre_fee_invoice.json", sent_body(mocked, "/soumettre"))


def test_a_refund_receipt_is_sent_as_a_credit_note_exactly_as_the_snapshot(
    app, mocked, chorus_client
):
    original = full_receipt()
    contract = factories.make_contract(
        client=original.contract.client,
        bank_account=None,
        chorus_service_code=None,
    )
    contract.bank_account = None
    refund = factories.make_refund_receipt(
        number="Q2026-000200",
        contract=contract,
        original_receipt=original,
    )
    body = submission_for(refund, settings=settings(), invoice_date=DAY, main_attachment=MAIN)
    chorus_client.submit_invoice(body)
    assert_matches_snapshot("soumettre_credit_note.json", sent_body(mocked, "/soumettre"))


def test_b10_a_fee_invoice_credit_note_is_sent_exactly_as_the_snapshot(app, mocked, chorus_client):
    company = factories.make_company(name="Cabinet Dupont")
    account = factories.make_bank_account(
        company, chorus_supplier_service_id=35000001, chorus_bank_details_id=45000001
    )
    client = factories.make_client(siret="28797309311412")
    contract = factories.make_contract(
        client=client, company=company, bank_account=account, chorus_service_code="FINANCES"
    )
    original = factories.make_fee_invoice(number="FH2026-0007", client=client, contract=contract)
    credit_note = factories.make_credit_note(
        number="AV2026-0001",
        client=client,
        contract=contract,
        amount_ht="-250",
        original_fee_invoice=original,
    )
    main = AttachmentRef(9000001, main_attachment_designation(credit_note))
    body = submission_for(credit_note, settings=settings(), invoice_date=DAY, main_attachment=main)
    chorus_client.submit_invoice(body)
    # AVOIR, positive amounts, the cancelled invoice as origin and no payment mode, even
    # with a bank account (EVIDENCE.md § 5).
    sent = sent_body(mocked, "/soumettre")
    assert_matches_snapshot("soumettre_fee_invoice_credit_note.json", sent)


def test_b10_a_credit_note_references_the_copy_that_replaced_its_rejected_original(app):
    original = full_receipt(chorus_status="REJETEE")
    copy = factories.make_receipt(number="Q2026-000123-R1", contract=original.contract)
    original.replaced_by = copy
    refund = factories.make_refund_receipt(
        number="R2026-000001",
        contract=original.contract,
        taxes="0",
        original_receipt=original,
    )
    body = submission_for(refund, settings=settings(), invoice_date=DAY, main_attachment=MAIN)
    assert body["references"]["numeroFactureOrigine"] == "Q2026-000123-R1"
    assert "modePaiement" not in body["references"]


def test_an_attachment_upload_is_sent_exactly_as_the_snapshot(mocked, chorus_client):
    chorus_client.upload_attachment(
        b"%PDF-1.4\n% avis\n", "Avis_echeance_Q2026-000123.pdf", "application/pdf"
    )
    assert_matches_snapshot("ajouter_fichier.json", sent_body(mocked, "/ajouter/fichier"))


# -- mapping rules ------------------------------------------------------------------------------


def test_a_receipt_is_vat_exempt_with_the_chosen_code_and_its_total_as_every_amount(app):
    receipt = full_receipt(
        net_premium=Decimal("1000"), taxes=Decimal("90.5"), total=Decimal("1090.5")
    )
    body = submission_for(receipt, settings=settings(), invoice_date=DAY, main_attachment=MAIN)
    assert body["references"]["typeTva"] == "EXONERATION"
    assert body["references"]["motifExonerationTva"] == "ASSURANCE_261C"  # the code, no label
    amounts = body["montantTotal"]
    assert amounts == {
        "montantHtTotal": Decimal("1090.50"),
        "montantTVA": Decimal("0.00"),
        "montantTtcTotal": Decimal("1090.50"),
        "montantAPayer": Decimal("1090.50"),
    }
    assert '"montantHtTotal":1090.50' in jsonbody.dumps(body)
    assert body["dateFacture"] == "2026-03-02"
    assert body["destinataire"] == {
        "codeDestinataire": "21588139298698",
        "codeServiceExecutant": "TECHNIQUE",
    }
    assert body["pieceJointePrincipale"] == [
        {
            "pieceJointePrincipaleDesignation": MAIN.designation,
            "pieceJointePrincipaleId": MAIN.piece_jointe_id,
        }
    ]
    assert "pieceJointeComplementaire" not in body
    assert "idUtilisateurCourant" not in body


def test_without_bank_account_payment_mode_is_autre_and_supplier_codes_are_left_out(app):
    contract = factories.make_contract(chorus_service_code="  ", chorus_engagement_number="")
    contract.bank_account = None
    receipt = factories.make_receipt(contract=contract)
    body = submission_for(receipt, settings=settings(), invoice_date=DAY, main_attachment=MAIN)
    assert body["fournisseur"] == {"idFournisseur": 25000001}
    assert body["references"]["modePaiement"] == "AUTRE"
    assert "codeServiceExecutant" not in body["destinataire"]
    assert "numeroBonCommande" not in body["references"]
    assert "numeroMarche" not in body["references"]


def test_a_fee_invoice_without_vat_is_exempt_and_one_with_vat_is_tva_sur_debit(app):
    exempt = factories.make_fee_invoice(
        amount_ht=Decimal("100"),
        vat_rate=Decimal("0"),
        vat_amount=Decimal("0"),
        total=Decimal("100"),
    )
    taxed = factories.make_fee_invoice()
    exempt_body = submission_for(
        exempt, settings=settings(), invoice_date=DAY, main_attachment=MAIN
    )
    taxed_body = submission_for(taxed, settings=settings(), invoice_date=DAY, main_attachment=MAIN)
    assert exempt_body["references"]["typeTva"] == "EXONERATION"
    assert exempt_body["references"]["motifExonerationTva"] == "ASSURANCE_261C"
    assert taxed_body["references"]["typeTva"] == "TVA_SUR_DEBIT"
    assert "motifExonerationTva" not in taxed_body["references"]
    assert taxed_body["montantTotal"]["montantTVA"] == Decimal("100.00")
    # A fee invoice without contract has no bank account nor service code.
    assert taxed_body["references"]["modePaiement"] == "AUTRE"


def test_a_negative_fee_invoice_is_a_credit_note_with_positive_amounts(app):
    refund = factories.make_credit_note(
        amount_ht="-50",
    )
    body = submission_for(refund, settings=settings(), invoice_date=DAY, main_attachment=MAIN)
    assert body["references"]["typeFacture"] == "AVOIR"
    assert body["montantTotal"]["montantTtcTotal"] == Decimal("60.00")
    assert "numeroFactureOrigine" not in body["references"]


def test_inconsistent_fee_invoice_amounts_are_refused_before_sending(app):
    invoice = factories.make_fee_invoice(total=Decimal("601.00"))
    with pytest.raises(PayloadError, match="Montants incohérents"):
        submission_for(invoice, settings=settings(), invoice_date=DAY, main_attachment=MAIN)


def test_a_missing_supplier_id_or_siret_is_refused_in_french(app):
    receipt = factories.make_receipt()
    with pytest.raises(PayloadError, match="identifiant fournisseur"):
        submission_for(
            receipt, settings=settings(supplier_id=None), invoice_date=DAY, main_attachment=MAIN
        )
    receipt.contract.client.siret = None
    with pytest.raises(PayloadError, match="SIRET"):
        submission_for(receipt, settings=settings(), invoice_date=DAY, main_attachment=MAIN)


def test_a_secondary_attachment_without_a_chorus_type_stops_the_payload(app):
    receipt = full_receipt()
    with pytest.raises(PayloadError, match="« Annexe » n'a pas de type Chorus Pro"):
        submission_for(
            receipt,
            settings=settings(),
            invoice_date=DAY,
            main_attachment=MAIN,
            secondary_attachments=[AttachmentRef(2, "Annexe")],
        )


def test_an_exempt_document_cannot_be_described_without_a_vat_exemption_code(app):
    no_code = settings(vat_exemption_code=None, vat_exemption_label=None)
    with pytest.raises(PayloadError, match="Aucun motif d'exonération de TVA Chorus Pro"):
        submission_for(
            factories.make_receipt(), settings=no_code, invoice_date=DAY, main_attachment=MAIN
        )
    taxed = factories.make_fee_invoice()  # VAT applies: no exemption code needed
    body = submission_for(taxed, settings=no_code, invoice_date=DAY, main_attachment=MAIN)
    assert body["references"]["typeTva"] == "TVA_SUR_DEBIT"


def test_every_built_body_passes_the_emulator_request_model(app):
    receipt = full_receipt()
    body = submission_for(
        receipt,
        settings=settings(user_id=1),
        invoice_date=DAY,
        main_attachment=MAIN,
        secondary_attachments=[AttachmentRef(2, "Annexe", "AUT")],
    )
    SoumettreFactureParam.validate(json.loads(jsonbody.dumps(body), parse_float=Decimal))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Attestation d'assurance 2026.pdf", "Attestation_d_assurance_2026.pdf"),
        ("C:\\Users\\moi\\Relevé.PDF", "Releve.pdf"),
        ("x" * 80 + ".docx", "x" * 45 + ".docx"),
        ("sans extension", "sans_extension"),
        ("...", "document"),
    ],
)
def test_file_names_are_made_acceptable_to_chorus(name, expected):
    assert chorus_file_name(name) == expected
    assert len(chorus_file_name(name)) <= 50


def test_the_main_attachment_is_named_after_the_document(app):
    receipt = factories.make_receipt(number="Q2026-000123")
    invoice = factories.make_fee_invoice(number="FH2026-0007")
    assert main_attachment_file_name(receipt) == "Avis_echeance_Q2026-000123.pdf"
    assert main_attachment_file_name(invoice) == "Facture_honoraires_FH2026-0007.pdf"
    assert main_attachment_designation(receipt) == "Avis d'échéance Q2026-000123"
