"""Recipient lookups: services consulted one by one, only when a contract uses them

Revision ID: a1c0de000003
Revises: a1c0de000002
Create Date: 2026-12-04 16:10:02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de000003'
down_revision = 'a1c0de000002'
branch_labels = None
depends_on = None


recipient_services = sa.table(
    "recipient_services",
    sa.column("code", sa.String),
    sa.column("is_active", sa.Boolean),
    sa.column("engagement_required", sa.Boolean),
)


def upgrade():
    # NULL = not consulted. Services were consulted only when active and not the
    # public-to-public default: the others' stored False meant "never asked".
    with op.batch_alter_table('recipient_services', schema=None) as batch_op:
        batch_op.alter_column('engagement_required', existing_type=sa.Boolean(), nullable=True)
    op.execute(
        recipient_services.update()
        .where(
            sa.or_(
                recipient_services.c.is_active.is_not(True),
                recipient_services.c.code == "FACTURES_PUBLIQUES",
            )
        )
        .values(engagement_required=None)
    )


def downgrade():
    op.execute(
        recipient_services.update()
        .where(recipient_services.c.engagement_required.is_(None))
        .values(engagement_required=False)
    )
    with op.batch_alter_table('recipient_services', schema=None) as batch_op:
        batch_op.alter_column('engagement_required', existing_type=sa.Boolean(), nullable=False)
