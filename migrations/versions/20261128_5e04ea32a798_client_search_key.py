"""client search key: name and city folded for accent- and case-insensitive search

Revision ID: 5e04ea32a798
Revises: 3365cd58b929
Create Date: 2026-11-28 03:26:21.848256

"""
from alembic import op
import sqlalchemy as sa

from portal.search import search_key


# revision identifiers, used by Alembic.
revision = '5e04ea32a798'
down_revision = '3365cd58b929'
branch_labels = None
depends_on = None

clients = sa.table(
    "clients",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("city", sa.String),
    sa.column("search_key", sa.Text),
)


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.Text(), nullable=False, server_default=""))
    connection = op.get_bind()
    rows = connection.execute(sa.select(clients.c.id, clients.c.name, clients.c.city)).all()
    if rows:
        connection.execute(
            clients.update().where(clients.c.id == sa.bindparam("client")),
            [{"client": id_, "search_key": search_key(name, city)} for id_, name, city in rows],
        )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.alter_column('search_key', server_default=None)


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('search_key')
