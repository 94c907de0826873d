"""Screens of the daily run: preview (B6), trigger panel and history (S5, S14), S3 example."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from html import unescape

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from portal.daily import rules as daily_rules
from portal.extensions import db
from portal.jobs.models import ExecutionState, Job, JobKind, TaskExecution
from portal.jobs.scheduler import PortalScheduler
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.conftest import login
from tests.daily.conftest import at, sendable_fee_invoice, set_cutoff, travel, wait_for
from tests.factories import csrf_token_from
from tests.sending.conftest import configure_chorus, sendable_contract, sendable_receipt

PREVIEW = "/envoi-automatique/apercu"
RECIPIENTS = "/administration/destinataires"
SYSTEM = "/administration/parametres/systeme"
DAY = date(2026, 3, 10)
HX = {"HX-Request": "true"}


@pytest.fixture
def configured(app: Flask) -> None:
    """S1 on, automatic sending on, settings complete, cut-off 01/01/2021 (no emulator)."""
    configure_chorus("http://127.0.0.1:9", cutoff=date(2021, 1, 1))
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    db.session.commit()


@pytest.fixture
def morning() -> Iterator[None]:
    with travel(at(DAY, 10)):
        yield


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def logged_in(app: Flask, user) -> FlaskClient:
    """A fresh browser logged in as ``user``.

    Test requests share the test's app context, hence ``g``: forget the user (Flask-Login)
    and CSRF token (Flask-WTF) cached there, or the next browser would pass for the previous.
    """
    for cached in ("_login_user", "csrf_token"):
        g.pop(cached, None)
    client = login(app.test_client(), user)
    for cached in ("_login_user", "csrf_token"):
        g.pop(cached, None)
    return client


# -- Prochain envoi automatique ------------------------------------------------------------------


def test_b6_every_role_sees_the_preview_and_it_is_hidden_while_s1_is_off(
    app: Flask, admin, gestionnaire, lecteur
) -> None:
    users = (admin, gestionnaire, lecteur)
    for user in users:
        client = logged_in(app, user)
        assert client.get(PREVIEW).status_code == 404
        assert "Prochain envoi automatique" not in html_of(client.get("/taches/"))
    configure_chorus("http://127.0.0.1:9")
    for user in users:
        client = logged_in(app, user)
        assert "Prochain envoi automatique" in html_of(client.get(PREVIEW))
        tasks = html_of(client.get("/taches/"))
        assert f'href="{PREVIEW}"' in tasks


def test_b6_the_preview_groups_by_type_with_links_clients_dates_and_reasons(
    as_lecteur: FlaskClient, configured, morning
) -> None:
    contract = sendable_contract()
    receipt = sendable_receipt(
        contract, entered_on=date(2026, 2, 1), period_start_on=date(2026, 3, 1)
    )
    blocked = factories.make_receipt(
        contract=contract, entered_on=date(2026, 2, 2), period_start_on=date(2026, 2, 1)
    )
    invoice = sendable_fee_invoice(contract, entered_on=date(2026, 3, 9))
    later = sendable_receipt(
        contract, entered_on=date(2026, 2, 3), period_start_on=date(2026, 4, 1)
    )
    db.session.commit()

    html = html_of(as_lecteur.get(PREVIEW))
    text = text_of(html)

    assert "Envoi du 10/03/2026 à 19 h" in text
    assert "2 à envoyer" in text and "1 ignoré" in text
    receipts = html[html.index('id="preview-quittances"') : html.index('id="preview-factures"')]
    invoices = html[html.index('id="preview-factures"') :]
    assert f'href="/quittances/{receipt.id}"' in receipts
    assert f'href="/quittances/{blocked.id}"' in receipts
    assert later.number not in html
    assert f'href="/factures/{invoice.id}"' in invoices
    assert contract.client.name in receipts
    assert "01/03/2026" in text_of(receipts)  # effective date
    assert "L'avis d'échéance (PDF) de la quittance n'existe pas." in text_of(receipts)
    # To send first, then skipped.
    assert receipts.index(receipt.number) < receipts.index(blocked.number)
    assert 'data-eligible="non"' in receipts and 'data-eligible="oui"' in invoices


def test_b6_the_preview_says_the_run_would_fail_without_a_cut_off(
    as_gestionnaire: FlaskClient, configured, morning
) -> None:
    set_cutoff(None)
    sendable_receipt(entered_on=date(2026, 2, 1))
    html = html_of(as_gestionnaire.get(PREVIEW))
    assert "date de coupure non renseignée" in html
    assert 'data-testid="preview-no-cutoff"' in html
    assert 'id="preview-quittances"' not in html


def test_b6_the_preview_shows_why_the_trigger_is_inactive(
    as_admin: FlaskClient, configured, morning
) -> None:
    store.put_bool(keys.AUTO_SEND_ENABLED, False)
    db.session.commit()
    html = html_of(as_admin.get(PREVIEW))
    assert "l'envoi automatique est désactivé" in text_of(html)


def test_b6_each_type_paginates_on_its_own_with_htmx(
    as_gestionnaire: FlaskClient, configured, morning
) -> None:
    contract = sendable_contract()
    for day in range(55):
        sendable_receipt(
            contract,
            entered_on=date(2025, 1, 1),
            period_start_on=date(2025, 6, 1) + timedelta(days=day),
        )
    sendable_fee_invoice(contract, entered_on=date(2026, 3, 1))

    page = html_of(as_gestionnaire.get(PREVIEW))
    assert page.count("data-document=") == 51
    assert "Page 1 / 2" in page

    response = as_gestionnaire.get(f"{PREVIEW}?type=quittances&page=2", headers=HX)
    fragment = html_of(response)
    assert "HX-Request" in response.headers["Vary"]
    assert fragment.lstrip().startswith("{#") is False
    assert "<html" not in fragment and 'id="preview-quittances"' in fragment
    assert 'id="preview-factures"' not in fragment
    assert fragment.count("data-document=") == 5
    assert "Page 2 / 2" in fragment

    # Without HTMX the same URL is the whole page, that type at page 2, the other at page 1.
    full = html_of(as_gestionnaire.get(f"{PREVIEW}?type=quittances&page=2"))
    assert full.count("data-document=") == 6


# -- Destinataires et déclencheurs des tâches ----------------------------------------------------


def test_s14_the_trigger_panel_when_dematerialization_is_off(as_admin: FlaskClient) -> None:
    html = html_of(as_admin.get(RECIPIENTS))
    assert 'data-testid="no-trigger"' in html
    assert "Lancer maintenant" not in html


def test_s14_an_active_trigger_shows_its_next_run_and_where_the_scheduler_runs(
    as_admin: FlaskClient, configured, morning
) -> None:
    text = text_of(html_of(as_admin.get(RECIPIENTS)))
    assert "Actif" in text and "Inactif" not in text
    assert "Prochaine exécution 10/03/2026 19:00" in text
    assert "non démarré dans ce processus" in text
    assert "Aucune exécution pour le moment." in text
    assert "La tâche de 19 h échouera" not in text


def test_s14_the_panel_reads_the_next_run_from_the_scheduler_of_this_process(
    app: Flask, as_admin: FlaskClient, configured, monkeypatch
) -> None:
    portal_scheduler = PortalScheduler(app)
    monkeypatch.setitem(app.extensions, "portal.scheduler", portal_scheduler)
    monkeypatch.setattr(PortalScheduler, "next_run", lambda self, job_id: at(DAY, 19))
    text = text_of(html_of(as_admin.get(RECIPIENTS)))
    assert "actif dans ce processus" in text
    assert "Prochaine exécution 10/03/2026 19:00" in text


def test_s14_an_inactive_trigger_says_why_and_an_empty_cut_off_is_announced(
    as_admin: FlaskClient, configured, morning
) -> None:
    store.put_bool(keys.AUTO_SEND_ENABLED, False)
    store.put(keys.CLIENT_ID, None)
    db.session.commit()
    set_cutoff(None)
    text = text_of(html_of(as_admin.get(RECIPIENTS)))
    assert "Inactif : l'envoi automatique est désactivé (onglet Système) ;" in text
    assert "paramètres de connexion incomplets : Client ID PISTE" in text
    assert "La tâche de 19 h échouera : date de coupure non renseignée" in text
    assert "Prochaine exécution —" in text


def _execution(day: date, state: ExecutionState, **kw) -> TaskExecution:
    execution = TaskExecution(
        task=daily_rules.DAILY_TASK,
        run_on=day,
        trigger=kw.pop("trigger", daily_rules.SCHEDULED),
        state=state,
        started_at=at(day, 19),
        **kw,
    )
    db.session.add(execution)
    db.session.commit()
    return execution


def test_s14_the_history_lists_every_execution_newest_first_with_its_job(
    as_admin: FlaskClient, configured
) -> None:
    job = Job(kind=JobKind.DAILY_SEND, state="done", total=5, succeeded=3, skipped=1, failed=1)
    db.session.add(job)
    db.session.commit()
    _execution(DAY - timedelta(days=2), ExecutionState.STARTED, job_id=job.id)
    _execution(
        DAY - timedelta(days=1), ExecutionState.FAILED, message="Date de coupure non renseignée."
    )
    _execution(
        DAY - timedelta(days=1),
        ExecutionState.SKIPPED,
        trigger=daily_rules.CATCH_UP,
        message="Déjà exécutée le 08/03/2026 à 19:00 par l'automate (tâche n° 1).",
    )

    html = html_of(as_admin.get(RECIPIENTS))
    rows = html[html.index('data-testid="executions"') :]
    text = text_of(rows)
    assert text.index("En échec") < text.index("Terminée")
    assert "Date de coupure non renseignée." in text
    assert "Ignorée Déjà exécutée le 08/03/2026 à 19:00 par l'automate (tâche n° 1)." in text
    assert "ailleurs" not in text and "autre processus" not in text
    assert "Rattrapage" in text and "Planifiée (19 h)" in text
    assert "3 envoyés, 1 ignoré, 1 en échec / 5" in text
    assert f'href="/taches/{job.id}"' in rows


def test_s14_the_history_paginates_with_htmx_for_admins_only(
    app: Flask, admin, gestionnaire, configured
) -> None:
    for offset in range(12):
        _execution(DAY - timedelta(days=offset), ExecutionState.FAILED, message=f"Échec {offset}")
    client = logged_in(app, admin)
    page = html_of(client.get(RECIPIENTS))
    assert page.count("data-execution=") == 10
    assert "Échec 0" in page and "Échec 11" not in page

    fragment = html_of(client.get("/envoi-automatique/declencheurs?page=2", headers=HX))
    assert fragment.count("data-execution=") == 2
    assert "Échec 11" in fragment and "<html" not in fragment
    assert 'id="task-triggers-panel"' in fragment
    plain = client.get("/envoi-automatique/declencheurs?page=2")
    assert plain.status_code == 303 and plain.headers["Location"].endswith(RECIPIENTS)

    other = logged_in(app, gestionnaire)
    assert other.get("/envoi-automatique/declencheurs", headers=HX).status_code == 403


def test_run_now_starts_today_s_run_once_for_admins_only(
    app: Flask, admin, gestionnaire, lecteur, chorus, chorus_admin
) -> None:
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    db.session.commit()
    receipt = sendable_receipt(entered_on=date(2021, 6, 1))
    for user in (gestionnaire, lecteur):
        client = logged_in(app, user)
        token = csrf_token_from(html_of(client.get("/")))
        assert (
            client.post("/envoi-automatique/lancer", data={"csrf_token": token}).status_code == 403
        )

    client = logged_in(app, admin)
    token = csrf_token_from(html_of(client.get(RECIPIENTS)))
    response = client.post("/envoi-automatique/lancer", data={"csrf_token": token})
    assert response.status_code == 303
    execution = db.session.query(TaskExecution).one()
    assert (execution.trigger, execution.state) == (daily_rules.MANUAL, "started")
    assert response.headers["Location"].endswith(f"/taches/{execution.job_id}")
    job = wait_for(app, execution.job_id)
    assert job.succeeded == 1 and job.items[0].document_number == receipt.number

    again = client.post(
        "/envoi-automatique/lancer", data={"csrf_token": token}, follow_redirects=True
    )
    flashed = text_of(again.get_data(as_text=True))
    assert (
        "L'envoi automatique du jour n'a pas été relancé. Déjà exécutée aujourd'hui à " in flashed
    )
    assert f"par admin (tâche n° {job.id})." in flashed
    assert "autre processus" not in flashed


def test_run_now_reports_an_empty_cut_off(as_admin: FlaskClient, configured) -> None:
    set_cutoff(None)
    token = csrf_token_from(html_of(as_admin.get(RECIPIENTS)))
    response = as_admin.post(
        "/envoi-automatique/lancer", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Échec de l'envoi automatique : Date de coupure non renseignée." in text_of(
        html_of(response)
    )


# -- Système tab: the worked example (S3) --------------------------------------------------------


def test_s3_the_example_is_the_spec_s_when_computed_in_2021() -> None:
    sentences = daily_rules.delay_examples(
        receipts_days=30, fee_invoices_days=0, cutoff=date(2021, 10, 31), today=date(2021, 6, 1)
    )
    assert sentences[0].startswith(
        "Avec un délai de 30 jours, une quittance à échoir dont la période commence le "
        "01/01/2022 sera envoyée dès le 02/12/2021"
    )
    assert sentences[1] == (
        "Avec un délai de 0 jour, une facture d'honoraires dont la date de saisie est le "
        "15/01/2022 sera envoyée dès le 15/01/2022."
    )
    assert "saisis après le 31/10/2021" in sentences[2]
    assert (
        daily_rules.delay_examples(
            receipts_days=None, fee_invoices_days=None, cutoff=None, today=date(2021, 6, 1)
        )
        == []
    )


def test_s3_the_settings_page_explains_the_saved_delays_with_a_worked_example(
    as_admin: FlaskClient, configured, morning
) -> None:
    store.put(keys.DELAY_RECEIPTS, "30")
    store.put(keys.DELAY_FEE_INVOICES, "5")
    db.session.commit()
    html = html_of(as_admin.get(SYSTEM))
    text = text_of(html)
    assert (
        "Avec un délai de 30 jours, une quittance à échoir dont la période commence le "
        "01/01/2027 sera envoyée dès le 02/12/2026"
    ) in text
    assert "le 15/01/2027 sera envoyée dès le 10/01/2027" in text
    assert "la date de facture transmise à chorus pro est toujours la date du jour" in text.lower()
    assert 'hx-get="/envoi-automatique/exemple-delais"' in html


def test_s3_the_example_follows_what_is_typed_and_shows_the_error_of_an_invalid_delay(
    as_admin: FlaskClient, configured, morning
) -> None:
    url = "/envoi-automatique/exemple-delais"
    fragment = html_of(
        as_admin.get(
            f"{url}?delay_receipts=10&delay_fee_invoices=&cutoff_date=2026-01-31", headers=HX
        )
    )
    text = text_of(fragment)
    assert "délai de 10 jours" in text and "dès le 22/12/2026" in text
    assert "délai de 0 jour" in text
    assert "saisis après le 31/01/2026" in text
    # Only the lines: the element carrying the triggers stays in the page.
    assert 'id="delay-example"' not in fragment and "<html" not in fragment

    fragment = html_of(as_admin.get(f"{url}?delay_receipts=-3&delay_fee_invoices=2", headers=HX))
    text = text_of(fragment)
    assert "quittance à échoir" not in text
    assert "Le délai doit être un nombre entier de jours, positif ou nul." in text
    assert "délai de 2 jours" in text


def test_s3_an_invalid_delay_is_refused_in_french_and_gets_no_example(
    as_admin: FlaskClient, configured
) -> None:
    token = csrf_token_from(html_of(as_admin.get(SYSTEM)))
    response = as_admin.post(
        SYSTEM,
        data={
            "csrf_token": token,
            "environment": "emulator",
            "client_id": "demo-client",
            "tech_login": "TECH_1_80283822726464@cpro.fr",
            "supplier_id": "25000001",
            "delay_receipts": "trente",
            "delay_fee_invoices": "3",
            "cutoff_date": "2021-01-01",
        },
    )
    assert response.status_code == 422, response.get_data(as_text=True)[-3000:]
    text = text_of(response.get_data(as_text=True))
    assert "Le délai doit être un nombre entier de jours, positif ou nul." in text
    assert "quittance à échoir" not in text
    assert "délai de 3 jours" in text
    assert store.get(keys.DELAY_RECEIPTS) is None


def test_the_example_endpoint_is_for_admins(as_gestionnaire: FlaskClient) -> None:
    assert as_gestionnaire.get("/envoi-automatique/exemple-delais", headers=HX).status_code == 403
