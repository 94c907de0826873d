"""« Choisir parmi les motifs de Chorus Pro »: the VAT exemption reasons Chorus accepts (API.md)."""

from __future__ import annotations

from portal.chorus.emulator.operations import VAT_EXEMPTION_REASONS
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests.chorus_ui.conftest import chorus_off, text

URL = "/administration/chorus/motifs-exoneration-tva"
SYSTEM_URL = "/administration/parametres/systeme"
HX = {"HX-Request": "true"}


def test_the_system_tab_offers_the_reasons_under_the_field_while_s1_is_on(as_admin, chorus):
    html = text(as_admin.get(SYSTEM_URL))
    block = html.split('id="chorus-vat-reason-lookup"', 1)[1]
    assert "Choisir parmi les motifs de Chorus Pro" in block
    assert f'hx-get="{URL}"' in block
    chorus_off()
    assert "Choisir parmi les motifs de Chorus Pro" not in text(as_admin.get(SYSTEM_URL))


def test_the_reasons_fill_the_field_and_the_one_in_use_is_marked(as_admin, chorus) -> None:
    code = VAT_EXEMPTION_REASONS[0][0]
    store.put(keys.VAT_EXEMPTION_REASON, code)
    db.session.commit()
    html = text(as_admin.get(URL, headers=HX))
    assert 'data-testid="chorus-vat-reason-choices"' in html
    for other_code, _ in VAT_EXEMPTION_REASONS:
        assert f'data-fill-target="vat_exemption_reason" data-fill-value="{other_code}"' in html
    used = html.split('<span class="badge text-bg-success">utilisé</span>')[0]
    assert code in used.rsplit("list-group-item", 1)[1]
    assert html.count("utilisé") == 1
    assert chorus.state.stats.calls["transverses/recuperer/motifs/exonerationtva"] == 1


def test_an_unreachable_chorus_is_reported_in_french(as_admin, chorus_down) -> None:
    html = text(as_admin.get(URL, headers=HX))
    assert "Recherche impossible." in html
    assert 'data-testid="chorus-vat-reason-choices"' not in html


def test_only_administrators_read_the_reasons_and_only_while_s1_is_on(
    as_gestionnaire, chorus
) -> None:
    assert as_gestionnaire.get(URL, headers=HX).status_code == 403
    chorus_off()
    assert as_gestionnaire.get(URL, headers=HX).status_code in (403, 404)
