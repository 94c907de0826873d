"""Eligibility (S9 + B3) and due dates (S3, S4, S14) as pure rules: no database, no clock.

Documents here are transient model instances (never added to a session), so every column
the rules read is set explicitly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from portal.billing.models import FeeInvoice, Receipt
from portal.daily import rules as daily_rules
from portal.dematerialization.models import RecipientService, RecipientStructure
from portal.portfolio.models import Client, ClientKind, Contract
from portal.sending import rules
from portal.sending.rules import Eligibility, Reason

SIRET = "21750001600019"
REFRESHED = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)

# A VAT exemption code is chosen unless a test says otherwise (S2_NO_VAT_EXEMPTION_CODE).
eligibility = partial(rules.eligibility, has_vat_exemption_code=True)


def client(**kw: Any) -> Client:
    values: dict[str, Any] = {"kind": "entreprise", "name": "Commune de Test", "siret": SIRET}
    values.update(kw)
    return Client(**values)


def contract(**kw: Any) -> Contract:
    values: dict[str, Any] = {
        "number": "CT-1",
        "client": kw.pop("client", None) or client(),
        "term": "advance",
        "is_chorus_enabled": True,
        "chorus_service_code": "SERVICE-FIN",
        "chorus_engagement_number": None,
    }
    values.update(kw)
    return Contract(**values)


def receipt(**kw: Any) -> Receipt:
    values: dict[str, Any] = {
        "number": "Q1",
        "contract": kw.pop("contract", None) or contract(**kw.pop("contract_kw", {})),
        "period_start_on": date(2022, 1, 1),
        "period_end_on": date(2022, 12, 31),
        "entered_on": date(2021, 11, 15),
        "total": Decimal("1090.00"),
        "chorus_state": "not_sent",
        "is_corrupted": False,
        "pdf_stored_name": "avis-q1.pdf",
    }
    values.update(kw)
    return Receipt(**values)


def fee_invoice(**kw: Any) -> FeeInvoice:
    own_client = kw.pop("client", None) or client()
    values: dict[str, Any] = {
        "number": "FH1",
        "client": own_client,
        "contract": contract(client=own_client),
        "entered_on": date(2022, 1, 15),
        "total": Decimal("600.00"),
        "chorus_state": "not_sent",
        "is_corrupted": False,
        "pdf_stored_name": "facture-fh1.pdf",
    }
    values.update(kw)
    return FeeInvoice(**values)


def structure(services: list[dict[str, Any]] | None = None, **kw: Any) -> RecipientStructure:
    values: dict[str, Any] = {
        "siret": SIRET,
        "is_found": True,
        "is_active": True,
        "service_code_required": False,
        "engagement_required": False,
        "engagement_or_service": False,
        "refreshed_at": REFRESHED,
    }
    values.update(kw)
    found = RecipientStructure(**values)
    if services is None:
        services = [{"code": "FACTURES_PUBLIQUES"}, {"code": "SERVICE-FIN"}]
    found.services = [
        RecipientService(**{"is_active": True, "engagement_required": False, **s}) for s in services
    ]
    return found


def codes_of(document: Receipt | FeeInvoice, **kw: Any) -> set[str]:
    kw.setdefault("chorus_enabled", True)
    kw.setdefault("recipient", structure())
    return set(eligibility(document, **kw).codes)


# -- the result type ----------------------------------------------------------------------------


def test_a_document_is_eligible_exactly_when_no_reason_is_blocking() -> None:
    note = Reason("NOTE", "À titre d'information", blocking=False)
    stop = Reason("STOP", "Bloquant")
    assert Eligibility(()).eligible
    assert Eligibility((note,)).eligible
    assert not Eligibility((note, stop)).eligible
    assert Eligibility((note, stop)).codes == {"STOP"}


def test_messages_list_blocking_reasons_before_notes() -> None:
    verdict = rules.reasons_for({"B3_NOT_CHECKED", "S9_NO_SIRET"})
    assert verdict.messages == [
        "Le client n'a pas de SIRET.",
        "Destinataire non encore vérifié dans Chorus Pro (vérification automatique avant l'envoi).",
    ]


def test_reason_codes_are_unique_and_the_catalogue_is_complete() -> None:
    assert len(rules.REASONS) == len(set(rules.REASONS))
    assert rules.REASONS["B3_NOT_CHECKED"].blocking is False
    assert "S9_NO_CONTRACT" not in rules.RECEIPT_CODES
    assert "S9_NO_DUE_NOTICE" not in rules.FEE_INVOICE_CODES
    assert set(rules.RECEIPT_CODES) | set(rules.FEE_INVOICE_CODES) == set(rules.BLOCKING_CODES)


def test_reasons_are_french_sentences() -> None:
    for reason in rules.REASONS.values():
        assert reason.message[0].isupper() and reason.message.endswith((".", ")"))


# -- S2: VAT exemption code ---------------------------------------------------------------------


def test_a_receipt_is_not_eligible_while_no_vat_exemption_code_is_chosen() -> None:
    verdict = eligibility(
        receipt(), chorus_enabled=True, has_vat_exemption_code=False, recipient=structure()
    )
    assert verdict.codes == {"S2_NO_VAT_EXEMPTION_CODE"}
    assert verdict.messages == [
        "Aucun motif d'exonération de TVA Chorus Pro n'est choisi "
        "(Administration › Paramètres › Système)."
    ]


def test_a_fee_invoice_without_vat_needs_the_exemption_code_and_one_with_vat_does_not() -> None:
    without_vat = fee_invoice(vat_amount=Decimal("0.00"), total=Decimal("500.00"))
    with_vat = fee_invoice(vat_amount=Decimal("100.00"))
    assert codes_of(without_vat, has_vat_exemption_code=False) == {"S2_NO_VAT_EXEMPTION_CODE"}
    assert codes_of(with_vat, has_vat_exemption_code=False) == set()
    assert codes_of(without_vat) == set()


def test_documents_go_as_vat_exempt_exactly_like_the_payload_sends_them() -> None:
    assert rules.is_vat_exempt(receipt())
    assert rules.is_vat_exempt(fee_invoice(vat_amount=Decimal("0.00")))
    assert rules.is_vat_exempt(fee_invoice(vat_amount=Decimal("0.004")))  # 0.00 once rounded
    assert not rules.is_vat_exempt(fee_invoice(vat_amount=Decimal("0.01")))
    assert not rules.is_vat_exempt(fee_invoice(vat_amount=Decimal("-20.00")))  # a credit note


# -- S9 -----------------------------------------------------------------------------------------


def test_a_complete_receipt_with_a_checked_recipient_is_eligible_without_any_reason() -> None:
    verdict = eligibility(receipt(), chorus_enabled=True, recipient=structure())
    assert verdict.eligible
    assert verdict.reasons == ()


def test_a_complete_fee_invoice_with_a_checked_recipient_is_eligible() -> None:
    assert eligibility(fee_invoice(), chorus_enabled=True, recipient=structure()).eligible


def test_s1_nothing_is_sendable_while_dematerialization_is_off() -> None:
    assert codes_of(receipt(), chorus_enabled=False) == {"S1_DISABLED"}
    assert codes_of(fee_invoice(), chorus_enabled=False) == {"S1_DISABLED"}


def test_s9_receipt_without_due_notice_is_not_sendable() -> None:
    verdict = eligibility(receipt(pdf_stored_name=None), chorus_enabled=True, recipient=structure())
    assert not verdict.eligible
    assert verdict.codes == {"S9_NO_DUE_NOTICE"}
    assert "avis d'échéance" in verdict.messages[0]


def test_s9_fee_invoice_without_its_pdf_is_not_sendable_and_names_the_invoice_pdf() -> None:
    verdict = eligibility(
        fee_invoice(pdf_stored_name=None), chorus_enabled=True, recipient=structure()
    )
    assert verdict.codes == {"S9_NO_INVOICE_PDF"}
    assert "PDF de la facture" in verdict.messages[0]


def test_s9_contract_without_chorus_blocks_the_receipt() -> None:
    document = receipt(contract_kw={"is_chorus_enabled": False})
    assert codes_of(document) == {"S9_CONTRACT_NOT_CHORUS"}


def test_s7_s9_only_entreprise_clients_can_be_dematerialized() -> None:
    document = receipt(contract=contract(client=client(kind=ClientKind.PARTICULIER)))
    assert codes_of(document) == {"S9_CLIENT_NOT_COMPANY"}


@pytest.mark.parametrize("siret", [None, "", "   "])
def test_s9_a_client_without_siret_blocks_and_the_recipient_cannot_be_checked(
    siret: str | None,
) -> None:
    document = receipt(contract=contract(client=client(siret=siret)))
    verdict = eligibility(document, chorus_enabled=True, recipient=None)
    assert verdict.codes == {"S9_NO_SIRET"}
    # Nothing to look up without a SIRET: no "will be checked" note.
    assert [r.code for r in verdict.reasons] == ["S9_NO_SIRET"]


@pytest.mark.parametrize("service_code", [None, "", "  "])
def test_s9_a_contract_without_service_code_blocks(service_code: str | None) -> None:
    document = receipt(contract_kw={"chorus_service_code": service_code})
    assert codes_of(document) == {"S9_NO_SERVICE_CODE"}


def test_s9_a_document_in_progress_is_not_offered_again() -> None:
    assert codes_of(receipt(chorus_state="in_progress")) == {"S9_IN_PROGRESS"}


def test_s9_the_job_holding_the_in_progress_lock_may_still_send_it() -> None:
    document = receipt(chorus_state="in_progress")
    assert codes_of(document, locked_by_caller=True) == set()


def test_s9_an_already_dematerialized_document_is_not_offered_again() -> None:
    assert codes_of(fee_invoice(chorus_state="sent")) == {"S9_ALREADY_SENT"}
    assert codes_of(receipt(chorus_state="sent"), locked_by_caller=True) == {"S9_ALREADY_SENT"}


def test_s9_a_corrupted_receipt_is_not_sendable() -> None:
    assert codes_of(receipt(is_corrupted=True)) == {"S9_CORRUPTED"}


@pytest.mark.parametrize(
    "number",
    ["Q2026-000000000000001", "Q 2026 1", "Q-été", "Q.1", "Q#1", "Q1\n", "Q1 "],
    ids=["21 characters", "space", "accent", "dot", "hash", "newline", "trailing space"],
)
def test_s9_a_number_chorus_cannot_take_blocks_before_any_call(number: str) -> None:
    assert codes_of(receipt(number=number)) == {"S9_NUMBER_INVALID"}
    assert codes_of(fee_invoice(number=number)) == {"S9_NUMBER_INVALID"}
    message = rules.REASONS["S9_NUMBER_INVALID"].message
    assert "20 caractères au plus" in message and "+ - _ /" in message


@pytest.mark.parametrize("number", ["A+b-C_d/2026-0000001", "q1", "FH2026-00012"])
def test_s9_letters_digits_and_plus_dash_underscore_slash_up_to_20_characters_are_taken(
    number: str,
) -> None:
    assert codes_of(receipt(number=number)) == set()


def test_s9_a_fee_invoice_without_contract_reports_only_the_missing_contract() -> None:
    document = fee_invoice(contract=None)
    assert codes_of(document) == {"S9_NO_CONTRACT"}


def test_s18_a_fee_invoice_is_judged_on_its_own_client() -> None:
    document = fee_invoice(client=client(kind="particulier", siret=None))
    assert codes_of(document) == {"S9_CLIENT_NOT_COMPANY", "S9_NO_SIRET"}


def test_every_unmet_condition_is_reported_at_once() -> None:
    document = receipt(
        contract=contract(
            client=client(kind="particulier", siret=None),
            is_chorus_enabled=False,
            chorus_service_code=None,
        ),
        pdf_stored_name=None,
        chorus_state="sent",
        is_corrupted=True,
    )
    verdict = eligibility(document, chorus_enabled=False, recipient=None)
    assert verdict.codes == {
        "S1_DISABLED",
        "S9_CONTRACT_NOT_CHORUS",
        "S9_CLIENT_NOT_COMPANY",
        "S9_NO_SIRET",
        "S9_NO_SERVICE_CODE",
        "S9_NO_DUE_NOTICE",
        "S9_ALREADY_SENT",
        "S9_CORRUPTED",
    }
    assert len(verdict.messages) == 8


# -- B3 -----------------------------------------------------------------------------------------


def test_b3_an_unchecked_recipient_is_a_note_that_does_not_block() -> None:
    verdict = eligibility(receipt(), chorus_enabled=True, recipient=None)
    assert verdict.eligible
    assert [r.code for r in verdict.reasons] == ["B3_NOT_CHECKED"]
    assert verdict.messages == [
        "Destinataire non encore vérifié dans Chorus Pro (vérification automatique avant l'envoi)."
    ]


def test_b3_a_cached_structure_never_refreshed_counts_as_unchecked() -> None:
    stale = structure(refreshed_at=None, is_found=False)
    verdict = eligibility(receipt(), chorus_enabled=True, recipient=stale)
    assert verdict.eligible
    assert [r.code for r in verdict.reasons] == ["B3_NOT_CHECKED"]


def test_b3_an_unknown_siret_blocks_and_hides_the_service_checks() -> None:
    assert codes_of(receipt(), recipient=structure(is_found=False, services=[])) == {
        "B3_STRUCTURE_NOT_FOUND"
    }


def test_b3_an_inactive_structure_blocks() -> None:
    assert codes_of(receipt(), recipient=structure(is_active=False)) == {"B3_STRUCTURE_INACTIVE"}


def test_b3_a_service_code_unknown_to_the_structure_blocks() -> None:
    document = receipt(contract_kw={"chorus_service_code": "INCONNU"})
    assert codes_of(document) == {"B3_SERVICE_UNKNOWN"}


def test_b3_an_inactive_service_blocks() -> None:
    recipient = structure(services=[{"code": "SERVICE-FIN", "is_active": False}])
    assert codes_of(receipt(), recipient=recipient) == {"B3_SERVICE_INACTIVE"}


def test_b3_the_public_to_public_service_is_never_used() -> None:
    document = receipt(contract_kw={"chorus_service_code": "FACTURES_PUBLIQUES"})
    assert codes_of(document) == {"B3_SERVICE_PUBLIC_TO_PUBLIC"}


def test_b3_the_contract_service_code_is_matched_after_trimming_spaces() -> None:
    document = receipt(contract_kw={"chorus_service_code": " SERVICE-FIN "})
    assert codes_of(document) == set()


def test_b3_a_structure_requiring_a_service_code_says_so_when_it_is_missing() -> None:
    document = receipt(contract_kw={"chorus_service_code": None})
    recipient = structure(service_code_required=True)
    assert codes_of(document, recipient=recipient) == {
        "S9_NO_SERVICE_CODE",
        "B3_SERVICE_CODE_REQUIRED",
    }


def test_b3_a_structure_requiring_an_engagement_number_blocks_until_the_contract_has_one() -> None:
    recipient = structure(engagement_required=True)
    assert codes_of(receipt(), recipient=recipient) == {"B3_ENGAGEMENT_REQUIRED"}
    with_engagement = receipt(contract_kw={"chorus_engagement_number": "EJ-2026-001"})
    assert codes_of(with_engagement, recipient=recipient) == set()


def test_b3_a_service_requiring_an_engagement_number_blocks_until_the_contract_has_one() -> None:
    recipient = structure(services=[{"code": "SERVICE-FIN", "engagement_required": True}])
    assert codes_of(receipt(), recipient=recipient) == {"B3_SERVICE_ENGAGEMENT_REQUIRED"}
    blank = receipt(contract_kw={"chorus_engagement_number": "  "})
    assert codes_of(blank, recipient=recipient) == {"B3_SERVICE_ENGAGEMENT_REQUIRED"}
    filled = receipt(contract_kw={"chorus_engagement_number": "EJ-1"})
    assert codes_of(filled, recipient=recipient) == set()


def test_b3_engagement_or_service_is_satisfied_by_either() -> None:
    recipient = structure(engagement_or_service=True)
    assert codes_of(receipt(), recipient=recipient) == set()
    engagement_only = receipt(
        contract_kw={"chorus_service_code": None, "chorus_engagement_number": "EJ-1"}
    )
    # S9 still wants a service code, but the structure's own rule is met.
    assert codes_of(engagement_only, recipient=recipient) == {"S9_NO_SERVICE_CODE"}
    neither = receipt(contract_kw={"chorus_service_code": None})
    assert codes_of(neither, recipient=recipient) == {
        "S9_NO_SERVICE_CODE",
        "B3_ENGAGEMENT_OR_SERVICE_REQUIRED",
    }


def test_b3_several_recipient_problems_are_reported_together() -> None:
    recipient = structure(
        is_active=False,
        engagement_required=True,
        services=[{"code": "SERVICE-FIN", "is_active": False, "engagement_required": True}],
    )
    assert codes_of(receipt(), recipient=recipient) == {
        "B3_STRUCTURE_INACTIVE",
        "B3_SERVICE_INACTIVE",
        "B3_ENGAGEMENT_REQUIRED",
        "B3_SERVICE_ENGAGEMENT_REQUIRED",
    }


def test_b3_a_fee_invoice_without_contract_only_gets_the_structure_checks() -> None:
    recipient = structure(is_active=False, engagement_required=True, service_code_required=True)
    assert codes_of(fee_invoice(contract=None), recipient=recipient) == {
        "S9_NO_CONTRACT",
        "B3_STRUCTURE_INACTIVE",
    }


def test_b3_the_checks_apply_to_fee_invoices_too() -> None:
    invoice = fee_invoice()
    assert invoice.contract is not None
    invoice.contract.chorus_service_code = "INCONNU"
    assert codes_of(invoice) == {"B3_SERVICE_UNKNOWN"}


# -- effective date and due date (S3, S4, S14) --------------------------------------------------

CUTOFF = date(2021, 6, 30)


def due(document: Receipt | FeeInvoice, today: date, *, receipts: int = 0, fees: int = 0) -> bool:
    return daily_rules.is_due(
        document,
        today=today,
        delay_receipts_days=receipts,
        delay_fee_invoices_days=fees,
        cutoff=CUTOFF,
    )


def test_s14_effective_date_of_a_receipt_a_echoir_is_its_period_start() -> None:
    assert daily_rules.effective_date(receipt()) == date(2022, 1, 1)


def test_s14_effective_date_of_a_receipt_echu_is_its_period_end() -> None:
    assert daily_rules.effective_date(receipt(contract_kw={"term": "arrears"})) == date(
        2022, 12, 31
    )


def test_s14_effective_date_of_a_fee_invoice_is_its_date_de_saisie() -> None:
    assert daily_rules.effective_date(fee_invoice(entered_on=date(2022, 3, 4))) == date(2022, 3, 4)


def test_s3_due_from_is_the_effective_date_minus_the_advance_delay() -> None:
    assert daily_rules.due_from(receipt(), 30) == date(2021, 12, 2)
    assert daily_rules.due_from(receipt(), 0) == date(2022, 1, 1)


def test_s3_with_a_30_day_delay_a_receipt_effective_1_january_is_sent_from_2_december() -> None:
    document = receipt(period_start_on=date(2022, 1, 1))
    assert due(document, date(2021, 12, 2), receipts=30)
    assert not due(document, date(2021, 12, 1), receipts=30)


def test_s14_receipt_entered_15_november_for_a_period_starting_1_january_is_sent_on_1_january() -> (
    None
):
    document = receipt(entered_on=date(2021, 11, 15), period_start_on=date(2022, 1, 1))
    assert not due(document, date(2021, 11, 15))
    assert not due(document, date(2021, 12, 31))
    assert due(document, date(2022, 1, 1))
    assert due(document, date(2022, 2, 1))


def test_s14_a_receipt_echu_is_due_at_its_period_end() -> None:
    document = receipt(contract_kw={"term": "arrears"}, period_end_on=date(2022, 3, 31))
    assert not due(document, date(2022, 3, 30))
    assert due(document, date(2022, 3, 31))
    assert due(document, date(2022, 3, 21), receipts=10)
    assert not due(document, date(2022, 3, 20), receipts=10)


def test_s18_fee_invoices_use_their_date_de_saisie_and_their_own_delay() -> None:
    document = fee_invoice(entered_on=date(2022, 1, 15))
    assert due(document, date(2022, 1, 15))
    assert not due(document, date(2022, 1, 14))
    # The receipts' delay does not apply to fee invoices, theirs does.
    assert not due(document, date(2022, 1, 14), receipts=30)
    assert due(document, date(2022, 1, 14), fees=1)


def test_s4_a_document_entered_on_the_cut_off_date_is_never_due() -> None:
    on_cutoff = receipt(entered_on=CUTOFF, period_start_on=date(2021, 7, 1))
    after = receipt(entered_on=date(2021, 7, 1), period_start_on=date(2021, 7, 1))
    assert not due(on_cutoff, date(2030, 1, 1))
    assert due(after, date(2021, 7, 1))
    assert not due(fee_invoice(entered_on=CUTOFF), date(2030, 1, 1))


@pytest.mark.parametrize("state", ["sent", "in_progress"])
def test_s14_sent_or_in_progress_documents_are_not_picked(state: str) -> None:
    assert not due(receipt(chorus_state=state), date(2030, 1, 1))
    assert not due(fee_invoice(chorus_state=state), date(2030, 1, 1))


def test_s14_only_documents_of_chorus_enabled_contracts_are_picked() -> None:
    assert not due(receipt(contract_kw={"is_chorus_enabled": False}), date(2030, 1, 1))
    assert not due(fee_invoice(contract=None), date(2030, 1, 1))


def test_s14_a_due_document_is_picked_even_when_not_eligible_so_it_is_reported_skipped() -> None:
    document = receipt(pdf_stored_name=None)
    assert due(document, date(2030, 1, 1))
    assert not eligibility(document, chorus_enabled=True, recipient=None).eligible


def test_s3_delays_come_from_the_chorus_settings() -> None:
    settings = SimpleNamespace(delay_receipts_days=30, delay_fee_invoices_days=5)
    assert daily_rules.Delays.from_settings(settings) == daily_rules.Delays(30, 5)  # type: ignore[arg-type]
