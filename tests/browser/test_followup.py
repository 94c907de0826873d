"""Browser: a payment entered by its N° Chorus settles the receipt; the lists filter by
N° Chorus and by Chorus status (S16, S17, B1)."""

from __future__ import annotations

from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.browser.conftest import log_in, screenshot, wait_until


def _chorus_receipts():
    store.put_bool(keys.CHORUS_ENABLED, True)
    contract = factories.make_contract()
    paid = factories.make_receipt(
        number="Q-CHORUS-1",
        contract=contract,
        chorus_state="sent",
        chorus_invoice_id=4242,
        chorus_status="MISE_EN_PAIEMENT",
    )
    other = factories.make_receipt(
        number="Q-CHORUS-2",
        contract=contract,
        chorus_state="sent",
        chorus_invoice_id=5353,
        chorus_status="SUSPENDUE",
    )
    factories.make_receipt(number="Q-PAPIER", contract=contract)
    db.session.commit()
    return paid, other


def test_a_payment_entered_by_its_chorus_number_settles_the_receipt(page, gestionnaire) -> None:
    paid, _other = _chorus_receipts()
    log_in(page, "gestionnaire")

    page.goto("/encaissements/saisie")
    page.get_by_label("N° de quittance ou de facture").fill("4242")
    page.get_by_label("Il s'agit d'un n° interne CHORUS Pro").check()
    page.get_by_role("button", name="Rechercher").click()
    found = page.get_by_test_id("found-document")
    found.wait_for()
    assert "Q-CHORUS-1" in found.inner_text()
    assert "4242" in page.url and "chorus=1" in page.url
    assert page.get_by_label("Montant à affecter").input_value() == "1090,00"
    page.get_by_label("Référence").fill("VIR TRESOR PUBLIC")
    screenshot(page, "followup-payment-entry")
    page.get_by_role("button", name="Enregistrer l'encaissement").click()
    page.wait_for_url("**/encaissements/*")
    assert "Encaissement enregistré et affecté à Q-CHORUS-1." in page.content()

    page.goto(f"/quittances/{paid.id}")
    assert page.get_by_test_id("settled").is_visible()
    assert page.get_by_test_id("remaining").inner_text().startswith("0,00")
    screenshot(page, "followup-receipt-settled")


def test_the_receipts_list_filters_by_chorus_number_and_status(page, gestionnaire) -> None:
    _chorus_receipts()
    log_in(page, "gestionnaire")
    page.goto("/quittances")
    rows = page.locator("#receipts-table tbody tr")
    assert rows.count() == 3

    page.get_by_label("N° Chorus Pro").fill("5353")
    page.wait_for_url("**chorus=5353**")
    wait_until(page, "document.querySelectorAll('#receipts-table tbody tr').length === 1")
    assert "Q-CHORUS-2" in rows.first.inner_text()
    screenshot(page, "followup-filter-chorus-number")

    page.get_by_label("N° Chorus Pro").fill("")
    page.get_by_label("Statut Chorus").select_option("MISE_EN_PAIEMENT")
    page.wait_for_url("**statut_chorus=MISE_EN_PAIEMENT**")
    wait_until(
        page,
        "document.querySelector('#receipts-table tbody').textContent.includes('Q-CHORUS-1')"
        " && document.querySelectorAll('#receipts-table tbody tr').length === 1",
    )
    page.reload()  # the URL alone restores the filter
    assert page.get_by_label("Statut Chorus").input_value() == "MISE_EN_PAIEMENT"
    assert rows.count() == 1
