"""B2: the automatic-settlement switch of the Système tab (off by default)."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal.settings import chorus as keys
from tests.factories import csrf_token_from
from tests.followup.conftest import configure_chorus

URL = "/administration/parametres/systeme"
CHORUS_URL = "http://127.0.0.1:9"


def system_form(**changes: str) -> dict[str, str]:
    data = {
        "environment": "emulator",
        "client_id": "demo-client",
        "tech_login": "TECH_1_80283822726464@cpro.fr",
        "supplier_id": "25000001",
        "cutoff_date": "2021-01-01",
        # The stored addresses, as the form shows them (another address needs the secrets).
        "oauth_url": f"{CHORUS_URL}/api/oauth/token",
        "api_url": CHORUS_URL,
    }
    data.update(changes)
    return data


def test_b2_automatic_settlement_is_off_by_default_and_switched_on_the_system_tab(
    as_admin: FlaskClient,
) -> None:
    configure_chorus(CHORUS_URL)
    page = as_admin.get(URL).get_data(as_text=True)
    assert "Solder automatiquement les documents mis en paiement dans Chorus Pro" in page
    assert not keys.load().auto_settle
    token = csrf_token_from(page)

    response = as_admin.post(URL, data={"csrf_token": token, **system_form(auto_settle="y")})

    assert response.status_code == 303
    assert keys.load().auto_settle
    assert '<input checked class="form-check-input" id="auto_settle"' in as_admin.get(URL).get_data(
        as_text=True
    )
    as_admin.post(URL, data={"csrf_token": token, **system_form()})
    assert not keys.load().auto_settle
