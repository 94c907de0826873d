"""« Réémettre sous un nouveau numéro »: a document rejected in Chorus Pro (REJETEE) is copied
under a new number; the copy and the original point to each other, both audit trails say
so, and the original is « Remplacée » and never sent again (B8 playbook, EVIDENCE.md § 5)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.billing import rules, services
from portal.billing.models import FeeInvoice, Receipt
from portal.dematerialization.models import ChorusExchange
from portal.extensions import db
from portal.sending import queries as eligibility_queries
from portal.validators import ValidationFailed
from tests import factories
from tests.billing.helpers import post


def rejected(document: Any, chorus_id: int = 7000123) -> Any:
    """The document as it stands once its recipient rejected it in Chorus Pro."""
    services.store_generated_pdf(document)
    document.chorus_state = "sent"
    document.chorus_invoice_id = chorus_id
    document.chorus_status = "REJETEE"
    db.session.commit()
    return document


def rejected_receipt(**kw: Any) -> Receipt:
    return rejected(factories.make_receipt(**kw))


def rejected_fee_invoice(**kw: Any) -> FeeInvoice:
    return rejected(factories.make_fee_invoice(**kw))


def trail(document: Receipt | FeeInvoice) -> list[ChorusExchange]:
    kind = "receipt" if isinstance(document, Receipt) else "fee_invoice"
    return list(
        db.session.scalars(
            select(ChorusExchange).where(
                ChorusExchange.document_type == kind, ChorusExchange.document_id == document.id
            )
        )
    )


# -- the service ----------------------------------------------------------------------------------


def test_a_rejected_receipt_is_copied_under_the_new_number_and_linked_both_ways(
    app: Flask, gestionnaire
) -> None:
    original = rejected_receipt(number="Q2026-0042", total=Decimal("1090.00"))

    copy = services.reissue(original, "Q2026-0042-R1", user=gestionnaire)
    db.session.commit()

    assert isinstance(copy, Receipt)
    assert (copy.number, copy.contract_id, copy.total) == (
        "Q2026-0042-R1",
        original.contract_id,
        Decimal("1090.00"),
    )
    assert (copy.period_start_on, copy.period_end_on) == (
        original.period_start_on,
        original.period_end_on,
    )
    assert copy.chorus_state == "not_sent" and copy.chorus_invoice_id is None
    assert copy.allocated_amount == 0 and copy.has_pdf and not copy.is_corrupted
    assert original.replaced_by is copy and copy.replaces is original
    # The original stays what it was in Chorus Pro, and is never sendable again.
    assert (original.chorus_state, original.chorus_status) == ("sent", "REJETEE")
    verdict = eligibility_queries.document_eligibility(
        original, chorus_enabled=True, has_vat_exemption_code=True
    )
    assert "S9_ALREADY_SENT" in verdict.codes
    [on_original] = trail(original)
    [on_copy] = trail(copy)
    assert on_original.operation == on_copy.operation == services.REISSUE
    assert on_original.user_id == on_copy.user_id == gestionnaire.id
    assert "réémise sous le numéro Q2026-0042-R1" in (on_original.message or "")
    assert "Réémission de Q2026-0042" in (on_copy.message or "")
    assert on_copy.chorus_invoice_id == 7000123


def test_a_rejected_fee_invoice_is_copied_with_its_amounts_and_credit_note_link(
    app: Flask, gestionnaire
) -> None:
    cancelled = factories.make_fee_invoice(number="FH-1")
    original = rejected(
        factories.make_credit_note(
            "-100", number="AV-1", client=cancelled.client, original_fee_invoice=cancelled
        )
    )

    copy = services.reissue(original, "AV-1-R1", user=gestionnaire)

    assert isinstance(copy, FeeInvoice)
    assert (copy.client_id, copy.amount_ht, copy.vat_amount, copy.total, copy.label) == (
        original.client_id,
        Decimal("-100.00"),
        Decimal("-20.00"),
        Decimal("-120.00"),
        original.label,
    )
    assert copy.original_fee_invoice is cancelled
    assert original.replaced_by is copy


def test_the_proposed_number_is_free_and_within_chorus_limits(app: Flask) -> None:
    original = rejected_receipt(number="Q2026-00000000000042")  # 20 characters
    factories.make_fee_invoice(number="q2026-00000000000-r1")  # taken, whatever the case
    db.session.commit()
    assert services.proposed_reissue_number(original) == "Q2026-00000000000-R2"
    copy = rejected_receipt(number="Q-7-R1")
    assert services.proposed_reissue_number(copy) == "Q-7-R2"  # a copy of a copy counts on


def test_the_proposed_number_turns_characters_chorus_refuses_into_dashes() -> None:
    candidates = rules.reissue_number_candidates("Q 2026/01", max_length=20, count=2)
    assert list(candidates) == ["Q-2026/01-R1", "Q-2026/01-R2"]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("Q 2026 42", "Chorus Pro n'accepte pas ce numéro"),
        ("Q2026-000000000000042", "Chorus Pro n'accepte pas ce numéro"),
        ("q-taken", "Ce numéro est déjà utilisé par une quittance."),
        ("F-TAKEN", "Ce numéro est déjà utilisé par une facture d'honoraires."),
        ("q2026-0042", "Ce numéro est déjà utilisé par une quittance."),
    ],
)
def test_the_new_number_is_checked_like_any_number_and_nothing_is_saved(
    app: Flask, number: str, message: str
) -> None:
    original = rejected_receipt(number="Q2026-0042")
    factories.make_receipt(number="Q-TAKEN")
    factories.make_fee_invoice(number="f-taken")
    db.session.commit()

    with pytest.raises(ValidationFailed) as refused:
        services.reissue(original, number, user=None)

    db.session.rollback()
    assert refused.value.errors["number"].startswith(message)
    assert db.session.get(Receipt, original.id).replaced_by_id is None
    assert db.session.scalar(select(Receipt).where(Receipt.number == number)) is None


@pytest.mark.parametrize(
    "status", [None, "DEPOSEE", "MISE_A_DISPOSITION", "SUSPENDUE", "A_RECYCLER"]
)
def test_only_a_rejected_document_can_be_reissued(app: Flask, status: str | None) -> None:
    receipt = rejected_receipt()
    receipt.chorus_status = status
    db.session.commit()
    assert services.reissue_blocked_reason(receipt) is not None
    with pytest.raises(ValidationFailed, match="statut REJETEE"):
        services.reissue(receipt, "Q-NEW-1", user=None)


def test_a_document_is_reissued_once(app: Flask) -> None:
    original = rejected_receipt(number="Q-ONCE")
    services.reissue(original, "Q-ONCE-R1", user=None)
    db.session.commit()
    with pytest.raises(ValidationFailed, match="déjà réémise sous le numéro Q-ONCE-R1"):
        services.reissue(original, "Q-ONCE-R2", user=None)


def test_a_stale_original_loses_the_race_to_a_concurrent_reissue(app: Flask) -> None:
    original = rejected_receipt(number="Q-RACE")
    # Another request linked a copy after this one read the original (compare-and-set).
    other = factories.make_receipt(number="Q-RACE-R9", contract=original.contract)
    db.session.execute(
        Receipt.__table__.update().where(Receipt.id == original.id).values(replaced_by_id=other.id)
    )
    with pytest.raises(ValidationFailed, match="vient d'être réémise"):
        services.reissue(original, "Q-RACE-R1", user=None)
    db.session.rollback()
    assert db.session.scalar(select(Receipt).where(Receipt.number == "Q-RACE-R1")) is None


# -- the pages ------------------------------------------------------------------------------------


def test_the_action_is_offered_on_a_rejected_document_only(as_gestionnaire) -> None:
    original = rejected_receipt(number="Q-OFFER")
    sent = factories.make_receipt(number="Q-SENT", chorus_state="sent", chorus_status="DEPOSEE")
    db.session.commit()
    page = as_gestionnaire.get(f"/quittances/{original.id}").get_data(as_text=True)
    assert 'data-testid="reissue"' in page
    assert "Réémettre sous un nouveau numéro" in page
    other = as_gestionnaire.get(f"/quittances/{sent.id}").get_data(as_text=True)
    assert 'data-testid="reissue"' not in other


def test_the_form_proposes_a_number_and_the_post_creates_the_copy(as_gestionnaire) -> None:
    original = rejected_receipt(number="Q-PAGE")

    form = as_gestionnaire.get(f"/quittances/{original.id}/reemettre")
    assert form.status_code == 200
    assert 'value="Q-PAGE-R1"' in form.get_data(as_text=True)

    response = post(as_gestionnaire, f"/quittances/{original.id}/reemettre", {"number": "Q-NEW"})

    copy = db.session.scalar(select(Receipt).where(Receipt.number == "Q-NEW"))
    assert copy is not None
    assert response.status_code == 302 and response.location.endswith(f"/quittances/{copy.id}")
    copy_page = as_gestionnaire.get(f"/quittances/{copy.id}").get_data(as_text=True)
    assert 'data-testid="replaces"' in copy_page and "Remplace" in copy_page
    assert f'href="/quittances/{original.id}"' in copy_page
    original_page = as_gestionnaire.get(f"/quittances/{original.id}").get_data(as_text=True)
    assert 'data-testid="replaced-by"' in original_page and "Remplacée par" in original_page
    assert 'data-testid="reissue"' not in original_page
    listing = as_gestionnaire.get("/quittances").get_data(as_text=True)
    assert listing.count('data-testid="replaced"') == 1


def test_a_fee_invoice_is_reissued_from_its_page(as_gestionnaire) -> None:
    original = rejected_fee_invoice(number="FH-PAGE")
    assert "FH-PAGE-R1" in as_gestionnaire.get(f"/factures/{original.id}/reemettre").get_data(
        as_text=True
    )
    response = post(as_gestionnaire, f"/factures/{original.id}/reemettre", {"number": "FH-NEW"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(FeeInvoice, original.id).replaced_by.number == "FH-NEW"
    listing = as_gestionnaire.get("/factures").get_data(as_text=True)
    assert 'data-testid="replaced"' in listing


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "Saisissez le numéro."),
        ("X" * 41, "40 caractères"),
        ("Q PAGE", "Chorus Pro n&#39;accepte pas ce numéro"),
        ("q-page", "Ce numéro est déjà utilisé par une quittance."),
    ],
)
def test_a_refused_number_is_shown_next_to_the_field(as_gestionnaire, number, message) -> None:
    original = rejected_receipt(number="Q-PAGE")
    response = post(as_gestionnaire, f"/quittances/{original.id}/reemettre", {"number": number})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'data-testid="reissue-form"' in html
    db.session.expire_all()
    assert db.session.get(Receipt, original.id).replaced_by_id is None


def test_a_document_that_cannot_be_reissued_sends_back_to_its_page(as_gestionnaire) -> None:
    receipt = factories.make_receipt(chorus_state="sent", chorus_status="DEPOSEE")
    db.session.commit()
    for response in (
        as_gestionnaire.get(f"/quittances/{receipt.id}/reemettre"),
        post(as_gestionnaire, f"/quittances/{receipt.id}/reemettre", {"number": "Q-NO"}),
    ):
        assert response.status_code == 302
        assert response.location.endswith(f"/quittances/{receipt.id}")
    assert db.session.scalar(select(Receipt).where(Receipt.number == "Q-NO")) is None


def test_the_read_only_role_can_neither_see_nor_use_the_action(as_lecteur) -> None:
    receipt = rejected_receipt()
    invoice = rejected_fee_invoice()
    page = as_lecteur.get(f"/quittances/{receipt.id}").get_data(as_text=True)
    assert 'data-testid="reissue"' not in page
    for url in (f"/quittances/{receipt.id}/reemettre", f"/factures/{invoice.id}/reemettre"):
        assert as_lecteur.get(url).status_code == 403
        assert post(as_lecteur, url, {"number": "X-1"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Receipt, receipt.id).replaced_by_id is None


def test_an_admin_may_reissue(as_admin) -> None:
    receipt = rejected_receipt(number="Q-ADM")
    response = post(as_admin, f"/quittances/{receipt.id}/reemettre", {"number": "Q-ADM-2"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Receipt, receipt.id).replaced_by.number == "Q-ADM-2"


def test_the_post_needs_the_csrf_token(csrf_app: Flask, as_gestionnaire) -> None:
    receipt = rejected_receipt()
    response = as_gestionnaire.post(f"/quittances/{receipt.id}/reemettre", data={"number": "Q-X"})
    assert response.status_code == 400


def test_an_unknown_document_is_a_404(as_gestionnaire) -> None:
    assert as_gestionnaire.get("/quittances/999999/reemettre").status_code == 404
    assert post(as_gestionnaire, "/factures/999999/reemettre", {"number": "X"}).status_code == 404
