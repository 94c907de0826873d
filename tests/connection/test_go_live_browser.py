"""Browser check of « Mise en service »: an admin picks a client and a contract, runs it."""

from __future__ import annotations

from playwright.sync_api import expect

from portal.chorus.emulator import operations
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.browser.conftest import BROWSER_TESTS, log_in, screenshot
from tests.chorus.emulator_fixtures import BANK_DETAILS_ID, SIRET_PAID

pytestmark = BROWSER_TESTS


def test_an_admin_picks_a_client_and_its_contract_and_runs_the_checklist(
    page, admin, chorus
) -> None:
    store.put(keys.VAT_EXEMPTION_CODE, operations.VAT_EXEMPTION_REASONS[0][0])
    company = factories.make_company(name="Cabinet Dupont")
    account = factories.make_bank_account(company, chorus_bank_details_id=BANK_DETAILS_ID)
    client = factories.make_client(name="Commune de Saint-Aubin", siret=SIRET_PAID)
    factories.make_client(name="Lycée Jean-Moulin", siret="28093208819675")
    contract = factories.make_contract(
        client=client,
        company=company,
        bank_account=account,
        number="CT-AUBIN-1",
        chorus_service_code="FINANCES",
    )
    db.session.commit()
    log_in(page, "admin")
    page.goto("/administration/parametres/systeme")
    page.get_by_test_id("go-live-nav").click()
    page.wait_for_url("**/mise-en-service/")  # loaded: htmx listens before we type
    expect(page.get_by_role("heading", name="Mise en service de Chorus Pro")).to_be_visible()

    page.get_by_label("Rechercher un client par nom, ville ou SIRET").fill("aubin")
    select = page.get_by_test_id("go-live-client")
    expect(select.locator("option", has_text="Lycée")).to_have_count(0)
    select.select_option(str(client.id))
    contract_select = page.get_by_test_id("go-live-contract")
    expect(contract_select.locator("option", has_text="CT-AUBIN-1")).to_have_count(1)
    contract_select.select_option(str(contract.id))

    page.get_by_role("button", name="Lancer").click()
    summary = page.get_by_test_id("go-live-summary")
    expect(summary).to_contain_text("Toutes les étapes sont validées")
    steps = page.get_by_test_id("chorus-step")
    expect(steps).to_have_count(8)
    expect(page.locator('[data-testid="chorus-step"][data-status="ok"]')).to_have_count(8)
    expect(page.get_by_test_id("go-live-rules")).to_contain_text("Code service obligatoire")
    expect(page.get_by_test_id("go-live-client")).to_have_value(str(client.id))
    screenshot(page, "chorus-go-live")
