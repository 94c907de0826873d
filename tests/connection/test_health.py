"""B5 connection health: the observer of every client, the panel, the environment badge."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from portal.chorus.client import Exchange
from portal.chorus.errors import ChorusAuthenticationError
from portal.clock import PARIS
from portal.connection import health
from portal.connection.factory import client_from_settings
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests.connection.conftest import chorus_off, text

PANEL_URL = "/administration/chorus/sante"
SYSTEM_URL = "/administration/parametres/systeme"
HX = {"HX-Request": "true"}

OK = Exchange("transverses/health-check", True, 200, None, 1, 12)
UNAVAILABLE = Exchange(
    "structures/consulter",
    False,
    None,
    None,
    3,
    40,
    "Chorus Pro est injoignable (connexion impossible).",
)
AUTH = Exchange(
    "token",
    False,
    401,
    None,
    1,
    8,
    "Le serveur d'authentification PISTE a refusé le client ID ou le secret.",
)
REFUSED = Exchange(
    "factures/soumettre", False, 200, 20001, 1, 30, "Chorus Pro a refusé la demande."
)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _get(key: str) -> str | None:
    db.session.expire_all()
    return store.get(key)


def _clear(*names: str) -> None:
    for name in names:
        store.put(name, None)
    db.session.commit()


# -- observer -------------------------------------------------------------------------------------


def test_b5_a_successful_exchange_records_the_last_success(app) -> None:
    with time_machine.travel(datetime(2026, 3, 2, 10, 15, tzinfo=PARIS), tick=False):
        health.HealthRecorder().record(db.engine, OK)
    assert datetime.fromisoformat(_get(health.LAST_SUCCESS_AT)) == datetime(
        2026, 3, 2, 10, 15, tzinfo=PARIS
    )
    assert _get(health.LAST_SUCCESS_OPERATION) == "transverses/health-check"
    assert _get(health.LAST_ERROR_AT) is None


def test_b5_successes_are_written_at_most_once_per_interval(app) -> None:
    tick = FakeMonotonic()
    recorder = health.HealthRecorder(min_success_interval=30, monotonic=tick)
    recorder.record(db.engine, OK)
    assert _get(health.LAST_SUCCESS_AT)
    _clear(health.LAST_SUCCESS_AT)
    tick.now += 10
    recorder.record(db.engine, OK)
    assert _get(health.LAST_SUCCESS_AT) is None
    tick.now += 25
    recorder.record(db.engine, OK)
    assert _get(health.LAST_SUCCESS_AT)


def test_b5_every_error_is_written_and_the_next_success_at_once(app) -> None:
    tick = FakeMonotonic()
    recorder = health.HealthRecorder(min_success_interval=30, monotonic=tick)
    recorder.record(db.engine, OK)
    recorder.record(db.engine, UNAVAILABLE)
    assert "injoignable" in _get(health.LAST_ERROR)
    assert _get(health.LAST_ERROR_OPERATION) == "structures/consulter"
    recorder.record(db.engine, AUTH)
    assert "client ID ou le secret" in _get(health.LAST_ERROR)
    _clear(health.LAST_SUCCESS_AT)
    tick.now += 1
    recorder.record(db.engine, OK)
    assert _get(health.LAST_SUCCESS_AT), "a success right after an error is not throttled"


def test_b5_a_business_refusal_is_not_a_connection_error(app) -> None:
    health.HealthRecorder().record(db.engine, REFUSED)
    assert _get(health.LAST_ERROR_AT) is None
    assert _get(health.LAST_SUCCESS_AT) is None


def test_b5_the_observer_never_raises_even_when_the_database_fails(app, tmp_path, caplog) -> None:
    broken = sa.create_engine(f"sqlite:///{tmp_path}/absent/dir/base.db")
    with caplog.at_level(logging.WARNING, logger="portal.connection.health"):
        health.HealthRecorder().record(broken, OK)
        health.HealthRecorder().record(broken, UNAVAILABLE)
    broken.dispose()
    assert "could not record the Chorus connection health" in caplog.text


def test_b5_the_observer_works_from_a_thread_without_application_context(app) -> None:
    observer = health.chain(None)
    assert observer is not None
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["chain_outside_app"] = health.chain(None)
            observer(UNAVAILABLE)
            observer(OK)
        except Exception as error:  # the assertion below reports it
            outcome["error"] = error

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert "error" not in outcome
    assert outcome["chain_outside_app"] is None
    assert _get(health.LAST_ERROR_AT) and _get(health.LAST_SUCCESS_AT)


def test_b5_the_callers_observer_still_receives_every_exchange(app) -> None:
    seen: list[str] = []
    observer = health.chain(lambda exchange: seen.append(exchange.operation))
    observer(UNAVAILABLE)
    assert seen == ["structures/consulter"]
    assert _get(health.LAST_ERROR_AT)


def test_b5_every_client_built_by_the_portal_records_its_calls(app, chorus) -> None:
    with client_from_settings() as client:
        client.health_check()
    assert _get(health.LAST_SUCCESS_AT)
    store.put_secret(keys.TECH_PASSWORD, "faux")
    db.session.commit()
    with client_from_settings() as client, pytest.raises(ChorusAuthenticationError):
        client.health_check()
    assert "HTTP 401" in _get(health.LAST_ERROR)
    assert _get(health.LAST_ERROR_OPERATION) == "transverses/health-check"


# -- panel ----------------------------------------------------------------------------------------


def _store_health(expires_on: str = "2026-07-01") -> None:
    store.put(health.LAST_SUCCESS_AT, datetime(2026, 6, 10, 7, 30, tzinfo=PARIS).isoformat())
    store.put(health.LAST_ERROR_AT, datetime(2026, 6, 9, 18, 5, tzinfo=PARIS).isoformat())
    store.put(health.LAST_ERROR, "Chorus Pro est momentanément indisponible (HTTP 503).")
    store.put(health.PASSWORD_EXPIRES_ON, expires_on)
    store.put(health.PASSWORD_CHECKED_AT, datetime(2026, 6, 10, 8, 0, tzinfo=PARIS).isoformat())
    db.session.commit()


def _panel(client) -> str:
    return text(client.get(PANEL_URL, headers=HX))


def test_b5_the_panel_shows_environment_last_success_last_error_and_password_expiry(
    as_admin, chorus
) -> None:
    _store_health("2026-07-01")
    with time_machine.travel(datetime(2026, 6, 10, 9, 0, tzinfo=PARIS), tick=False):
        html = _panel(as_admin)
    assert "Émulateur intégré (démonstration)" in html
    assert "10/06/2026 07:30" in html
    assert "09/06/2026 18:05" in html and "(HTTP 503)" in html
    assert "(avant le dernier appel réussi)" in html
    assert "Expire le <strong>01/07/2026</strong>" in html
    assert "dans 21 jours" in html
    assert 'data-warning="false"' in html
    assert "Date lue dans Chorus Pro le 10/06/2026 08:00." in html


def test_b5_the_password_expiry_turns_to_warning_at_15_days_not_at_16(as_admin, chorus) -> None:
    _store_health("2026-07-01")
    with time_machine.travel(datetime(2026, 6, 15, 9, 0, tzinfo=PARIS), tick=False):
        at_16 = _panel(as_admin)
    with time_machine.travel(datetime(2026, 6, 16, 9, 0, tzinfo=PARIS), tick=False):
        at_15 = _panel(as_admin)
    with time_machine.travel(datetime(2026, 7, 3, 9, 0, tzinfo=PARIS), tick=False):
        expired = _panel(as_admin)
    assert 'data-warning="false"' in at_16 and "dans 16 jours" in at_16
    assert 'data-warning="true"' in at_15 and "plus que 15 jours" in at_15
    assert 'text-bg-warning">plus que 15 jours' in at_15
    assert 'data-warning="true"' in expired and "expiré depuis 2 jours" in expired


def test_b5_an_empty_panel_says_what_is_unknown(as_admin, chorus) -> None:
    html = _panel(as_admin)
    assert "Aucun appel réussi enregistré." in html
    assert "Aucune erreur enregistrée." in html
    assert "Date inconnue : lancez « Tester la connexion »." in html


def test_b5_the_system_tab_shows_the_health_panel(as_admin, chorus) -> None:
    _store_health()
    html = text(as_admin.get(SYSTEM_URL))
    panel = html.split('<div id="chorus-health">', 1)[1]
    assert 'data-testid="chorus-health"' in panel
    assert "Expire le <strong>01/07/2026</strong>" in panel


def test_b5_production_is_shown_in_the_panel_with_its_own_colour(as_admin, chorus) -> None:
    store.put(keys.ENVIRONMENT, "production")
    db.session.commit()
    html = _panel(as_admin)
    badge = html.split('data-testid="chorus-health-environment"', 1)
    assert "text-bg-danger" in badge[0].rsplit("<span", 1)[1]
    assert badge[1].startswith(">Production</span>")


# -- environment badge in the header --------------------------------------------------------------


def test_b5_the_header_badge_shows_any_environment_but_production_while_s1_is_on(
    as_gestionnaire, chorus
) -> None:
    assert "Chorus : Émulateur intégré (démonstration)" in text(as_gestionnaire.get("/"))
    store.put(keys.ENVIRONMENT, "sandbox")
    db.session.commit()
    assert "Chorus : Qualification (bac à sable)" in text(as_gestionnaire.get("/"))
    store.put(keys.ENVIRONMENT, "production")
    db.session.commit()
    assert 'data-testid="env-badge"' not in text(as_gestionnaire.get("/"))


def test_b5_the_header_badge_follows_the_environment_variable(
    as_gestionnaire, chorus, monkeypatch
) -> None:
    monkeypatch.setenv("CHORUS_ENV", "sandbox")
    assert "Chorus : Qualification (bac à sable)" in text(as_gestionnaire.get("/"))


def test_s1_off_no_badge_and_no_chorus_block_on_the_system_tab(as_admin, chorus) -> None:
    _store_health()
    chorus_off()
    assert 'data-testid="env-badge"' not in text(as_admin.get("/"))
    html = text(as_admin.get(SYSTEM_URL))
    assert 'data-testid="chorus-health"' not in html
    assert "Tester la connexion" not in html
    assert "Récupérer l'identifiant fournisseur" not in html
