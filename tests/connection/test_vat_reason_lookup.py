"""« Choisir parmi les motifs de Chorus Pro »: the VAT exemption reasons Chorus accepts are read,
stored as the only codes the Système tab offers and accepts (issue 10 § 1)."""

from __future__ import annotations

from html import unescape

from portal.chorus.emulator.operations import VAT_EXEMPTION_REASONS
from portal.connection import services
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import reference_lists
from tests.connection.conftest import chorus_off, text

URL = "/administration/chorus/motifs-exoneration-tva"
SYSTEM_URL = "/administration/parametres/systeme"
HX = {"HX-Request": "true"}


def _stored_list() -> reference_lists.ReferenceList:
    db.session.expire_all()
    return reference_lists.load(reference_lists.VAT_EXEMPTION_REASONS, api_url=keys.load().api_url)


def test_the_system_tab_offers_the_lookup_next_to_the_choice_while_s1_is_on(as_admin, chorus):
    html = text(as_admin.get(SYSTEM_URL))
    block = html.split('id="chorus-vat-reason-lookup"', 1)[1]
    assert 'id="vat_exemption_code"' in block
    assert "Choisir parmi les motifs de Chorus Pro" in block
    assert f'hx-get="{URL}"' in block
    assert 'hx-include="#vat_exemption_code"' in block
    chorus_off()
    assert "Choisir parmi les motifs de Chorus Pro" not in text(as_admin.get(SYSTEM_URL))


def test_the_reasons_read_are_stored_and_offered_with_the_admin_pick_kept(as_admin, chorus) -> None:
    html = unescape(text(as_admin.get(f"{URL}?vat_exemption_code=FRANCHISE_293B", headers=HX)))
    assert 'data-testid="chorus-vat-reason-choices"' in html
    for code, label in VAT_EXEMPTION_REASONS:
        assert f">{code} — {label}</option>" in html
    assert '<option selected value="FRANCHISE_293B">' in html
    assert [item.code for item in _stored_list().items] == [c for c, _ in VAT_EXEMPTION_REASONS]
    assert chorus.state.stats.calls["transverses/recuperer/motifs/exonerationtva"] == 1


def test_a_pick_that_is_not_a_listed_code_falls_back_to_the_stored_one(as_admin, chorus) -> None:
    html = text(as_admin.get(f"{URL}?vat_exemption_code=<b>texte libre</b>", headers=HX))
    assert f'<option selected value="{VAT_EXEMPTION_REASONS[0][0]}">' in html
    assert "<b>texte libre</b>" not in html


def test_an_unreachable_chorus_is_reported_in_french_and_nothing_is_stored(
    as_admin, chorus_down
) -> None:
    html = text(as_admin.get(URL, headers=HX))
    assert "Recherche impossible." in html
    assert 'data-testid="chorus-vat-reason-choices"' not in html
    assert not _stored_list().is_known


def test_an_empty_answer_keeps_the_stored_list(app) -> None:
    api = "https://api.test"
    reference_lists.save(reference_lists.VAT_EXEMPTION_REASONS, [("A", "Un")], api_url=api)
    services.store_vat_exemption_reasons((), api_url=api)
    stored = reference_lists.load(reference_lists.VAT_EXEMPTION_REASONS, api_url=api)
    assert stored.codes == {"A"}


def test_only_administrators_read_the_reasons_and_only_while_s1_is_on(
    as_gestionnaire, chorus
) -> None:
    assert as_gestionnaire.get(URL, headers=HX).status_code == 403
    chorus_off()
    assert as_gestionnaire.get(URL, headers=HX).status_code in (403, 404)
