"""A manager re-issues a receipt rejected in Chorus Pro under a new number, from its page."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from portal.billing.models import Receipt
from portal.billing.services import store_generated_pdf
from portal.extensions import db
from tests import factories
from tests.browser.conftest import log_in, screenshot


def test_a_manager_reissues_a_rejected_receipt_under_a_new_number(page, gestionnaire) -> None:
    original = factories.make_receipt(
        number="Q2026-0777",
        chorus_state="sent",
        chorus_invoice_id=7000777,
        chorus_status="REJETEE",
    )
    store_generated_pdf(original)
    db.session.commit()

    log_in(page, "gestionnaire")
    page.goto(f"/quittances/{original.id}")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("link", name="Réémettre sous un nouveau numéro").click()
    page.wait_for_url(f"**/quittances/{original.id}/reemettre")
    number = page.get_by_label("Nouveau numéro")
    assert number.input_value() == "Q2026-0777-R1"  # proposed, editable
    number.fill("Q2026-0778")
    screenshot(page, "reissue-form")
    page.get_by_role("button", name="Réémettre sous ce numéro").click()

    page.wait_for_url("**/quittances/*")
    copy = db.session.scalar(select(Receipt).where(Receipt.number == "Q2026-0778"))
    assert copy is not None and page.url.endswith(f"/quittances/{copy.id}")
    assert page.get_by_role("heading", name="Quittance Q2026-0778").is_visible()
    assert page.get_by_test_id("replaces").inner_text().startswith("Remplace Q2026-0777")
    page.get_by_test_id("replaces").get_by_role("link", name="Q2026-0777").click()
    page.wait_for_url(f"**/quittances/{original.id}")
    assert "Remplacée par Q2026-0778" in page.get_by_test_id("replaced-by").inner_text()
    screenshot(page, "reissue-original")
    page.get_by_role("button", name="Actions").click()
    expect(page.get_by_role("link", name="Réémettre sous un nouveau numéro")).to_have_count(0)
