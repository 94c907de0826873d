"""JSON text for Chorus Pro request bodies, with amounts written exactly.

The standard encoder cannot write a ``Decimal`` as a number: amounts would become floats
(``1090.0``) or strings. Chorus expects numbers with two decimals (``1090.00``), so bodies are
serialized here, ``Decimal`` as its fixed-point text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text of ``value`` (compact, or indented for reading); ``Decimal`` stays exact."""
    parts: list[str] = []
    _write(value, parts, indent, 0)
    return "".join(parts)


def _write(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value is None or isinstance(value, bool | int | float | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite amount")
        out.append(format(value, "f"))
    elif isinstance(value, Mapping):
        items = list(value.items())
        for key, _ in items:
            if not isinstance(key, str):
                raise TypeError(f"JSON keys must be strings, not {type(key).__name__}")
        _container(
            "{", "}", items, out, indent, level, lambda pair, lvl: _pair(pair, out, indent, lvl)
        )
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        _container(
            "[",
            "]",
            list(value),
            out,
            indent,
            level,
            lambda item, lvl: _write(item, out, indent, lvl),
        )
    else:
        raise TypeError(f"cannot serialize {type(value).__name__} to JSON")


def _pair(pair: tuple[str, Any], out: list[str], indent: int | None, level: int) -> None:
    out.append(json.dumps(pair[0], ensure_ascii=False))
    out.append(": " if indent is not None else ":")
    _write(pair[1], out, indent, level)


def _container(
    opening: str,
    closing: str,
    items: list[Any],
    out: list[str],
    indent: int | None,
    level: int,
    write_item: Callable[[Any, int], None],
) -> None:
    out.append(opening)
    if not items:
        out.append(closing)
        return
    inner = "\n" + " " * (indent * (level + 1)) if indent is not None else ""
    for index, item in enumerate(items):
        if index:
            out.append(",")
        out.append(inner)
        write_item(item, level + 1)
    if indent is not None:
        out.append("\n" + " " * (indent * level))
    out.append(closing)
