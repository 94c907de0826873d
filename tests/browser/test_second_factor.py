"""Issue 12 (4): a user turns the second factor on by scanning a QR code, then logs in with
the code of their application (the ``page`` fixture fails on any CSP violation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD


def test_a_manager_enrols_a_second_factor_then_logs_in_with_a_code(page, gestionnaire) -> None:
    log_in(page, "gestionnaire")
    page.locator("button.dropdown-toggle[title^='gestionnaire']").click()
    page.get_by_role("link", name="Mon compte").click()
    page.wait_for_url("**/mon-compte/")
    page.get_by_role("link", name="Activer la double authentification").click()
    page.wait_for_url("**/mon-compte/double-authentification")
    qr_code = page.get_by_test_id("qr-code")
    assert qr_code.evaluate("img => img.complete && img.naturalWidth > 100")
    screenshot(page, "second-factor-enrolment")
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    phone = pyotp.TOTP(secret)

    page.get_by_label("Code affiché par l'application").fill(phone.now())
    page.get_by_role("button", name="Activer").click()
    # Assertions that wait: the page answering the POST may not be there yet.
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="J'ai noté mes codes").click()
    expect(page.get_by_text("Codes de secours inutilisés : 10 sur 10.")).to_be_visible()
    screenshot(page, "my-account")

    page.locator("button.dropdown-toggle[title^='gestionnaire']").click()
    page.get_by_role("button", name="Déconnexion").click()
    page.wait_for_url("**/connexion")
    page.get_by_label("Identifiant").fill("gestionnaire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/connexion/code")
    screenshot(page, "second-factor-login")
    # The code of the next 30-second step: the one that confirmed the enrolment is used up.
    page.get_by_label("Code de vérification").fill(
        phone.at(datetime.now(UTC) + timedelta(seconds=30))
    )
    page.get_by_role("button", name="Valider").click()
    page.wait_for_url("**/")
    expect(page.get_by_role("heading", name="Bonjour gestionnaire")).to_be_visible()
