"""VAT exemption reason becomes a Chorus code: free-text values are cleared

Revision ID: a1c0de000001
Revises: 5e04ea32a798
Create Date: 2026-12-04 16:10:00

``chorus.vat_exemption_reason`` held free text (there was never a list of codes to choose
from), so no stored value can be trusted as a code: it is removed, and kept aside in
``chorus.vat_exemption_cleared_text`` for the Système tab to tell the administrator what was
cleared until a code of Chorus's list is chosen (``chorus.vat_exemption_code`` / ``_label``).
Data only: no schema change.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from portal.db_types import AwareDateTime


# revision identifiers, used by Alembic.
revision = 'a1c0de000001'
down_revision = '5e04ea32a798'
branch_labels = None
depends_on = None

FREE_TEXT = "chorus.vat_exemption_reason"
CLEARED_TEXT = "chorus.vat_exemption_cleared_text"
CODE = "chorus.vat_exemption_code"
LABEL = "chorus.vat_exemption_label"
MAX_CLEARED_LENGTH = 500

settings = sa.table(
    "settings",
    sa.column("key", sa.String),
    sa.column("value", sa.Text),
    sa.column("updated_at", AwareDateTime()),
)


def _value(connection, key):
    value = connection.execute(
        sa.select(settings.c.value).where(settings.c.key == key)
    ).scalar_one_or_none()
    return (value or "").strip()


def _replace(connection, keys, new=None):
    connection.execute(settings.delete().where(settings.c.key.in_(keys)))
    if new is not None:
        key, value = new
        connection.execute(
            settings.insert().values(key=key, value=value, updated_at=datetime.now(UTC))
        )


def upgrade():
    connection = op.get_bind()
    free_text = _value(connection, FREE_TEXT)
    cleared = (CLEARED_TEXT, free_text[:MAX_CLEARED_LENGTH]) if free_text else None
    _replace(connection, [FREE_TEXT, CLEARED_TEXT], cleared)


def downgrade():
    # The old code sends its setting as the reason: the chosen code, else the cleared text.
    connection = op.get_bind()
    previous = _value(connection, CODE) or _value(connection, CLEARED_TEXT)
    _replace(
        connection,
        [FREE_TEXT, CLEARED_TEXT, CODE, LABEL],
        (FREE_TEXT, previous) if previous else None,
    )
