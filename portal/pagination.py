"""Page arithmetic shared by every paginated list."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# No list has this many pages: a larger number asked for is brought down to it.
MAX_PAGE = 1_000_000
_DIGITS = re.compile(r"[0-9]+")


def requested_page(raw: object) -> int:
    """The page a request asks for (``?page=``): 1 unless ASCII digits, at most ``MAX_PAGE``.

    Never a database error: the offset stays small enough for every database, and a list
    brings a page past its end back to its last page (``clamp``).
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text):
        return 1
    if len(text) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(max(int(text), 1), MAX_PAGE)


def page_count(total: int, size: int) -> int:
    """Number of pages for ``total`` rows (at least one, so an empty list has a page)."""
    return max(math.ceil(total / size), 1)


def clamp(page: int, pages: int) -> int:
    """A requested page brought within 1..pages (past the end shows the last page)."""
    return min(max(page, 1), pages)


class PageNumbers:
    """Previous/next for anything with ``page`` and ``pages``."""

    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class Page(PageNumbers, Generic[T]):
    """One page of rows with its position in the whole list."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:  # type: ignore[override]
        return page_count(self.total, self.size)

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.size + len(self.items)

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: first, last and ``around`` each side; None marks a gap."""
        shown = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        out: list[int | None] = []
        for number in numbers:
            if out and number - (out[-1] or 0) > 1:
                out.append(None)
            out.append(number)
        return out
