"""Système tab: how long a recipient checked in Chorus Pro is trusted across send jobs (B3)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import db
from portal.settings import chorus, services, store
from tests.settings.helpers import SYSTEM_URL, enable_chorus, post_system


def test_b3_the_freshness_is_24_hours_until_set(app: Flask) -> None:
    assert chorus.load().recipient_freshness_hours == 24


def test_b3_the_freshness_field_is_on_the_system_tab(as_admin: FlaskClient) -> None:
    enable_chorus()
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert 'name="recipient_freshness_hours"' in html
    assert "Durée de validité d&#39;une vérification de destinataire" in html


@pytest.mark.parametrize(("typed", "hours"), [("0", 0), ("72", 72), (" 720 ", 720), ("", 24)])
def test_b3_a_freshness_in_whole_hours_is_saved(
    as_admin: FlaskClient, typed: str, hours: int
) -> None:
    enable_chorus()
    response = post_system(as_admin, recipient_freshness_hours=typed)
    assert response.status_code == 303
    assert chorus.load().recipient_freshness_hours == hours
    assert f'value="{typed.strip()}"' in as_admin.get(SYSTEM_URL).get_data(as_text=True)


@pytest.mark.parametrize("bad", ["-1", "1.5", "douze", "721", "9" * 40])
def test_b3_a_wrong_freshness_is_refused_next_to_the_field_and_nothing_is_saved(
    as_admin: FlaskClient, bad: str
) -> None:
    enable_chorus()
    response = post_system(as_admin, recipient_freshness_hours=bad, client_id="ne-pas-enregistrer")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    field = html[html.index('name="recipient_freshness_hours"') :]
    assert "invalid-feedback" in field[:1500]
    assert "heures" in field[:1500]
    assert store.get(chorus.CLIENT_ID) is None
    assert store.get(chorus.RECIPIENT_FRESHNESS_HOURS) is None


def test_b3_readers_and_managers_cannot_change_the_freshness(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    response = as_gestionnaire.post(SYSTEM_URL, data={"recipient_freshness_hours": "0"})
    assert response.status_code in (400, 403)
    assert store.get(chorus.RECIPIENT_FRESHNESS_HOURS) is None


def test_b3_the_freshness_rule_is_pure() -> None:
    assert services.parse_freshness_hours("") is None
    assert services.parse_freshness_hours("0") == 0
    with pytest.raises(ValueError, match="nombre entier d'heures"):
        services.parse_freshness_hours("2 h")
    with pytest.raises(ValueError, match="720 heures"):
        services.parse_freshness_hours("1000")


def test_b3_an_out_of_range_stored_freshness_falls_back_to_the_default(app: Flask) -> None:
    store.put(chorus.RECIPIENT_FRESHNESS_HOURS, "99999")
    db.session.commit()
    assert chorus.load().recipient_freshness_hours == 24
