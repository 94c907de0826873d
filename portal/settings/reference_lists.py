"""Reference lists fetched from Chorus Pro, kept in the database (one home for all of them).

Chorus Pro decides which codes some fields accept (VAT exemption reasons, attachment types):
the portal never guesses them. Screens and server-side validations read the stored copy; a
refresh (a « Choisir parmi … » lookup, the connection test, the go-live checklist) replaces
it. A copy belongs to the API it was read from: after switching environment (emulator,
qualification, production) it counts as never fetched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from portal.clock import utcnow
from portal.settings import store

VAT_EXEMPTION_REASONS = "vat_exemption_reasons"
ATTACHMENT_TYPES = "attachment_types"
NAMES = frozenset({VAT_EXEMPTION_REASONS, ATTACHMENT_TYPES})

_KEY_PREFIX = "chorus.list."
MAX_CODE_LENGTH = 100  # longer posted values are refused before any comparison


@dataclass(frozen=True)
class ReferenceItem:
    """One accepted code and Chorus's label for it."""

    code: str
    label: str | None = None

    @property
    def text(self) -> str:
        """« CODE — label » for choice lists."""
        return f"{self.code} — {self.label}" if self.label else self.code


@dataclass(frozen=True)
class ReferenceList:
    """A stored copy of one Chorus list (empty and undated when never fetched)."""

    name: str
    items: tuple[ReferenceItem, ...] = ()
    fetched_at: datetime | None = None

    @property
    def is_known(self) -> bool:
        return self.fetched_at is not None

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(item.code for item in self.items)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def label_of(self, code: str | None) -> str | None:
        """Chorus's label of ``code``, when the list has it."""
        return next((item.label for item in self.items if item.code == code), None)

    def choices(
        self, none_chosen: str, *, stored: str | None, stored_text: str | None = None
    ) -> list[tuple[str, str]]:
        """A choice list: ``none_chosen``, then the list's codes, then the ``stored`` code
        (shown as ``stored_text``) when the list lacks it, so saving other settings keeps it."""
        choices = [("", none_chosen)]
        choices += [(item.code, item.text) for item in self.items]
        if stored is not None and stored not in self:
            note = "absent de la liste de Chorus Pro" if self.is_known else "actuel"
            choices.append((stored, f"{stored_text or stored} ({note})"))
        return choices

    def check_choice(self, raw: str | None, *, stored: str | None, refusal: str) -> str | None:
        """Pure: the code to store for a submitted choice (None: none chosen);
        ``ValueError(refusal)`` for anything that is neither listed nor the ``stored`` code."""
        code = (raw or "").strip()
        if not code:
            return None
        if len(code) <= MAX_CODE_LENGTH and (code in self or code == stored):
            return code
        raise ValueError(refusal)


def load(name: str, *, api_url: str) -> ReferenceList:
    """The copy of list ``name`` read from ``api_url`` (empty when there is none)."""
    _check_name(name)
    raw = store.get(_KEY_PREFIX + name)
    if raw is None:
        return ReferenceList(name)
    try:
        data = json.loads(raw)
        if data.get("api_url") != api_url:
            return ReferenceList(name)
        items = tuple(
            ReferenceItem(str(code), str(label) if label else None) for code, label in data["items"]
        )
        fetched_at = datetime.fromisoformat(data["fetched_at"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return ReferenceList(name)  # an unreadable copy is as good as none: fetch again
    return ReferenceList(name, items, fetched_at)


def save(name: str, items: Iterable[tuple[str, str | None]], *, api_url: str) -> ReferenceList:
    """Replace the stored copy of list ``name`` (codes deduplicated, order kept); no commit."""
    _check_name(name)
    unique: dict[str, str | None] = {}
    for code, label in items:
        code = code.strip()
        if code and code not in unique:
            unique[code] = (label or "").strip() or None
    fetched_at = utcnow()
    payload = {
        "api_url": api_url,
        "fetched_at": fetched_at.isoformat(),
        "items": [[code, label] for code, label in unique.items()],
    }
    store.put(_KEY_PREFIX + name, json.dumps(payload, ensure_ascii=False))
    return ReferenceList(
        name, tuple(ReferenceItem(code, label) for code, label in unique.items()), fetched_at
    )


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown reference list {name!r}")
