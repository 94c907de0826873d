"""Searching text as a French user types it: case and accents do not matter.

« macon » finds « Mâcon », « ECOLE » finds « École », « oeuvre » finds « Œuvre ». Neither
SQLite nor PostgreSQL (without an extension) compares text that way, so searchable rows keep
a folded copy of their words (e.g. ``Client.search_key``) and what is typed is folded the
same way.
"""

from __future__ import annotations

import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def fold(text: str | None) -> str:
    """Lower case, without accents or ligatures, with single spaces: what searches compare."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    # Control characters (NUL included, which PostgreSQL refuses in text) separate words.
    bare = "".join(
        " " if unicodedata.category(char) == "Cc" else char
        for char in decomposed
        if not unicodedata.combining(char)
    )
    return " ".join(bare.casefold().translate(_LIGATURES).split())


def search_key(*words: str | None) -> str:
    """The folded words of a row, as stored for searching."""
    return " | ".join(fold(word) for word in words if word)
