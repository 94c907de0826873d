"""Who may use the Chorus screens, and nothing of them exists while S1 is off."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests.connection.conftest import chorus_off
from tests.factories import csrf_token_from

ADMIN_ONLY = [
    ("POST", "/administration/chorus/tester-la-connexion"),
    ("GET", "/administration/chorus/sante"),
    ("GET", "/administration/chorus/identifiant-fournisseur"),
    ("POST", "/administration/chorus/identifiant-fournisseur"),
    ("GET", "/administration/chorus/motifs-exoneration-tva"),
    ("GET", "/administration/chorus/types-pieces-jointes"),
]
BANK_LOOKUP = ("GET", "/administration/chorus/coordonnees-bancaires")
EVERY = [*ADMIN_ONLY, BANK_LOOKUP]


def _call(client, method: str, url: str):
    headers = {"HX-Request": "true"}
    if method == "POST":
        headers["X-CSRFToken"] = csrf_token_from(client.get("/").get_data(as_text=True))
        return client.post(url, data={"structure_id": "25000002"}, headers=headers)
    return client.get(url, headers=headers)


@pytest.mark.parametrize(("method", "url"), ADMIN_ONLY)
def test_a_gestionnaire_gets_403_on_the_admin_actions(as_gestionnaire, chorus, method, url) -> None:
    assert _call(as_gestionnaire, method, url).status_code == 403


@pytest.mark.parametrize(("method", "url"), EVERY)
def test_a_lecteur_gets_403_on_every_chorus_action(as_lecteur, chorus, method, url) -> None:
    assert _call(as_lecteur, method, url).status_code == 403


def test_a_refused_pick_changes_nothing(as_gestionnaire, chorus) -> None:
    _call(as_gestionnaire, "POST", "/administration/chorus/identifiant-fournisseur")
    db.session.expire_all()
    assert store.get(keys.SUPPLIER_ID) == "25000001"


@pytest.mark.parametrize("role", ["as_gestionnaire", "as_admin"])
def test_the_bank_lookup_is_open_to_gestionnaires_and_admins(request, chorus, role) -> None:
    client = request.getfixturevalue(role)
    assert _call(client, *BANK_LOOKUP).status_code == 200


@pytest.mark.parametrize(("method", "url"), EVERY)
def test_s1_off_every_chorus_endpoint_is_404(as_admin, chorus, method, url) -> None:
    chorus_off()
    assert _call(as_admin, method, url).status_code == 404
    assert chorus.state.stats.calls == {} or sum(chorus.state.stats.calls.values()) == 0


@pytest.mark.parametrize(("method", "url"), EVERY)
def test_anonymous_users_are_sent_to_log_in(client, chorus, method, url) -> None:
    response = client.get(url) if method == "GET" else client.post(url)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "/connexion" in response.headers["Location"]
