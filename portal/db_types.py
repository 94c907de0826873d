"""Column types shared by every model: money as integer cents, aware datetimes, enums."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, String, event
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str | float) -> Decimal:
    """Round any amount to the cent (half up, as French accounting does)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class Money(TypeDecorator[Decimal]):
    """A euro amount exposed as ``Decimal`` and stored as integer cents.

    Integer cents are exact on every database (SQLite has no decimal type) and sums stay exact.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime, stored in UTC; SQLite returns naive values, fixed here."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use portal.clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=enum.Enum)


class EnumText(TypeDecorator[E]):
    """A column holding one of a closed set of values, exposed as its enum member.

    Stored as the member's ``.value`` in a plain ``VARCHAR(length)`` (no database enum, no
    check constraint): the schema is that of a string column. Members and their values are
    both accepted when writing or comparing; a value outside the enum is refused either way.
    A value assigned to the attribute (a form field's data) becomes its member at once.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    @property
    def python_type(self) -> type[E]:
        return self.enum_class

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: Any, dialect: Any) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)


@event.listens_for(Mapper, "mapper_configured")
def _assign_members(mapper: Mapper[Any], class_: type) -> None:
    """Turn a value assigned to an ``EnumText`` attribute into its member, as loading does."""
    for prop in mapper.column_attrs:
        column_type = prop.columns[0].type
        if isinstance(column_type, EnumText):
            event.listen(
                prop.class_attribute, "set", _to_member(column_type.enum_class), retval=True
            )


def _to_member(enum_class: type[enum.Enum]) -> Callable[[Any, Any, Any, Any], Any]:
    def to_member(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        return None if value is None else enum_class(value)

    return to_member
