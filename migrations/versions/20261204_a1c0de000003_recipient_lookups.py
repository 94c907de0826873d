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


def upgrade():
    pass


def downgrade():
    pass
