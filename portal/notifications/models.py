"""In-app notifications and the files (CSV reports) attached to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.db_types import AwareDateTime
from portal.extensions import db


class StoredReport(db.Model):  # type: ignore[name-defined,misc]
    """A generated file (CSV report) kept under ``instance/reports``."""

    __tablename__ = "stored_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(160))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    mime_type: Mapped[str] = mapped_column(String(80), default="text/csv")
    size_bytes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class Notification(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(20), default="info")  # info/success/warning/danger
    link_url: Mapped[str | None] = mapped_column(String(300))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("stored_reports.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(AwareDateTime)

    report: Mapped[StoredReport | None] = relationship()

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
