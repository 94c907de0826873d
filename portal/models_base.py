"""Mixins shared by the document models (receipts and fee invoices)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portal.db_types import AwareDateTime, EnumText

# Primary keys are 32-bit integers on PostgreSQL: an id from a request beyond this is no row.
MAX_ROW_ID = 2**31 - 1


class ChorusState(enum.StrEnum):
    """Where a document stands with Chorus Pro (the portal's side, not Chorus's status)."""

    NOT_SENT = "not_sent"
    IN_PROGRESS = "in_progress"
    SENT = "sent"


class ChorusTracked:
    """Chorus columns carried by every dematerializable document."""

    @declared_attr
    def chorus_state(cls) -> Mapped[ChorusState]:
        return mapped_column(EnumText(ChorusState, 20), default=ChorusState.NOT_SENT, index=True)

    @declared_attr
    def chorus_invoice_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, index=True)

    @declared_attr
    def chorus_status(cls) -> Mapped[str | None]:
        return mapped_column(String(60), index=True)

    @declared_attr
    def chorus_deposited_at(cls) -> Mapped[datetime | None]:
        return mapped_column(AwareDateTime)

    @declared_attr
    def chorus_status_checked_at(cls) -> Mapped[datetime | None]:
        return mapped_column(AwareDateTime)

    @property
    def is_chorus_sent(self) -> bool:
        return self.chorus_state == ChorusState.SENT


class StoredPdf:
    """A PDF kept on disk under the instance folder, referenced by generated name + digest."""

    @declared_attr
    def pdf_stored_name(cls) -> Mapped[str | None]:
        return mapped_column(String(80))

    @declared_attr
    def pdf_sha256(cls) -> Mapped[str | None]:
        return mapped_column(String(64))

    @declared_attr
    def pdf_size(cls) -> Mapped[int | None]:
        return mapped_column()

    @declared_attr
    def pdf_source(cls) -> Mapped[str | None]:
        """``generated`` or ``uploaded``."""
        return mapped_column(String(20))

    @property
    def has_pdf(self) -> bool:
        return self.pdf_stored_name is not None
