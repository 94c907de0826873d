"""The VAT exemption reason is a code of Chorus's list, never free text (issue 10 § 1)."""

from __future__ import annotations

from html import unescape

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.settings import chorus, reference_lists, store, vat_exemption
from portal.settings.vat_exemption import CHOOSE_FROM_LIST, VatExemption
from tests.factories import csrf_token_from
from tests.settings.chorus_lists import (
    SYSTEM_URL,
    enable_chorus_with_list,
    fetched,
    post_system_form,
)

REASONS = [("ASSURANCE_261C", "Opérations d'assurance"), ("FRANCHISE_293B", "Franchise en base")]
FREE_TEXT = "TVA non applicable, article 261 C du CGI (opérations d'assurance)"


def listed(*codes: tuple[str, str | None], code: str | None = None) -> VatExemption:
    """A stored choice ``code`` with a fetched copy of the list holding ``codes``."""
    label = dict(codes).get(code) if code else None
    return VatExemption(code, label, fetched(reference_lists.VAT_EXEMPTION_REASONS, codes))


def _enable_chorus_with_the_list() -> None:
    enable_chorus_with_list(reference_lists.VAT_EXEMPTION_REASONS, REASONS)


# -- the pure choice ----------------------------------------------------------------------------


def test_a_code_of_chorus_list_is_accepted_with_its_label() -> None:
    assert listed(*REASONS).check(" FRANCHISE_293B ") == ("FRANCHISE_293B", "Franchise en base")
    assert listed(*REASONS).check("") == (None, None)


@pytest.mark.parametrize(
    "submitted",
    [FREE_TEXT, "assurance_261c", "AUTRE", "X" * 5000, "ASSURANCE_261C\x00"],
)
def test_free_text_or_a_code_chorus_does_not_list_is_refused_in_french(submitted: str) -> None:
    with pytest.raises(ValueError, match="Choisissez un motif dans la liste de Chorus Pro"):
        listed(*REASONS).check(submitted)


def test_nothing_can_be_chosen_before_the_list_was_fetched() -> None:
    with pytest.raises(ValueError):
        VatExemption.unset().check("ASSURANCE_261C")


def test_the_stored_code_is_kept_even_when_the_list_no_longer_has_it() -> None:
    stale = VatExemption("ANCIEN", "Ancien motif", listed(*REASONS).reasons)
    assert stale.check("ANCIEN") == ("ANCIEN", "Ancien motif")
    assert stale.is_listed is False
    assert stale.problem and "n'est plus dans la liste de Chorus Pro" in stale.problem
    assert stale.choices()[-1] == (
        "ANCIEN",
        "ANCIEN — Ancien motif (absent de la liste de Chorus Pro)",
    )


def test_the_choices_are_none_then_chorus_reasons() -> None:
    assert listed(*REASONS, code="ASSURANCE_261C").choices() == [
        ("", "— Aucun motif choisi —"),
        ("ASSURANCE_261C", "ASSURANCE_261C — Opérations d'assurance"),
        ("FRANCHISE_293B", "FRANCHISE_293B — Franchise en base"),
    ]


def test_what_to_do_is_said_while_no_code_is_chosen_and_nothing_once_a_listed_one_is() -> None:
    assert "Aucun motif d'exonération de TVA n'est choisi" in (VatExemption.unset().problem or "")
    chosen = listed(*REASONS, code="ASSURANCE_261C")
    assert chosen.problem is None and chosen.is_listed is True
    unverified = VatExemption("ASSURANCE_261C", None, VatExemption.unset().reasons)
    assert unverified.problem is None and unverified.is_listed is None


# -- the Système tab ----------------------------------------------------------------------------


def test_the_system_tab_offers_the_stored_list_and_says_no_code_is_chosen(
    as_admin: FlaskClient,
) -> None:
    _enable_chorus_with_the_list()
    html = unescape(as_admin.get(SYSTEM_URL).get_data(as_text=True))
    assert '<select class="form-select" id="vat_exemption_code" name="vat_exemption_code">' in html
    assert '<option value="FRANCHISE_293B">FRANCHISE_293B — Franchise en base</option>' in html
    assert 'data-testid="vat-exemption-problem"' in html
    assert "Aucun motif d'exonération de TVA n'est choisi" in html
    assert "<textarea" not in html


