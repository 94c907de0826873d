"""Secondary attachment types chosen from Chorus's list

Revision ID: a1c0de000004
Revises: a1c0de000003
Create Date: 2026-12-04 16:10:03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de000004'
down_revision = 'a1c0de000003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
