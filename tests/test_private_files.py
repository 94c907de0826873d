"""Issue 12 (9): the database, its WAL, the keys and every stored file are the portal's own:
files 0600, folders 0700, whatever the umask."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app, private_files, storage
from portal.config import Config
from portal.extensions import db
from portal.notifications import services

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: every mode below must still be private."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_a_new_instance_folder_database_wal_and_keys_are_private(
    tmp_path: Path, open_umask: None
) -> None:
    instance = tmp_path / "nouvelle" / "instance"
    config = Config(
        instance_path=instance,
        database_url=f"sqlite:///{instance / 'portal.db'}",
        secret_key="",
        testing=True,
        extra={"INSTANCE_PATH": str(instance)},
    )
    app = create_app(config)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE essai (id INTEGER PRIMARY KEY)"))
            connection.execute(sa.text("INSERT INTO essai (id) VALUES (1)"))
        database = instance / "portal.db"
        assert _mode(database) == 0o600
        for suffix in ("-wal", "-shm"):
            companion = database.with_name(database.name + suffix)
            assert companion.exists(), suffix
            assert _mode(companion) == 0o600, suffix
        db.session.remove()
        db.engine.dispose()
    assert _mode(instance) == 0o700
    assert _mode(instance.parent) == 0o700
    assert _mode(instance / "secret_key") == 0o600
    assert _mode(instance / "encryption.key") == 0o600


def test_stored_files_and_their_folders_are_private(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setitem(app.config, "INSTANCE_PATH", str(instance))
    streamed = storage.save_stream(storage.GED, io.BytesIO(b"%PDF-1.4 ged"), suffix="pdf")
    generated = storage.save_bytes(storage.PDF, b"%PDF-1.4 avis", suffix="pdf")
    report = services.store_report("rapport.csv", b"numero;resultat\n")
    for area, name in (
        (storage.GED, streamed.stored_name),
        (storage.PDF, generated.stored_name),
        (storage.REPORTS, report.stored_name),
    ):
        path = storage.path_of(area, name)
        assert _mode(path) == 0o600, area
        assert _mode(path.parent) == 0o700, area
    assert _mode(instance / "files") == 0o700
    assert _mode(instance) == 0o700


def test_existing_folders_and_files_are_left_as_they_are(tmp_path: Path) -> None:
    shared = tmp_path / "partage"
    shared.mkdir(mode=0o750)
    shared.chmod(0o750)
    private_files.make_dir(shared / "sous-dossier")
    assert _mode(shared) == 0o750
    assert _mode(shared / "sous-dossier") == 0o700
    existing = shared / "portal.db"
    existing.write_bytes(b"")
    existing.chmod(0o640)
    assert not private_files.create_empty(existing)
    assert _mode(existing) == 0o640