def test_a_listed_code_is_stored_with_its_label(as_admin: FlaskClient) -> None:
    _enable_chorus_with_the_list()
    store.put(chorus.VAT_EXEMPTION_CLEARED_TEXT, FREE_TEXT)
    db.session.commit()
    response = post_system_form(as_admin, vat_exemption_code="ASSURANCE_261C")
    assert response.status_code == 303, response.get_data(as_text=True)[-1500:]
    settings = chorus.load()
    assert settings.vat_exemption_code == "ASSURANCE_261C"
    assert settings.vat_exemption_label == "Opérations d'assurance"
    assert store.get(chorus.VAT_EXEMPTION_CLEARED_TEXT) is None  # the migration's note answered
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert '<option selected value="ASSURANCE_261C">' in html
    assert 'data-testid="vat-exemption-problem"' not in html


def test_free_text_is_refused_next_to_the_field_and_nothing_is_saved(
    as_admin: FlaskClient,
) -> None:
    _enable_chorus_with_the_list()
    response = post_system_form(as_admin, vat_exemption_code=FREE_TEXT, supplier_id="99")
    assert response.status_code == 422
    html = unescape(response.get_data(as_text=True))
    assert CHOOSE_FROM_LIST in html
    assert FREE_TEXT not in html  # never echoed back as a choice
    assert store.get(chorus.VAT_EXEMPTION_CODE) is None
    assert store.get(chorus.SUPPLIER_ID) is None  # nothing half-saved


def test_the_admin_is_told_the_free_text_reason_was_cleared(as_admin: FlaskClient) -> None:
    _enable_chorus_with_the_list()
    store.put(chorus.VAT_EXEMPTION_CLEARED_TEXT, FREE_TEXT)
    db.session.commit()
    html = unescape(as_admin.get(SYSTEM_URL).get_data(as_text=True))
    assert 'data-testid="vat-exemption-cleared"' in html
    assert f"« {FREE_TEXT} »" in html


@pytest.mark.parametrize("who", ["as_gestionnaire", "as_lecteur"])
def test_only_an_admin_may_choose_the_code(app, request: pytest.FixtureRequest, who: str) -> None:
    client: FlaskClient = request.getfixturevalue(who)
    _enable_chorus_with_the_list()
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post(
        SYSTEM_URL, data={"csrf_token": token, "vat_exemption_code": "ASSURANCE_261C"}
    )
    assert response.status_code == 403
    assert store.get(chorus.VAT_EXEMPTION_CODE) is None


def test_the_current_choice_reads_the_list_of_the_current_api(app) -> None:
    store.put(chorus.VAT_EXEMPTION_CODE, "ASSURANCE_261C")
    reference_lists.save(
        reference_lists.VAT_EXEMPTION_REASONS, REASONS, api_url="https://ailleurs.test"
    )
    db.session.commit()
    current = vat_exemption.current()
    assert current.code == "ASSURANCE_261C"
    assert not current.reasons.is_known  # read from another environment: never fetched here


def test_the_health_panel_shows_the_code_and_that_chorus_list_was_not_read_yet(
    as_admin: FlaskClient,
) -> None:
    store.put_bool(chorus.CHORUS_ENABLED, True)
    store.put(chorus.VAT_EXEMPTION_CODE, "ASSURANCE_261C")
    store.put(chorus.VAT_EXEMPTION_LABEL, "Opérations d'assurance")
    db.session.commit()
    html = unescape(as_admin.get("/administration/chorus/sante").get_data(as_text=True))
    assert 'data-testid="chorus-health-vat-exemption" data-warning="false"' in html
    assert "ASSURANCE_261C — Opérations d'assurance" in html
    assert "Présence dans la liste de Chorus Pro non vérifiée" in html
