"""A gestionnaire sends one receipt with two GED attachments, loading Chorus's attachment types
and choosing one, then mass-sends a filtered list (S9-S11, S13, issue 10 § 2) in the browser,
against the Chorus Pro emulator."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from portal.extensions import db
from portal.models_base import ChorusState
from portal.settings import reference_lists, store
from portal.settings.models import RecipientListMember
from tests import factories
from tests.browser.conftest import log_in, screenshot
from tests.sending.conftest import (  # noqa: F401  (fixtures used by name)
    SIRET_PAID,
    chorus,
    chorus_admin,
    chorus_emulator,
    chorus_emulator_server,
    sendable_contract,
    sendable_receipt,
)
from tests.sending.view_helpers import ged_file, wait_all

LONG = 60_000  # ms: a background job against the emulator


def test_a_gestionnaire_sends_one_receipt_then_mass_sends_a_filtered_list(
    app,
    page,
    gestionnaire,
    chorus,  # noqa: F811  (the fixture imported above, used by name)
    chorus_admin,  # noqa: F811  (the fixture imported above, used by name)
) -> None:
    db.session.add(RecipientListMember(list_key="chorus_admins", user_id=gestionnaire.id))
    contract = sendable_contract()
    receipt = sendable_receipt(contract)
    others = [sendable_receipt(contract) for _ in range(3)]
    stranger = sendable_receipt(
        sendable_contract(client=factories.make_client(name="Syndicat des eaux", siret=SIRET_PAID))
    )
    ged_file(contract.client, "Attestation d'assurance 2026.pdf")
    ged_file(contract.client, "Bon de commande.pdf")
    ged_file(contract.client, "macro.exe")
    # Chorus's list of attachment types was never read for this environment.
    store.put("chorus.list." + reference_lists.ATTACHMENT_TYPES, None)
    db.session.commit()
    # The answer to the submission takes a second: the progress is seen while it runs.
    chorus.state.faults.update(
        {"script": [{"kind": "late", "operation": "factures/soumettre", "seconds": 1}]}
    )

    log_in(page, "gestionnaire")
    page.goto(f"/quittances/{receipt.id}")
    assert page.get_by_test_id("chorus-panel").get_by_text("Dématérialisable").is_visible()
    page.get_by_test_id("receipt-actions").get_by_role("button", name="Actions").click()
    page.get_by_test_id("chorus-send-action").click()

    page.wait_for_url(re.compile(r"/dematerialisation/quittances/\d+/envoyer$"))
    assert (
        f"Avis_echeance_{receipt.number}.pdf" in page.get_by_test_id("main-attachment").inner_text()
    )
    assert page.locator("input[name=pieces]:disabled").count() == 1  # macro.exe
    # No type can be chosen before the list is read: load it from the send screen.
    page.get_by_test_id("load-attachment-types").click()
    page.get_by_text("type(s) de pièces jointes chargé(s) depuis Chorus Pro").wait_for()
    order_type = page.get_by_label("Type Chorus Pro de Bon de commande.pdf")
    assert order_type.input_value() == "AUT"  # the administrator's default, preselected
    assert page.get_by_label("Type Chorus Pro de Attestation d'assurance 2026.pdf").is_visible()
    budget = page.get_by_test_id("budget-count")
    assert "1 fichier" in budget.inner_text()
    page.get_by_label("Attestation d'assurance 2026.pdf", exact=True).check()
    page.get_by_test_id("budget-count").filter(has_text="2 fichiers").wait_for()
    page.get_by_label("Bon de commande.pdf", exact=True).check()
    page.get_by_test_id("budget-count").filter(has_text="3 fichiers").wait_for()
    order_type.select_option(label="BDC — Bon de commande")
    assert (
        "sera renommé en « Attestation_d_assurance_2026.pdf »"
        in page.get_by_test_id("send-budget").inner_text()
    )
    screenshot(page, "dematerialization-send-screen")
    page.get_by_test_id("confirm-send").click()

    page.wait_for_url(re.compile(r"/dematerialisation/envois/\d+$"))
    progress = page.get_by_test_id("send-progress")
    progress.get_by_text("Terminée", exact=True).wait_for(timeout=LONG)
    outcome = page.get_by_test_id("send-outcome")
    outcome.get_by_text("déposée dans Chorus Pro").wait_for(timeout=LONG)
    db.session.expire_all()
    db.session.refresh(receipt)
    assert receipt.chorus_state == ChorusState.SENT
    assert str(receipt.chorus_invoice_id) in outcome.inner_text()
    sent = chorus.state.invoices[receipt.chorus_invoice_id].body["pieceJointeComplementaire"]
    assert {
        p["pieceJointeComplementaireDesignation"]: p["pieceJointeComplementaireType"] for p in sent
    } == {"Attestation d'assurance 2026.pdf": "AUT", "Bon de commande.pdf": "BDC"}
    # The bell was refreshed when the job ended.
    page.get_by_test_id("unread-count").wait_for(timeout=LONG)
    page.get_by_role("button", name=re.compile("^Notifications")).click()
    expect(page.get_by_text(f"Quittance {receipt.number} envoyée à Chorus Pro")).to_be_visible()
    screenshot(page, "dematerialization-send-done")

    page.get_by_role("link", name="Voir la quittance").click()
    panel = page.get_by_test_id("chorus-panel")
    assert str(receipt.chorus_invoice_id) in panel.inner_text()
    panel.get_by_text("Échanges avec Chorus Pro").click()
    assert "Soumission de la facture" in panel.inner_text()  # B9
    screenshot(page, "dematerialization-receipt-sent")
    page.go_back()
    page.get_by_role("link", name="Détail de la tâche").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le rapport CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    assert receipt.number in Path(download.path()).read_text(encoding="utf-8-sig")

    # -- mass send of the client's receipts -----------------------------------------------------
    page.goto("/quittances")
    page.get_by_label("Client").fill("Saint-Aubin")
    page.get_by_text("Tous les 4 résultats").wait_for()
    sent_badge = page.locator(f"#chorus-badge-receipt-{receipt.id}")
    sent_badge.get_by_text("Dématérialisée").wait_for()
    page.locator(f"#chorus-badge-receipt-{others[0].id}").get_by_text("Dématérialisable").wait_for()
    screenshot(page, "dematerialization-list-badges")
    page.locator("input[data-select-all]").check()
    assert page.locator("input[name=ids]:checked").count() == 4
    page.get_by_label("Tous les 4 résultats").check()
    page.get_by_role("button", name="Actions sur la sélection").click()
    page.get_by_role("button", name="Dématérialisation Chorus Pro").click()

    page.wait_for_url("**/dematerialisation/quittances/masse")
    assert page.get_by_test_id("mass-to-send").inner_text() == "3"
    assert page.get_by_test_id("mass-already-sent").inner_text() == "1"
    screenshot(page, "dematerialization-mass-confirm")
    page.get_by_test_id("mass-confirm").click()

    page.wait_for_url(re.compile(r"/taches/\d+$"))
    page.locator("[id^=job-progress-]").get_by_text("Terminée", exact=True).wait_for(timeout=LONG)
    wait_all(app)
    for other in others:
        db.session.refresh(other)
        assert other.chorus_state == ChorusState.SENT
    db.session.refresh(stranger)
    assert stranger.chorus_state == ChorusState.NOT_SENT
    screenshot(page, "dematerialization-mass-done")
