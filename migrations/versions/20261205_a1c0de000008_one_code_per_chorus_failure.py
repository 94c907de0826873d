"""One stored code per Chorus failure: job items' class-name codes are rewritten

Revision ID: a1c0de000008
Revises: a1c0de000007
Create Date: 2026-12-05 09:00:00

Sends stored the Python class name of a Chorus failure as the item's error code
(``ChorusUnavailable``), the follow-up its own code (``INDISPONIBLE``). Every failure now
carries its code (``portal/chorus/errors.py``): the old class names are rewritten to it, so
the playbook needs no alias. Data only: no schema change.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1c0de000008'
down_revision = 'a1c0de000007'
branch_labels = None
depends_on = None

# Old code → the failure's code.
CODES = {
    "ChorusUnavailable": "INDISPONIBLE",
    "ChorusAuthenticationError": "AUTHENTIFICATION",
    "ChorusConfigurationError": "CONFIGURATION",
    "ChorusRefused": "REFUS",
    "ChorusError": "ERREUR_CHORUS",
}
# The codes the previous version did not know: back to what it stored.
UNKNOWN_BEFORE = {"REFUS": "ChorusRefused", "ERREUR_CHORUS": "ChorusError"}

job_items = sa.table("job_items", sa.column("error_code", sa.String))


def _rewrite(codes: dict[str, str]) -> None:
    for old, new in codes.items():
        op.execute(
            job_items.update().where(job_items.c.error_code == old).values(error_code=new)
        )


def upgrade():
    _rewrite(CODES)


def downgrade():
    _rewrite(UNKNOWN_BEFORE)
