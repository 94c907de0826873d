"""CSV files that French Excel opens correctly, and that cannot run formulas.

- UTF-8 with a BOM (Excel otherwise reads Windows-1252), ``;`` separator (the French list
  separator), CRLF line ends;
- dates ``31/12/2021``, datetimes ``31/12/2021 19:00`` in Europe/Paris, decimals ``1234,56``
  (no thousands separator, so Excel reads a number), ``None`` empty, booleans Oui / Non;
- formula injection (CWE-1236): a *text* cell starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return gets a leading ``'`` so a spreadsheet shows it as text. Numbers
  (``Decimal``, ``int``, ``float``) are never touched: ``-12,50`` stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from portal.clock import PARIS

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def format_cell(value: object) -> str:
    """One value as the text of a French CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, Decimal):
        return _number(format(value, "f"))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(format(Decimal(repr(value)), "f"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime refused in a CSV export: use portal.clock")
        return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return neutralize(str(value))


def _number(text: str) -> str:
    return text.replace(".", ",")


def neutralize(text: str) -> str:
    """Text a spreadsheet will not take for a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def write_csv(header: list[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The whole file: header then rows, formatted and neutralized as described above."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([format_cell(title) for title in header])
    for row in rows:
        writer.writerow([format_cell(value) for value in row])
    return (BOM + buffer.getvalue()).encode("utf-8")
