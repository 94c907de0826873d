"""« Choisir parmi les types de Chorus Pro »: the secondary attachment types Chorus accepts,
read again and stored, for the Système tab's default type (EVIDENCE.md § 2)."""

from __future__ import annotations

from html import unescape

from portal.chorus.emulator.operations import ATTACHMENT_TYPES
from portal.connection import services
from portal.extensions import db
from portal.settings import reference_lists, store
from tests.connection.conftest import chorus_off, text

URL = "/administration/chorus/types-pieces-jointes"
SYSTEM_URL = "/administration/parametres/systeme"
HX = {"HX-Request": "true"}
OPERATION = "transverses/recuperer/typespj"


def forget_the_list() -> None:
    store.put("chorus.list." + reference_lists.ATTACHMENT_TYPES, None)
    db.session.commit()


def test_the_system_tab_offers_the_lookup_under_the_default_type(as_admin, chorus) -> None:
    html = text(as_admin.get(SYSTEM_URL))
    block = html.split('id="chorus-attachment-type-lookup"', 1)[1]
    assert "Choisir parmi les types de Chorus Pro" in block
    assert f'hx-get="{URL}"' in block
    assert 'hx-include="#default_attachment_type"' in block
    chorus_off()
    assert "Choisir parmi les types de Chorus Pro" not in text(as_admin.get(SYSTEM_URL))


def test_the_lookup_reads_chorus_stores_the_list_and_keeps_the_admins_pick(
    as_admin, chorus
) -> None:
    forget_the_list()
    html = unescape(text(as_admin.get(f"{URL}?default_attachment_type=BDC", headers=HX)))
    assert 'data-testid="chorus-attachment-type-choices"' in html
    assert f"{len(ATTACHMENT_TYPES)} types lus dans Chorus Pro" in " ".join(html.split())
    for code, label in ATTACHMENT_TYPES:
        assert f"{code} — {label}" in html
    assert '<option selected value="BDC">' in html
    assert chorus.state.stats.calls[OPERATION] == 1
    stored = reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=chorus.base_url)
    assert stored.codes == {code for code, _label in ATTACHMENT_TYPES}


def test_a_second_lookup_within_seconds_is_throttled_without_calling_chorus(
    as_admin, chorus
) -> None:
    as_admin.get(URL, headers=HX)
    again = unescape(text(as_admin.get(URL, headers=HX)))
    assert "Recherche impossible." in again and "réessayez dans" in again
    assert chorus.state.stats.calls[OPERATION] == 1


def test_an_unreachable_chorus_is_reported_in_french_and_keeps_nothing(
    as_admin, chorus_down
) -> None:
    forget_the_list()
    html = text(as_admin.get(URL, headers=HX))
    assert "Recherche impossible." in html
    assert 'data-testid="chorus-attachment-type-choices"' not in html
    assert not reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=chorus_down).is_known


def test_an_empty_answer_keeps_the_stored_list(app) -> None:
    api = "https://api.test"
    reference_lists.save(reference_lists.ATTACHMENT_TYPES, [("AUT", "Autre")], api_url=api)
    services.store_attachment_types((), api_url=api)
    stored = reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=api)
    assert stored.codes == {"AUT"}


def test_only_administrators_read_the_types_and_only_while_s1_is_on(
    as_gestionnaire, chorus
) -> None:
    assert as_gestionnaire.get(URL, headers=HX).status_code == 403
    chorus_off()
    assert as_gestionnaire.get(URL, headers=HX).status_code in (403, 404)
    assert OPERATION not in chorus.state.stats.calls
