"""The follow-up's pure rules (B1): final statuses, labels and tones, the history merge.

No database, no Flask: what Chorus Pro says of a document is compared with what is stored,
and the official status table (``portal/chorus/statuses.py``) says when reading stops.
``queries.not_final_condition`` is the SQL twin of ``is_final``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from portal.chorus import statuses
from portal.chorus.results import StatusEntry
from portal.chorus.statuses import PAID_STATUS, REJECTED_STATUS, RETURNED_STATUSES

# Final everywhere (paid, rejected, abandoned, deleted…) / only for a structure that never
# reports payment (MANDATEE is then its last news): the official table, portal/chorus/statuses.py.
ALWAYS_FINAL = statuses.FINAL_STATUSES
MANDATED_OR_LATER = statuses.FINAL_IF_PAYMENT_NOT_REPORTED

# What the notification title says of a returned document.
RETURNED_VERBS = {"REJETEE": "rejetée", "SUSPENDUE": "suspendue", "A_RECYCLER": "à recycler"}


def is_final(status: str | None, payment_not_reported: bool) -> bool:
    """Will Chorus Pro never report another status for this document?

    Final statuses (``MISE_EN_PAIEMENT``, ``REJETEE``, ``ABANDONNEE``, ``SUPPRIMEE``…) are
    final everywhere; ``MANDATEE`` (and the accounting steps after it) only for structures
    that never report payment. An unknown or missing status is not final: it is read again.
    """
    return statuses.is_final(status, payment_not_reported)


def status_label(status: str | None) -> str:
    """French label of a Chorus status; unknown codes are shown exactly as they come."""
    return statuses.label(status)


def is_unknown_status(status: str | None) -> bool:
    """A status Chorus sent that is not in the official list (shown with a warning)."""
    return bool(status) and not statuses.is_known(status)


def status_tone(status: str | None) -> str:
    """Bootstrap colour of a status badge."""
    if status == PAID_STATUS:
        return "success"
    if status == REJECTED_STATUS:
        return "danger"
    if status in RETURNED_STATUSES or is_unknown_status(status):
        return "warning"
    if status in ALWAYS_FINAL:
        return "dark"  # abandoned, deleted, refused in a validation circuit…
    if status in MANDATED_OR_LATER:
        return "primary"
    return "info" if status else "secondary"


def returned_verb(status: str) -> str:
    """How the notification title says a document came back (« rejetée », « suspendue »…)."""
    return RETURNED_VERBS.get(status, status_label(status).lower())


@dataclass(frozen=True)
class KnownEvent:
    """A history row already stored for the document."""

    id: int
    code: str
    changed_at: datetime
    comment: str | None


@dataclass(frozen=True)
class HistoryMerge:
    """What to change so the stored history equals Chorus's."""

    inserts: tuple[StatusEntry, ...] = ()
    updates: tuple[tuple[int, StatusEntry], ...] = ()


def merge_history(
    known: Sequence[KnownEvent], entries: Iterable[StatusEntry], *, default_time: datetime
) -> HistoryMerge:
    """Pair Chorus's history entries with the stored rows; the rest is new.

    An entry matches a row with the same code and instant (its comment is refreshed if it
    changed). An entry without instant matches any row of its code, or is new at
    ``default_time``. The row the send recorded itself (``DEPOSEE`` at the portal's clock)
    has no twin in Chorus: an unmatched row of the same code takes the entry's instant
    instead of leaving a duplicate. Never for a returned status: each new occurrence of
    ``REJETEE``/``SUSPENDUE``/``A_RECYCLER`` must be a new row, since its insertion is what
    notifies (once).
    """
    entries = [e for e in entries if e.code]
    matched_rows: set[int] = set()
    unmatched: list[StatusEntry] = []
    updates: list[tuple[int, StatusEntry]] = []
    for entry in entries:
        row = next(
            (
                r
                for r in known
                if r.id not in matched_rows
                and r.code == entry.code
                and (entry.passed_at is None or r.changed_at == entry.passed_at)
            ),
            None,
        )
        if row is None:
            unmatched.append(entry)
            continue
        matched_rows.add(row.id)
        if entry.comment and entry.comment != row.comment:
            updates.append((row.id, StatusEntry(row.code, row.changed_at, entry.comment)))
    inserts: list[StatusEntry] = []
    for entry in unmatched:
        spare = None
        if entry.code not in RETURNED_STATUSES:
            spare = next(
                (r for r in known if r.id not in matched_rows and r.code == entry.code), None
            )
        if spare is not None:
            matched_rows.add(spare.id)
            updates.append((spare.id, entry))
        else:
            inserts.append(StatusEntry(entry.code, entry.passed_at or default_time, entry.comment))
    return HistoryMerge(tuple(inserts), tuple(updates))
