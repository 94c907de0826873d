"""GED of a client: upload checks (size, empty, type, content, path tricks), download, delete."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import storage
from portal.extensions import db
from portal.portfolio.models import ClientDocument
from tests import factories
from tests.portfolio.conftest import text

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def customer(app: Flask):
    client = factories.make_client(name="Commune de Sceaux")
    db.session.commit()
    return client


def _ged_files(app: Flask) -> set[str]:
    folder = Path(app.config["INSTANCE_PATH"]) / "files" / storage.GED
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _upload(post, client_id: int, content: bytes, name: str):
    return post(
        f"/clients/{client_id}/documents",
        {"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _documents() -> int:
    return db.session.scalar(select(func.count()).select_from(ClientDocument))


def test_a_pdf_is_stored_under_a_generated_name_with_its_digest(
    app, as_gestionnaire, post, customer, gestionnaire
) -> None:
    response = _upload(post, customer.id, PDF, "Attestation 2026.pdf")
    assert response.status_code == 302
    document = db.session.scalar(select(ClientDocument))
    assert document.original_name == "Attestation 2026.pdf"
    assert document.stored_name != document.original_name
    assert document.stored_name.endswith(".pdf")
    assert document.size_bytes == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.mime_type == "application/pdf"
    assert document.uploaded_by_id == gestionnaire.id
    assert storage.read_bytes(storage.GED, document.stored_name) == PDF
    page = text(as_gestionnaire.get(response.headers["Location"]))
    assert "Attestation 2026.pdf" in page
    assert "ajouté à la GED" in page


def test_a_document_is_downloaded_as_an_attachment_under_its_original_name(
    as_gestionnaire, post, customer
) -> None:
    _upload(post, customer.id, PDF, "Attestation.pdf")
    document = db.session.scalar(select(ClientDocument))
    response = as_gestionnaire.get(f"/documents/{document.id}/telecharger")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "Attestation.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_a_file_exactly_at_the_limit_is_accepted(app, as_gestionnaire, post, customer, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 2048)
    content = PDF + b"0" * (2048 - len(PDF))
    assert _upload(post, customer.id, content, "juste.pdf").status_code == 302
    assert db.session.scalar(select(ClientDocument.size_bytes)) == 2048


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(
    app, as_gestionnaire, post, customer, monkeypatch
) -> None:
    # A small limit keeps the test client's body in memory (it spools big ones to a file
    # it never closes).
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 2048)
    before = _ged_files(app)
    big = b"%PDF-1.4\n" + b"0" * 2048
    response = _upload(post, customer.id, big, "gros.pdf")
    assert response.status_code == 422
    assert "Le fichier dépasse la taille autorisée (2,0 Ko)." in text(response)
    assert _documents() == 0
    assert _ged_files(app) == before


def test_an_empty_file_is_refused(app, as_gestionnaire, post, customer) -> None:
    before = _ged_files(app)
    response = _upload(post, customer.id, b"", "vide.pdf")
    assert response.status_code == 422
    assert "Le fichier est vide." in text(response)
    assert _documents() == 0
    assert _ged_files(app) == before


def test_an_unknown_type_is_refused(as_gestionnaire, post, customer) -> None:
    response = _upload(post, customer.id, b"MZ\x90\x00binary", "setup.exe")
    assert response.status_code == 422
    assert "Type de fichier non accepté (« .exe »)" in text(response)
    response = _upload(post, customer.id, b"hello", "sans-extension")
    assert "Type de fichier non accepté (sans extension)" in text(response)
    assert _documents() == 0


def test_a_pdf_whose_content_is_not_a_pdf_is_refused(as_gestionnaire, post, customer) -> None:
    response = _upload(post, customer.id, b"MZ\x90\x00 not a pdf", "facture.pdf")
    assert response.status_code == 422
    assert "ne correspond pas à son extension (ce n&#39;est pas un PDF)" in text(response)
    assert _documents() == 0


def test_path_tricks_in_the_name_are_only_display_metadata(
    app, as_gestionnaire, post, customer
) -> None:
    response = _upload(post, customer.id, PDF, "../../etc/passwd.pdf")
    assert response.status_code == 302
    document = db.session.scalar(select(ClientDocument))
    assert document.original_name == "passwd.pdf"
    assert "/" not in document.stored_name
    stored = storage.path_of(storage.GED, document.stored_name)
    assert stored.parent == Path(app.config["INSTANCE_PATH"]) / "files" / storage.GED
    assert not (Path(app.config["INSTANCE_PATH"]).parent / "etc" / "passwd.pdf").exists()


def test_control_and_bidi_characters_are_stripped_from_the_name(as_gestionnaire, post, customer):
    _upload(post, customer.id, PDF, "dossier/rapport\u202egpj.\x07pdf")
    document = db.session.scalar(select(ClientDocument))
    assert document.original_name == "rapportgpj.pdf"


def test_a_missing_file_is_explained(as_gestionnaire, post, customer) -> None:
    response = post(f"/clients/{customer.id}/documents", content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choisissez un fichier à envoyer." in text(response)


def test_deleting_a_document_removes_its_row_and_its_file(as_gestionnaire, post, customer):
    _upload(post, customer.id, PDF, "a.pdf")
    document = db.session.scalar(select(ClientDocument))
    stored_name, document_id = document.stored_name, document.id
    response = post(f"/documents/{document_id}/supprimer")
    assert response.status_code == 302
    assert _documents() == 0
    assert not storage.exists(storage.GED, stored_name)
    assert as_gestionnaire.get(f"/documents/{document_id}/telecharger").status_code == 404


def test_the_upload_hint_shows_the_limit_and_with_s1_the_chorus_rules(
    as_gestionnaire, customer, chorus_on
) -> None:
    page = text(as_gestionnaire.get(f"/clients/{customer.id}"))
    assert "Taille maximale : 1,0 Mo." in page
    assert "50 caractères au plus" in page


def test_with_s1_documents_chorus_would_refuse_are_flagged(
    as_gestionnaire, post, customer, chorus_on
) -> None:
    _upload(post, customer.id, PDF, "x" * 60 + ".pdf")
    _upload(post, customer.id, b"From: a@b.fr\n\nBonjour", "courriel.eml")
    _upload(post, customer.id, PDF, "ok.pdf")
    page = text(as_gestionnaire.get(f"/clients/{customer.id}"))
    assert "nom trop long pour Chorus Pro (64 caractères, 50 au maximum)" in page
    assert "extension « .eml » refusée par Chorus Pro" in page
    assert "Transmissible" in page


def test_without_s1_the_documents_say_nothing_of_chorus(as_gestionnaire, post, customer):
    _upload(post, customer.id, PDF, "x" * 60 + ".pdf")
    assert "Chorus" not in text(as_gestionnaire.get(f"/clients/{customer.id}"))
