"""A user finds a receipt by its client in the Quittances list and downloads its due notice."""

from __future__ import annotations

import re
from pathlib import Path

from portal.billing.services import store_generated_pdf
from portal.extensions import db
from tests import factories
from tests.browser.conftest import log_in, wait_until


def test_a_manager_filters_receipts_by_client_and_downloads_the_due_notice(
    page, gestionnaire, tmp_path: Path
) -> None:
    wanted = factories.make_contract(client=factories.make_client(name="Commune de Villebrune"))
    other = factories.make_contract(client=factories.make_client(name="Syndicat des eaux"))
    receipt = factories.make_receipt(contract=wanted)
    store_generated_pdf(receipt)
    for _ in range(3):
        factories.make_receipt(contract=other)
    db.session.commit()

    log_in(page, "gestionnaire")
    page.get_by_role("link", name="Quittances", exact=True).click()
    page.wait_for_url("**/quittances")
    assert page.locator("tbody tr").count() == 4

    page.get_by_label("Client").fill("Villebrune")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"client=Villebrune"))
    rows = page.locator("tbody tr")
    rows.first.wait_for()
    wait_until(page, "document.querySelectorAll('tbody tr').length === 1")
    assert "Commune de Villebrune" in rows.first.inner_text()

    page.get_by_role("link", name=receipt.number).click()
    page.wait_for_url(f"**/quittances/{receipt.id}")
    assert page.get_by_role("heading", name=f"Quittance {receipt.number}").is_visible()
    page.get_by_role("button", name="Actions").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger l'avis d'échéance").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.suffix == ".pdf"
    content = saved.read_bytes()
    assert content.startswith(b"%PDF")
    assert receipt.number.encode() in content
