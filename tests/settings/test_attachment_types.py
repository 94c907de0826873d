"""Secondary attachment types are codes of Chorus's list, chosen per attachment with an
administrator's default, never guessed (issue 10 § 2, EVIDENCE.md § 2)."""

from __future__ import annotations

from html import unescape

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.settings import attachment_types, chorus, reference_lists, store
from portal.settings.attachment_types import (
    CHOOSE_A_TYPE,
    CHOOSE_FROM_LIST,
    LIST_NOT_LOADED,
    AttachmentTypes,
)
from portal.settings.reference_lists import ReferenceList
from tests.settings.chorus_lists import (
    SYSTEM_URL,
    enable_chorus_with_list,
    fetched,
    post_system_form,
)

TYPES = [("AUT", "Autre"), ("BDC", "Bon de commande")]


def listed(*codes: tuple[str, str | None], default: str | None = None) -> AttachmentTypes:
    """A stored ``default`` with a fetched copy of the list holding ``codes``."""
    return AttachmentTypes(default, fetched(reference_lists.ATTACHMENT_TYPES, codes))


def _enable_chorus_with_the_list() -> None:
    enable_chorus_with_list(reference_lists.ATTACHMENT_TYPES, TYPES)


# -- the default type (Système tab) ---------------------------------------------------------------


def test_a_default_of_chorus_list_is_accepted_and_empty_means_none() -> None:
    assert listed(*TYPES).check_default(" BDC ") == "BDC"
    assert listed(*TYPES).check_default("") is None


@pytest.mark.parametrize("submitted", ["AUTRE", "aut", "BDC " * 40, "<script>"])
def test_a_default_outside_chorus_list_is_refused_in_french(submitted: str) -> None:
    with pytest.raises(ValueError, match="Choisissez un type dans la liste de Chorus Pro"):
        listed(*TYPES).check_default(submitted)


def test_without_the_list_no_default_can_be_chosen_but_the_stored_one_is_kept() -> None:
    with pytest.raises(ValueError):
        AttachmentTypes.unset().check_default("AUT")
    kept = AttachmentTypes("AUT", ReferenceList("attachment_types"))
    assert kept.check_default("AUT") == "AUT"
    assert ("AUT", "AUT (actuel)") in kept.choices()


def test_the_choices_are_none_then_chorus_types_and_a_stale_default_is_marked() -> None:
    assert listed(*TYPES).choices() == [
        ("", "— Aucun type par défaut —"),
        ("AUT", "AUT — Autre"),
        ("BDC", "BDC — Bon de commande"),
    ]
    stale = listed(*TYPES, default="OLD")
    assert stale.choices()[-1] == ("OLD", "OLD (absent de la liste de Chorus Pro)")
    assert stale.usable_default is None
    assert "n'est plus dans la liste de Chorus Pro" in (stale.problem or "")


def test_the_problem_says_what_the_administrator_must_do() -> None:
    assert "n'a pas encore été lue" in (AttachmentTypes.unset().problem or "")
    assert "choisi à la main" in (listed(*TYPES).problem or "")
    assert listed(*TYPES, default="AUT").problem is None


# -- the type of each attachment (send screen) ----------------------------------------------------


def test_each_attachment_takes_its_posted_type_else_the_default() -> None:
    types = listed(*TYPES, default="AUT")
    chosen, errors = types.choose([1, 2, 3], {1: "BDC", 2: "", 3: None})
    assert chosen == {1: "BDC", 2: "AUT", 3: "AUT"}
    assert errors == {}


def test_without_a_default_every_attachment_needs_its_type() -> None:
    chosen, errors = listed(*TYPES).choose([1, 2], {1: "BDC"})
    assert chosen == {1: "BDC"}
    assert errors == {2: CHOOSE_A_TYPE}


@pytest.mark.parametrize("forged", ["AUTRE", "bdc", "X" * 10_000, "<b>AUT</b>"])
def test_a_forged_type_is_refused_with_a_short_french_message(forged: str) -> None:
    _chosen, errors = listed(*TYPES, default="AUT").choose([7], {7: forged})
    assert "n'est pas dans la liste de Chorus Pro" in errors[7]
    assert len(errors[7]) < 150


def test_without_the_list_no_attachment_can_get_a_type() -> None:
    stored_default = AttachmentTypes("AUT", ReferenceList("attachment_types"))
    chosen, errors = stored_default.choose([1], {1: "AUT"})
    assert chosen == {}
    assert errors == {1: LIST_NOT_LOADED}


# -- the Système tab ------------------------------------------------------------------------------


def test_the_system_tab_offers_chorus_types_and_saves_the_default(as_admin: FlaskClient) -> None:
    _enable_chorus_with_the_list()
    html = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert "Type de pièce jointe complémentaire par défaut" in html
    assert '<option value="BDC">BDC — Bon de commande</option>' in html
    assert "Choisir parmi les types de Chorus Pro" in html

    assert post_system_form(as_admin, default_attachment_type="BDC").status_code == 303
    db.session.expire_all()
    assert chorus.load().default_attachment_type == "BDC"
    assert attachment_types.current().usable_default == "BDC"
    page = as_admin.get(SYSTEM_URL).get_data(as_text=True)
    assert '<option selected value="BDC">' in page


def test_the_server_refuses_a_default_outside_the_list_next_to_the_field(
    as_admin: FlaskClient,
) -> None:
    _enable_chorus_with_the_list()
    response = post_system_form(as_admin, default_attachment_type="AUTRE")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert CHOOSE_FROM_LIST in html
    field = html.split('id="default_attachment_type"', 1)[1].split("</select>", 1)[1]
    assert field.lstrip().startswith(f'<div class="invalid-feedback d-block">{CHOOSE_FROM_LIST}')
    db.session.expire_all()
    assert store.get(chorus.DEFAULT_ATTACHMENT_TYPE) is None


def test_a_list_read_from_another_environment_offers_nothing(as_admin: FlaskClient) -> None:
    store.put_bool(chorus.CHORUS_ENABLED, True)
    reference_lists.save(reference_lists.ATTACHMENT_TYPES, TYPES, api_url="https://autre.test")
    db.session.commit()
    html = unescape(as_admin.get(SYSTEM_URL).get_data(as_text=True))
    assert "BDC — Bon de commande" not in html
    assert "n'a pas encore été lue pour cet environnement" in html
    assert post_system_form(as_admin, default_attachment_type="BDC").status_code == 422
