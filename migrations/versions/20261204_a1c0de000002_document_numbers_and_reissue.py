"""Document numbers: credit-note originals of fee invoices, re-issue under a new number

Revision ID: a1c0de000002
Revises: a1c0de000001
Create Date: 2026-12-04 16:10:01

- ``number_key`` (``lower(number)``, computed by the database) on receipts and fee invoices,
  unique per table: numbers are unique whatever their case (one supplier numbering space in
  Chorus Pro). The rule across the two tables lives in the billing services.
- ``replaced_by_id`` on both tables (re-issue after a Chorus REJETEE), unique: one copy per
  original.
- ``original_fee_invoice_id``: the invoice a fee-invoice credit note cancels (B10).

Existing numbers equal but for their case, in one table, would make the unique key fail:
the migration keeps the number of the document Chorus already knows (sent or in progress),
else of the oldest, and renames the others ``<number>#<id>`` (cut to 40 characters). ``#``
is not a character Chorus Pro takes, so each renamed document shows the reason
« numéro refusé par Chorus Pro » until someone gives it a proper number; nothing else
changes. Numbers shared by a receipt and a fee invoice are left as they are (no database
rule spans two tables): saving either document asks for another number.
"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de000002'
down_revision = 'a1c0de000001'
branch_labels = None
depends_on = None

NUMBER_LENGTH = 40
TABLES = ("receipts", "fee_invoices")


def _table(name):
    return sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("number", sa.String),
        sa.column("chorus_state", sa.String),
    )


def _renamed(number, row_id, taken):
    """``number#id`` within 40 characters, lower-case unique among ``taken``."""
    suffix = f"#{row_id}"
    while True:
        candidate = number[: NUMBER_LENGTH - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        suffix = "#" + suffix


def _rename_case_duplicates(connection, name):
    table = _table(name)
    key = sa.func.lower(table.c.number)
    duplicated = (
        sa.select(key).group_by(key).having(sa.func.count() > 1).scalar_subquery()
    )
    rows = connection.execute(
        sa.select(table.c.id, table.c.number, table.c.chorus_state, key.label("key"))
        .where(key.in_(duplicated))
        .order_by(table.c.id)
    ).all()
    if not rows:
        return
    taken = {
        value.lower() for value in connection.execute(sa.select(table.c.number)).scalars()
    }
    groups = defaultdict(list)
    for row in rows:
        groups[row.key].append(row)
    for group in groups.values():
        # Keep the one Chorus knows (sent or being sent), else the oldest.
        group.sort(key=lambda row: (row.chorus_state == "not_sent", row.id))
        for row in group[1:]:
            new_number = _renamed(row.number, row.id, taken)
            taken.add(new_number.lower())
            connection.execute(
                table.update().where(table.c.id == row.id).values(number=new_number)
            )


def _recreate():
    """SQLite cannot add a computed column with ALTER TABLE: copy the table there."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade():
    connection = op.get_bind()
    for name in TABLES:
        _rename_case_duplicates(connection, name)

    with op.batch_alter_table('receipts', schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(
            sa.Column(
                'number_key',
                sa.String(length=40),
                sa.Computed('lower(number)'),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column('replaced_by_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_receipts_number_key'), ['number_key']
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_receipts_replaced_by_id'), ['replaced_by_id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_receipts_replaced_by_id_receipts'),
            'receipts',
            ['replaced_by_id'],
            ['id'],
        )

    with op.batch_alter_table('fee_invoices', schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(
            sa.Column(
                'number_key',
                sa.String(length=40),
                sa.Computed('lower(number)'),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column('original_fee_invoice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('replaced_by_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_fee_invoices_number_key'), ['number_key']
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_fee_invoices_replaced_by_id'), ['replaced_by_id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_fee_invoices_original_fee_invoice_id_fee_invoices'),
            'fee_invoices',
            ['original_fee_invoice_id'],
            ['id'],
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_fee_invoices_replaced_by_id_fee_invoices'),
            'fee_invoices',
            ['replaced_by_id'],
            ['id'],
        )


def downgrade():
    # Numbers renamed by the upgrade keep their new value.
    with op.batch_alter_table('fee_invoices', schema=None, recreate=_recreate()) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_fee_invoices_replaced_by_id_fee_invoices'), type_='foreignkey'
        )
        batch_op.drop_constraint(
            batch_op.f('fk_fee_invoices_original_fee_invoice_id_fee_invoices'),
            type_='foreignkey',
        )
        batch_op.drop_constraint(batch_op.f('uq_fee_invoices_replaced_by_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_fee_invoices_number_key'), type_='unique')
        batch_op.drop_column('replaced_by_id')
        batch_op.drop_column('original_fee_invoice_id')
        batch_op.drop_column('number_key')

    with op.batch_alter_table('receipts', schema=None, recreate=_recreate()) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_receipts_replaced_by_id_receipts'), type_='foreignkey'
        )
        batch_op.drop_constraint(batch_op.f('uq_receipts_replaced_by_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_receipts_number_key'), type_='unique')
        batch_op.drop_column('replaced_by_id')
        batch_op.drop_column('number_key')
