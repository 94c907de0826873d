"""Stored settings (key/value, secrets encrypted) and recipient lists (S5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.clock import utcnow
from portal.db_types import AwareDateTime
from portal.extensions import db


class Setting(db.Model):  # type: ignore[name-defined,misc]
    """One setting value; secrets hold a Fernet token, never the plain text."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, onupdate=utcnow)


class RecipientListMember(db.Model):  # type: ignore[name-defined,misc]
    """Membership of a user in a named recipient list (``chorus_admins``)."""

    __tablename__ = "recipient_list_members"
    __table_args__ = (UniqueConstraint("list_key", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_key: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)

    user: Mapped[User] = relationship()
