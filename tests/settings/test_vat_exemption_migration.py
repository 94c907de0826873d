"""Migration a1c0de000001: the free-text VAT exemption reason is cleared, and the admin told."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from tests.test_migrations import migration_app

BEFORE = "5e04ea32a798"
REVISION = "a1c0de000001"
FREE_TEXT = "TVA non applicable, article 261 C du CGI (opérations d'assurance)"


def _put(key: str, value: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO settings (key, value, updated_at) "
                "VALUES (:key, :value, CURRENT_TIMESTAMP)"
            ),
            {"key": key, "value": value},
        )


def _settings() -> dict[str, str | None]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT key, value FROM settings")).tuples().all())


def test_a_free_text_reason_is_cleared_and_kept_aside_for_the_admin(tmp_path: Path) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade(revision=BEFORE)
        _put("chorus.vat_exemption_reason", f"  {FREE_TEXT} ")
        _put("chorus.supplier_id", "25000001")
        upgrade(revision=REVISION)
        stored = _settings()
    assert "chorus.vat_exemption_reason" not in stored
    assert "chorus.vat_exemption_code" not in stored  # never guessed from the text
    assert stored["chorus.vat_exemption_cleared_text"] == FREE_TEXT
    assert stored["chorus.supplier_id"] == "25000001"


def test_nothing_is_left_to_tell_when_no_reason_was_stored(tmp_path: Path) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade(revision=BEFORE)
        _put("chorus.vat_exemption_reason", "   ")
        upgrade(revision=REVISION)
        stored = _settings()
    assert not {key for key in stored if key.startswith("chorus.vat_exemption")}


def test_downgrading_gives_the_old_setting_the_chosen_code_or_the_cleared_text(
    tmp_path: Path,
) -> None:
    with migration_app(tmp_path) as app, app.app_context():
        upgrade(revision=BEFORE)
        _put("chorus.vat_exemption_reason", FREE_TEXT)
        upgrade(revision=REVISION)
        downgrade(revision=BEFORE)
        assert _settings()["chorus.vat_exemption_reason"] == FREE_TEXT
        upgrade(revision=REVISION)
        _put("chorus.vat_exemption_code", "ASSURANCE_261C")
        _put("chorus.vat_exemption_label", "Opérations d'assurance")
        downgrade(revision=BEFORE)
        stored = _settings()
    assert stored["chorus.vat_exemption_reason"] == "ASSURANCE_261C"
    assert "chorus.vat_exemption_code" not in stored
    assert "chorus.vat_exemption_label" not in stored
    assert "chorus.vat_exemption_cleared_text" not in stored
