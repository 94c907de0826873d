"""Attachment budget of one invoice (S10): checked live on screen and again before sending."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.chorus.limits import (
    ALLOWED_EXTENSIONS,
    MAX_FILE_BYTES,
    MAX_NAME_LENGTH,
    MAX_TOTAL_BYTES,
    extension_of,
)
from portal.chorus.payload import chorus_file_name
from portal.formatting import fr_size


@dataclass(frozen=True)
class Candidate:
    """A file considered for the invoice: the main PDF or a GED document."""

    key: str
    name: str
    size: int
    is_main: bool = False


@dataclass(frozen=True)
class CandidateCheck:
    candidate: Candidate
    chorus_name: str
    problems: tuple[str, ...]

    @property
    def renamed(self) -> bool:
        return self.chorus_name != self.candidate.name


@dataclass(frozen=True)
class Budget:
    checks: tuple[CandidateCheck, ...]
    total_size: int
    problems: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.checks)

    @property
    def is_valid(self) -> bool:
        return not self.problems and not any(check.problems for check in self.checks)

    @property
    def total_percent(self) -> int:
        return min(100, round(100 * self.total_size / MAX_TOTAL_BYTES))


def check_candidate(candidate: Candidate) -> CandidateCheck:
    """Every problem of one file, in French. Long names are shortened, not refused."""
    problems = []
    if candidate.size <= 0:
        problems.append("fichier vide")
    if candidate.size > MAX_FILE_BYTES:
        limit = fr_size(MAX_FILE_BYTES)
        problems.append(f"{fr_size(candidate.size)} : dépasse la limite de {limit} par fichier")
    extension = extension_of(candidate.name)
    if extension not in ALLOWED_EXTENSIONS:
        shown = f"« .{extension} »" if extension else "sans extension"
        problems.append(f"type de fichier {shown} refusé par Chorus Pro")
    return CandidateCheck(candidate, chorus_file_name(candidate.name), tuple(problems))


def budget(main: Candidate, secondary: Sequence[Candidate]) -> Budget:
    """The whole invoice: each file, the total against 120 MB, and duplicate names."""
    checks = tuple(check_candidate(c) for c in (main, *secondary))
    total = sum(c.size for c in (main, *secondary))
    problems = []
    if total > MAX_TOTAL_BYTES:
        problems.append(
            f"Taille totale {fr_size(total)} : dépasse la limite de {fr_size(MAX_TOTAL_BYTES)} "
            "par facture."
        )
    names = [check.chorus_name for check in checks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append("Plusieurs pièces porteraient le même nom : " + ", ".join(duplicates))
    return Budget(checks, total, tuple(problems))


__all__ = ["MAX_FILE_BYTES", "MAX_NAME_LENGTH", "MAX_TOTAL_BYTES", "Budget", "Candidate", "budget"]
