"""Migration a1c0de000008: job items keep one code per Chorus failure, not a class name."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from tests.test_migrations import migration_app

BEFORE = "a1c0de000007"
REVISION = "a1c0de000008"
STORED = ["ChorusUnavailable", "ChorusAuthenticationError", "ChorusRefused", "20104", None]


def _store_items(codes: list[str | None]) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO jobs (id, kind, state, created_at, total, succeeded, failed, "
                "skipped, options) VALUES (1, 'mass_send', 'done', CURRENT_TIMESTAMP, :total, "
                "0, :total, 0, '{}')"
            ),
            {"total": len(codes)},
        )
        for position, code in enumerate(codes, start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO job_items (id, job_id, document_type, document_id, "
                    "document_number, state, attempts, error_code) "
                    "VALUES (:id, 1, 'receipt', :id, :number, 'failed', 1, :code)"
                ),
                {"id": position, "number": f"Q{position}", "code": code},
            )


def _codes() -> list[str | None]:
    with db.engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT error_code FROM job_items ORDER BY id")))


def test_class_names_become_the_codes_of_the_failures_and_come_back_on_downgrade(
    tmp_path: Path,
) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade(revision=BEFORE)
        _store_items(STORED)
        upgrade(revision=REVISION)
        upgraded = _codes()
        downgrade(revision=BEFORE)
        downgraded = _codes()
    assert upgraded == ["INDISPONIBLE", "AUTHENTIFICATION", "REFUS", "20104", None]
    # The previous version explains INDISPONIBLE and AUTHENTIFICATION, not REFUS.
    assert downgraded == ["INDISPONIBLE", "AUTHENTIFICATION", "ChorusRefused", "20104", None]
