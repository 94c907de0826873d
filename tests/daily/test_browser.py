"""Browser checks of the daily-run screens: the live S3 example, the preview and history
pagination over HTMX. Screenshots go to ``TEST_ARTIFACTS`` (default ``test-artifacts``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.clock import today
from portal.daily import rules as daily_rules
from portal.extensions import db
from portal.jobs.models import ExecutionState, TaskExecution
from portal.settings import chorus as keys
from portal.settings import store
from tests.browser.conftest import BROWSER_TESTS, log_in, screenshot, wait_until
from tests.daily.conftest import at
from tests.sending.conftest import configure_chorus, sendable_contract, sendable_receipt

pytestmark = BROWSER_TESTS


@pytest.fixture
def configured(app) -> None:
    configure_chorus("http://127.0.0.1:9", cutoff=date(2021, 1, 1))
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    db.session.commit()


def test_s3_the_worked_example_follows_the_delays_while_typing(page, admin, configured) -> None:
    log_in(page, "admin")
    page.goto("/administration/parametres/systeme")
    example = page.locator("#delay-example")
    assert "délai de 0 jour, une quittance" in example.inner_text()

    page.locator("#delay_receipts").fill("30")
    wait_until(
        page, "document.querySelector('#delay-example').textContent.includes('délai de 30 jours')"
    )
    next_year = today().year + 1
    assert f"01/01/{next_year} sera envoyée dès le 02/12/{next_year - 1}" in example.inner_text()

    page.locator("#delay_receipts").fill("-1")
    wait_until(
        page, "document.querySelector('#delay-example').textContent.includes('positif ou nul')"
    )
    assert "quittance à échoir" not in example.inner_text()
    screenshot(page, "daily-delay-example")


def test_b6_the_preview_paginates_one_type_in_place(page, gestionnaire, configured) -> None:
    contract = sendable_contract()
    for offset in range(55):
        sendable_receipt(
            contract,
            entered_on=date(2025, 1, 1),
            period_start_on=date(2025, 1, 1) + timedelta(days=offset),
        )
    log_in(page, "gestionnaire")
    page.goto("/taches/")
    page.get_by_role("link", name="Prochain envoi automatique").click()
    page.wait_for_url("**/envoi-automatique/apercu")
    section = page.locator("#preview-quittances")
    assert section.locator("tr[data-document]").count() == 50
    section.get_by_role("link", name="Suivante ›").click()
    wait_until(
        page, "document.querySelectorAll('#preview-quittances tr[data-document]').length === 5"
    )
    assert "type=quittances&page=2" in page.url
    assert page.locator("#preview-factures").count() == 1
    screenshot(page, "daily-preview")


def test_s14_the_execution_history_paginates_in_place(page, admin, configured) -> None:
    for offset in range(12):
        db.session.add(
            TaskExecution(
                task=daily_rules.DAILY_TASK,
                run_on=date(2026, 3, 1) - timedelta(days=offset),
                trigger=daily_rules.SCHEDULED,
                state=ExecutionState.FAILED,
                started_at=at(date(2026, 3, 1) - timedelta(days=offset), 19),
                message=f"Échec n° {offset}",
            )
        )
    db.session.commit()
    log_in(page, "admin")
    page.goto("/administration/destinataires")
    panel = page.locator("#task-triggers")
    assert "Actif" in panel.inner_text()
    panel.get_by_role("link", name="Plus anciennes ›").click()
    wait_until(page, "document.querySelector('#task-triggers').textContent.includes('Échec n° 11')")
    assert panel.locator("tr[data-execution]").count() == 2
    screenshot(page, "daily-triggers")
