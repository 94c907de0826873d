"""Browser checks against the emulator: « Tester la connexion », picking the supplier id, and
filling a bank account's Chorus codes. Screenshots go to ``TEST_ARTIFACTS``."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.portfolio.models import BankAccount
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.browser.conftest import BROWSER_TESTS, log_in, screenshot

pytestmark = BROWSER_TESTS


def test_b5_tester_la_connexion_shows_each_step_and_refreshes_the_health_panel(
    page, admin, chorus
) -> None:
    log_in(page, "admin")
    page.goto("/administration/parametres/systeme")
    assert page.get_by_test_id("chorus-health").is_visible()
    assert "Aucun appel réussi enregistré." in page.get_by_test_id("chorus-health").inner_text()
    page.get_by_role("button", name="Tester la connexion").click()
    result = page.get_by_test_id("chorus-connection-result")
    result.wait_for()
    assert "Connexion à Chorus Pro réussie." in result.inner_text()
    assert page.get_by_test_id("chorus-step").count() == 4  # token, API, supplier, VAT code
    panel = page.get_by_test_id("chorus-health")
    assert "Expire le 30/06/2027" in panel.inner_text()
    assert "Aucun appel réussi enregistré." not in panel.inner_text()
    screenshot(page, "chorus-connection-test")


def test_b4_picking_the_supplier_structure_fills_the_field_and_stores_it(
    page, admin, chorus
) -> None:
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    log_in(page, "admin")
    page.goto("/administration/parametres/systeme")
    assert page.locator("#supplier_id").input_value() == ""
    page.get_by_role("button", name="Récupérer l'identifiant fournisseur").click()
    page.get_by_role(
        "button", name="Utiliser 25000001 — Cabinet Dupont & Associés Courtage"
    ).click()
    page.get_by_test_id("chorus-supplier-chosen").wait_for()
    # The input is filled by script once the answer is swapped in: wait for it.
    expect(page.locator("#supplier_id")).to_have_value("25000001")
    db.session.expire_all()
    assert store.get(keys.SUPPLIER_ID) == "25000001"
    screenshot(page, "chorus-supplier-lookup")


def test_a_vat_exemption_code_of_chorus_is_chosen_without_typing_and_saved(page, admin, chorus):
    store.put(keys.VAT_EXEMPTION_CODE, None)
    db.session.commit()
    log_in(page, "admin")
    page.goto("/administration/parametres/systeme")
    assert page.get_by_test_id("vat-exemption-problem").is_visible()
    page.get_by_role("button", name="Choisir parmi les motifs de Chorus Pro").click()
    page.get_by_test_id("chorus-vat-reason-choices").wait_for()
    code = "FRANCHISE_293B"
    page.locator("#vat_exemption_code").select_option(code)
    screenshot(page, "chorus-vat-reason-lookup")
    page.locator("button[type=submit]", has_text="Enregistrer").click()
    expect(page.locator(".alert-success").first).to_be_visible()
    expect(page.locator("#vat_exemption_code")).to_have_value(code)
    db.session.expire_all()
    assert store.get(keys.VAT_EXEMPTION_CODE) == code
    assert store.get(keys.VAT_EXEMPTION_LABEL) == "TVA non applicable, article 293 B du CGI"


def test_b4_choosing_chorus_codes_fills_the_bank_account_form(page, gestionnaire, chorus) -> None:
    company = factories.make_company(name="Cabinet Dupont")
    db.session.commit()
    log_in(page, "gestionnaire")
    page.goto(f"/societes/{company.id}/comptes/nouveau")
    page.get_by_label("Libellé").fill("Compte honoraires")
    page.get_by_label("IBAN").fill("FR60 3000 3035 4000 0500 0012 345")
    page.get_by_label("BIC").fill("SOGEFRPP")
    page.get_by_role("button", name="Récupérer depuis Chorus Pro").click()
    bank = page.get_by_test_id("chorus-bank-choices")
    bank.wait_for()
    # Chorus gives names only; the one containing the typed IBAN gets a hint, nothing more.
    expect(bank.get_by_test_id("chorus-bank-iban-hint")).to_have_text(
        "le nom contient l'IBAN …2345 du compte"
    )
    bank.locator("[data-fill-value='45000002']").click()
    page.get_by_test_id("chorus-service-choices").locator("[data-fill-value='35000001']").click()
    expect(page.locator("#chorus_bank_details_id")).to_have_value("45000002")
    expect(page.locator("#chorus_supplier_service_id")).to_have_value("35000001")
    screenshot(page, "chorus-bank-lookup")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"**/societes/{company.id}*")
    db.session.expire_all()
    [account] = db.session.scalars(select(BankAccount).where(BankAccount.company_id == company.id))
    assert account.chorus_bank_details_id == 45000002
    assert account.chorus_supplier_service_id == 35000001
