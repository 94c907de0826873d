"""Document numbers: credit-note originals of fee invoices, re-issue under a new number

Revision ID: a1c0de000002
Revises: a1c0de000001
Create Date: 2026-12-04 16:10:01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de000002'
down_revision = 'a1c0de000001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
