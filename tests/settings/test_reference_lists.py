"""Chorus reference lists are stored per API, replaced on refresh, and never guessed."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.extensions import db
from portal.settings import reference_lists, store

API = "https://sandbox-api.piste.gouv.fr"


def test_a_list_never_fetched_is_empty_and_unknown(app: Flask) -> None:
    stored = reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=API)
    assert not stored.is_known
    assert stored.items == ()
    assert "FACTURE" not in stored


def test_a_saved_list_is_read_back_with_its_labels_in_order(app: Flask) -> None:
    reference_lists.save(
        reference_lists.VAT_EXEMPTION_REASONS,
        [("B", "Deuxième"), (" A ", " Premier "), ("B", "doublon"), ("", "vide")],
        api_url=API,
    )
    db.session.commit()
    stored = reference_lists.load(reference_lists.VAT_EXEMPTION_REASONS, api_url=API)
    assert stored.is_known
    assert [item.code for item in stored.items] == ["B", "A"]
    assert stored.label_of("A") == "Premier"
    assert "A" in stored and "C" not in stored
    assert stored.items[0].text == "B — Deuxième"


def test_a_list_read_from_another_environment_counts_as_never_fetched(app: Flask) -> None:
    reference_lists.save(reference_lists.ATTACHMENT_TYPES, [("X", None)], api_url=API)
    db.session.commit()
    other = reference_lists.load(
        reference_lists.ATTACHMENT_TYPES, api_url="https://api.piste.gouv.fr"
    )
    assert not other.is_known


def test_an_unreadable_stored_copy_counts_as_never_fetched(app: Flask) -> None:
    store.put("chorus.list.attachment_types", "{pas du json")
    db.session.commit()
    assert not reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=API).is_known


def test_an_unknown_list_name_is_a_programming_error(app: Flask) -> None:
    with pytest.raises(ValueError):
        reference_lists.load("nope", api_url=API)
