"""Issue 12 (6): the main pages work under the Content-Security-Policy without a violation.

The ``page`` fixture already fails on any violation; these tests walk the main pages and their
htmx behaviour on purpose, and prove the watch does see a violation.
"""

from __future__ import annotations

from playwright.sync_api import expect

from portal.billing.models import Payment
from portal.billing.services import store_generated_pdf
from portal.extensions import db
from portal.jobs.models import Job, JobKind
from portal.notifications import services as notifications
from portal.security_headers import CONTENT_SECURITY_POLICY
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.browser.conftest import log_in, wait_until, watch_csp

MAIN_PAGES = (
    "/",
    "/societes",
    "/clients",
    "/contrats",
    "/quittances",
    "/factures",
    "/encaissements",
    "/encaissements/saisie",
    "/taches/",
    "/suivi-chorus/a-solder",
    "/notifications/",
    "/administration/",
    "/administration/parametres",
    "/administration/parametres/systeme",
    "/administration/utilisateurs",
    "/administration/destinataires",
    "/administration/mise-en-service/",
)


def _data(admin) -> tuple[object, Job]:
    store.put_bool(keys.CHORUS_ENABLED, True)
    contract = factories.make_contract(client=factories.make_client(name="Commune de Villebrune"))
    receipt = factories.make_receipt(contract=contract)
    store_generated_pdf(receipt)
    report = notifications.store_report("rapport.csv", b"Numero;Resultat\n")
    job = Job(kind=JobKind.MASS_SEND, total=4, succeeded=2, failed=1, skipped=1, report=report)
    db.session.add(job)
    notifications.notify([admin], "Dématérialisation terminée", "2 envoyées\n1 refusée")
    db.session.commit()
    return receipt, job


def test_the_main_pages_load_without_a_csp_violation(page, admin) -> None:
    receipt, job = _data(admin)
    log_in(page, "admin")
    for url in (*MAIN_PAGES, f"/quittances/{receipt.id}", f"/taches/{job.id}"):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        page.wait_for_load_state("networkidle")


def test_htmx_behaviour_still_works_under_the_csp(page, admin) -> None:
    _receipt, job = _data(admin)
    factories.make_receipt(contract=factories.make_contract())
    db.session.commit()
    log_in(page, "admin")

    # Filters typed in a search box (htmx, no eval'd trigger filter).
    page.goto("/quittances")
    page.get_by_label("Client").fill("Villebrune")
    page.wait_for_url("**client=Villebrune**")
    page.locator("tbody tr").first.wait_for()
    assert page.locator("tbody tr").count() == 1

    # The bell loaded by htmx, then opened; widths set from data-width, not style attributes.
    page.get_by_role("button", name="Notifications (1 non lue)").click()
    expect(page.get_by_text("Dématérialisation terminée").first).to_be_visible()
    page.goto(f"/taches/{job.id}")
    bar = page.locator(f"#job-progress-{job.id} .progress-bar.bg-success")
    assert bar.evaluate("element => element.style.width") == "50%"

    # A data-confirm question (no inline onsubmit): refused, nothing is sent; accepted, sent.
    payment_id = factories.make_payment().id
    db.session.commit()
    page.goto(f"/encaissements/{payment_id}")
    questions: list[str] = []

    def answer(accept: bool):
        def handle(dialog) -> None:
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    refuse = answer(False)
    page.once("dialog", refuse)
    page.get_by_role("button", name="Supprimer l'encaissement").click()
    page.wait_for_timeout(300)
    assert page.url.endswith(f"/encaissements/{payment_id}")
    page.once("dialog", answer(True))
    page.get_by_role("button", name="Supprimer l'encaissement").click()
    page.wait_for_url("**/encaissements")
    assert questions == ["Supprimer cet encaissement et ses affectations ?"] * 2
    db.session.expire_all()
    assert db.session.get(Payment, payment_id) is None


def test_the_watch_reports_an_inline_script_or_style(browser, live_server: str, admin) -> None:
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    tab = context.new_page()
    violations = watch_csp(tab)
    log_in(tab, "admin")
    tab.evaluate(
        """() => document.body.insertAdjacentHTML('beforeend',
             '<img src="data:," onload="window.pwned = 1"><b style="color: red">x</b>')"""
    )
    wait_until(tab, "document.querySelectorAll('b').length > 0")
    tab.wait_for_timeout(200)
    assert tab.evaluate("() => window.pwned") is None
    context.close()
    assert any("script-src" in text for text in violations), violations
    assert any("style-src" in text for text in violations), violations
