"""The Alembic migrations build, from empty, exactly the schema the models describe."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from tests.conftest import app_config, is_postgres, run_sql, schema_of_its_own


@contextmanager
def migration_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database (a schema of its own on PostgreSQL), for ``upgrade``."""
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    engine_options: dict[str, object] = {}
    schema = f"migrations_{os.getpid()}"
    if is_postgres():
        url = os.environ["TEST_DATABASE_URL"]
        engine_options = schema_of_its_own(url, schema)
    app = create_app(
        app_config(tmp_path, database_url=url, engine_options=engine_options, testing=True)
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if is_postgres():
            run_sql(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_db_upgrade_from_empty_matches_the_models(tmp_path: Path) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_the_client_search_key_is_filled_for_existing_clients(tmp_path: Path) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade(revision="3365cd58b929")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO clients (kind, name, address, postal_code, city, created_at) "
                    "VALUES ('entreprise', 'Mairie d''Évian', '', '', 'ÉVIAN-LES-BAINS', "
                    "CURRENT_TIMESTAMP)"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            key = conn.execute(sa.text("SELECT search_key FROM clients")).scalar_one()
    assert key == "mairie d'evian | evian-les-bains"


def test_numbers_equal_but_for_their_case_are_renamed_before_the_unique_key(
    tmp_path: Path,
) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade(revision="a1c0de000001")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO clients (id, kind, name, address, postal_code, city, "
                    "created_at, search_key) VALUES (1, 'entreprise', 'Mairie', '', '', '', "
                    "CURRENT_TIMESTAMP, 'mairie')"
                )
            )
            for row_id, number, state in [
                (1, "FH-1", "not_sent"),
                (2, "fh-1", "sent"),  # Chorus knows this one: it keeps its number
                (3, "Fh-1", "not_sent"),
                (4, "FH-2", "not_sent"),
                (5, "X" * 40, "not_sent"),
                (6, "x" * 40, "not_sent"),
            ]:
                conn.execute(
                    sa.text(
                        "INSERT INTO fee_invoices (id, number, client_id, label, entered_on, "
                        "amount_ht, vat_rate, vat_amount, total, allocated_amount, "
                        "is_corrupted, created_at, chorus_state) VALUES (:id, :number, 1, "
                        "'Honoraires', '2026-01-15', 100, 0, 0, 100, 0, false, "
                        "CURRENT_TIMESTAMP, :state)"
                    ),
                    {"id": row_id, "number": number, "state": state},
                )
        upgrade()
        with db.engine.connect() as conn:
            numbers = dict(
                conn.execute(sa.text("SELECT id, number FROM fee_invoices ORDER BY id")).all()
            )
            keys = conn.execute(sa.text("SELECT number_key FROM fee_invoices")).scalars().all()
    assert numbers == {
        1: "FH-1#1",
        2: "fh-1",
        3: "Fh-1#3",
        4: "FH-2",
        5: "X" * 40,
        6: "x" * 38 + "#6",
    }
    assert len(set(keys)) == 6 and "fh-1#1" in keys
