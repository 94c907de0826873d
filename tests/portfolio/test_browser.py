"""Browser checks of the portfolio pages: the contract form's HTMX bank-account select and the
live client search. Screenshots go to ``TEST_ARTIFACTS`` (default ``test-artifacts``)."""

from __future__ import annotations

from portal.extensions import db
from tests import factories
from tests.browser.conftest import BROWSER_TESTS, log_in, screenshot, wait_until

pytestmark = BROWSER_TESTS


def test_choosing_a_company_offers_only_its_bank_accounts(page, gestionnaire) -> None:
    durand = factories.make_company(name="Cabinet Durand")
    factories.make_bank_account(durand, label="Compte Durand")
    martin = factories.make_company(name="Cabinet Martin")
    factories.make_bank_account(martin, label="Compte Martin")
    client = factories.make_client(name="Commune de Sceaux")
    db.session.commit()
    log_in(page, "gestionnaire")

    page.goto("/contrats/nouveau")
    page.get_by_label("N° de contrat").fill("CT-BROWSER-1")
    page.get_by_label("Client").select_option(str(client.id))
    page.get_by_label("Société").select_option(str(martin.id))
    accounts = page.locator("#bank-account-field select")
    wait_until(
        page, "document.querySelector('#bank-account-field select').textContent.includes('Martin')"
    )
    assert "Compte Durand" not in accounts.inner_text()
    accounts.select_option(label=accounts.locator("option", has_text="Compte Martin").inner_text())
    page.get_by_label("Produit").fill("Dommages aux biens")
    page.get_by_label("Assureur").fill("SMACL")
    page.get_by_label("Date de début").fill("2026-01-01")
    screenshot(page, "portfolio-contract-form")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/contrats/*")
    assert page.get_by_role("heading", name="Contrat CT-BROWSER-1").is_visible()
    assert "Compte Martin" in page.content()
    screenshot(page, "portfolio-contract-detail")


def test_the_client_picker_narrows_the_select_while_typing(page, gestionnaire) -> None:
    for number in range(60):
        factories.make_client(name=f"Commune {number:03d}", city="Lyon")
    zoo = factories.make_client(name="Zoo de Vincennes", city="Paris")
    db.session.commit()
    log_in(page, "gestionnaire")
    page.goto("/contrats/nouveau")
    select = page.get_by_label("Client", exact=True)
    assert select.locator("option", has_text="Zoo").count() == 0  # beyond the first 50

    search = page.get_by_label("Rechercher par nom, ville ou SIRET")
    search.press_sequentially("vincen", delay=30)
    wait_until(page, f"document.querySelector('#client_id').value === '{zoo.id}'")
    search.press("Enter")  # narrows, never submits the contract form
    assert page.url.endswith("/contrats/nouveau")
    options = select.locator("option").all_inner_texts()
    assert options == ["Un client trouvé :", "Zoo de Vincennes (Paris)"]
    screenshot(page, "portfolio-client-picker")


def test_the_client_search_updates_the_table_while_typing(page, gestionnaire) -> None:
    factories.make_client(name="Mairie de Lyon", city="Lyon")
    factories.make_client(name="Commune de Sceaux", city="Sceaux")
    db.session.commit()
    log_in(page, "gestionnaire")
    page.goto("/clients")
    screenshot(page, "portfolio-clients")
    page.get_by_label("Rechercher").fill("lyon")
    wait_until(page, "!document.querySelector('#clients-results').textContent.includes('Sceaux')")
    assert "Mairie de Lyon" in page.locator("#clients-results").inner_text()
    assert "q=lyon" in page.url


def test_company_and_client_pages_show_their_icons(page, gestionnaire, app) -> None:
    from portal.settings import chorus, store

    store.put_bool(chorus.CHORUS_ENABLED, True)
    contract = factories.make_contract(number="CT-ICONS")
    factories.make_bank_account(
        contract.company, label="Compte secondaire", iban="FR1420041010050500013M02606"
    )
    db.session.commit()
    log_in(page, "gestionnaire")
    page.goto(f"/societes/{contract.company_id}")
    wait_until(page, "document.fonts.check('1em bootstrap-icons')")
    screenshot(page, "portfolio-company-detail")
    page.goto(f"/clients/{contract.client_id}")
    page.locator("#document-upload-form input[type=file]").set_input_files(
        {
            "name": "Attestation d'assurance 2026.pdf",
            "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n%%EOF\n",
        }
    )
    page.get_by_role("button", name="Ajouter à la GED").click()
    page.wait_for_url("**/clients/*")
    assert "Attestation d'assurance 2026.pdf" in page.locator("#documents").inner_text()
    screenshot(page, "portfolio-client-detail")
