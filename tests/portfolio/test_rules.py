"""Pure GED rules: display names, accepted types, content sniffing, Chorus attachment limits."""

from __future__ import annotations

import io

import pytest

from portal.portfolio import rules
from portal.portfolio.services import _Prefixed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\Marie\\Bureau\\devis.pdf", "devis.pdf"),
        ("  Contrat\tsigné .pdf  ", "Contrat signé .pdf"),
        ("rapport\u202egpj.pdf", "rapportgpj.pdf"),
        ("ligne\r\nsuivante.txt", "ligne suivante.txt"),
        ("non\u00a0sécable.pdf", "non sécable.pdf"),
        ("..", rules.DEFAULT_NAME),
        ("", rules.DEFAULT_NAME),
        (None, rules.DEFAULT_NAME),
        ("dossier/", rules.DEFAULT_NAME),
        ("e\u0301te\u0301.pdf", "été.pdf"),
    ],
)
def test_the_display_name_is_a_clean_base_name(raw: str | None, expected: str) -> None:
    assert rules.sanitize_original_name(raw) == expected


def test_a_very_long_name_is_cut_to_255_characters_keeping_its_extension() -> None:
    name = rules.sanitize_original_name("a" * 400 + ".pdf")
    assert len(name) == 255
    assert name.endswith("a.pdf")
    assert len(rules.sanitize_original_name("b" * 400)) == 255


def test_the_extension_is_lower_case_and_a_leading_dot_is_not_one() -> None:
    assert rules.extension_of("Devis.PDF") == "pdf"
    assert rules.extension_of(".bashrc") == ""
    assert rules.extension_of("archive.tar.gz") == "gz"
    assert rules.extension_of("sans") == ""


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("a.pdf", b"%PDF-1.7\n"),
        ("a.png", b"\x89PNG\r\n\x1a\n...."),
        ("a.jpg", b"\xff\xd8\xff\xe0"),
        ("a.docx", b"PK\x03\x04...."),
        ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        ("a.csv", "nom;montant\né;1\n".encode()),
        ("a.gz", b"\x1f\x8b\x08"),
        ("a.xlm", b"anything"),
        ("a.eml", b"From: x@example.fr\n"),
    ],
)
def test_files_whose_content_matches_their_type_are_accepted(name: str, head: bytes) -> None:
    assert rules.upload_problem(name, head) is None


@pytest.mark.parametrize(
    ("name", "head", "message"),
    [
        ("a.pdf", b"", "Le fichier est vide."),
        ("a.exe", b"MZ", "Type de fichier non accepté (« .exe »)"),
        ("a", b"x", "Type de fichier non accepté (sans extension)"),
        ("a.pdf", b"<html>", "ce n'est pas un PDF"),
        ("a.png", b"GIF89a", "ce n'est pas un image PNG"),
        ("a.docx", b"%PDF-1.4", "ce n'est pas un document Word"),
        ("a.txt", b"MZ\x00\x00", "fichier .txt"),
    ],
)
def test_files_whose_type_or_content_is_wrong_are_refused(
    name: str, head: bytes, message: str
) -> None:
    problem = rules.upload_problem(name, head)
    assert problem is not None
    assert message in problem


def test_the_chorus_allow_list_is_part_of_the_ged_allow_list() -> None:
    assert rules.CHORUS_ATTACHMENT_EXTENSIONS <= rules.GED_EXTENSIONS
    assert len(rules.CHORUS_ATTACHMENT_EXTENSIONS) == 35
    assert set(rules.MIME_TYPES) >= rules.GED_EXTENSIONS
    assert rules.mime_type_for("pdf") == "application/pdf"


def test_chorus_attachment_problems_name_length_extension_and_size() -> None:
    assert rules.chorus_attachment_problems("ok.pdf", 10) == []
    assert rules.chorus_attachment_problems("x" * 46 + ".pdf", 10) == []
    (problem,) = rules.chorus_attachment_problems("x" * 47 + ".pdf", 10)
    assert "51 caractères, 50 au maximum" in problem
    assert rules.chorus_attachment_problems("mail.eml", 10) == [
        "extension « .eml » refusée par Chorus Pro"
    ]
    assert rules.chorus_attachment_problems("a.pdf", 10 * 1024 * 1024 + 1) == [
        "fichier de plus de 10 Mo"
    ]
    assert rules.chorus_attachment_problems("a.pdf", 0) == ["fichier vide"]


def test_the_prefixed_stream_gives_back_the_sniffed_bytes_first() -> None:
    stream = io.BytesIO(b"0123456789")
    head = stream.read(4)
    prefixed = _Prefixed(head, stream)
    assert prefixed.read(2) == b"01"
    assert prefixed.read(5) == b"23"
    assert prefixed.read(-1) == b"456789"
    assert prefixed.read(3) == b""
