"""Task executions: who started a run by hand (B9)

Revision ID: a1c0de000005
Revises: a1c0de000004
Create Date: 2026-12-04 18:41:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de000005'
down_revision = 'a1c0de000004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task_executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_task_executions_started_by_id_users', 'users', ['started_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('task_executions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_task_executions_started_by_id_users', type_='foreignkey')
        batch_op.drop_column('started_by_id')
