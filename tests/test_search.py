"""Searching as a French user types: case and accents do not matter."""

from __future__ import annotations

import pytest

from portal.search import fold, search_key


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Mâcon", "macon"),
        ("ÉCOLE  maternelle ", "ecole maternelle"),
        ("Œuvre sociale", "oeuvre sociale"),
        ("Cæcum", "caecum"),
        ("Straße", "strasse"),
        ("l'Haÿ-les-Roses", "l'hay-les-roses"),
        ("Mai\x00rie\tde\nSèvres", "mai rie de sevres"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold(typed: str | None, folded: str) -> None:
    assert fold(typed) == folded


def test_a_search_key_keeps_each_word_group_apart() -> None:
    assert search_key("Mairie de Sèvres", "SÈVRES") == "mairie de sevres | sevres"
    assert search_key("Client sans ville", "") == "client sans ville"
