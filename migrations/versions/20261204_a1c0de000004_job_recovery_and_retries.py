"""Jobs: owner heartbeat for continuous recovery, transient retries of items

Revision ID: a1c0de000004
Revises: a1c0de000003
Create Date: 2026-12-04 18:40:00

"""
from alembic import op
import sqlalchemy as sa

from portal.db_types import AwareDateTime


# revision identifiers, used by Alembic.
revision = 'a1c0de000004'
down_revision = 'a1c0de000003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('resumed_count', sa.Integer(), server_default='0', nullable=False)
        )
    with op.batch_alter_table('job_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('tries', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('job_items', schema=None) as batch_op:
        batch_op.drop_column('tries')
        batch_op.drop_column('retry_at')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('resumed_count')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('owner')
