"""B2: the automatic-settlement switch of the Système tab (off by default)."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal.settings import chorus as keys
from tests.sending.conftest import configure_chorus
from tests.settings.helpers import SYSTEM_URL, post_system

CHORUS_URL = "http://127.0.0.1:9"
# The Système form as the emulator's stored settings fill it (another address needs the
# secrets, so the stored addresses are sent back as shown).
EMULATOR_FORM = {
    "environment": "emulator",
    "client_id": "demo-client",
    "tech_login": "TECH_1_80283822726464@cpro.fr",
    "supplier_id": "25000001",
    "cutoff_date": "2021-01-01",
    "oauth_url": f"{CHORUS_URL}/api/oauth/token",
    "api_url": CHORUS_URL,
}


def test_b2_automatic_settlement_is_off_by_default_and_switched_on_the_system_tab(
    as_admin: FlaskClient,
) -> None:
    configure_chorus(CHORUS_URL)
    page = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert "Solder automatiquement les documents mis en paiement dans Chorus Pro" in page
    assert not keys.load().auto_settle

    response = post_system(as_admin, EMULATOR_FORM, auto_settle="y")

    assert response.status_code == 303
    assert keys.load().auto_settle
    page = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert '<input checked class="form-check-input" id="auto_settle"' in page
    post_system(as_admin, EMULATOR_FORM)
    assert not keys.load().auto_settle
