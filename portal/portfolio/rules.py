"""Pure rules of the portfolio area: which files the GED accepts, how names are cleaned,
which stored documents Chorus Pro would accept as attachments (S10, API notes §3).

The allowed extensions live here and nowhere else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

# API notes §3: the only extensions Chorus Pro accepts for attachments.
CHORUS_ATTACHMENT_EXTENSIONS = frozenset(
    {
        "bmp", "gif", "fax", "odt", "ppt", "tiff", "xls", "bz2", "gz", "jpeg", "p7s", "rtf",
        "txt", "xml", "csv", "gzip", "jpg", "pdf", "svg", "xhtml", "xlsx", "doc", "htm", "odp",
        "png", "tgz", "xlc", "zip", "docx", "html", "ods", "pps", "tif", "xlm", "pptx",
    }
)  # fmt: skip
CHORUS_ATTACHMENT_NAME_MAX = 50
CHORUS_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024  # per file (S10)
CHORUS_INVOICE_ATTACHMENTS_MAX_BYTES = 120 * 1024 * 1024  # all files of one invoice (S10)

# The GED keeps what Chorus accepts plus e-mails (kept on the record, never sent to Chorus).
GED_EXTENSIONS = CHORUS_ATTACHMENT_EXTENSIONS | {"eml", "msg"}

ORIGINAL_NAME_MAX = 255
DEFAULT_NAME = "document"

MIME_TYPES = {
    "bmp": "image/bmp",
    "bz2": "application/x-bzip2",
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "eml": "message/rfc822",
    "fax": "image/g3fax",
    "gif": "image/gif",
    "gz": "application/gzip",
    "gzip": "application/gzip",
    "htm": "text/html",
    "html": "text/html",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "msg": "application/vnd.ms-outlook",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "p7s": "application/pkcs7-signature",
    "pdf": "application/pdf",
    "png": "image/png",
    "pps": "application/vnd.ms-powerpoint",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "rtf": "application/rtf",
    "svg": "image/svg+xml",
    "tgz": "application/gzip",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "txt": "text/plain",
    "xhtml": "application/xhtml+xml",
    "xlc": "application/vnd.ms-excel",
    "xlm": "application/vnd.ms-excel",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xml": "application/xml",
    "zip": "application/zip",
}

# How many leading bytes the content check needs.
SNIFF_BYTES = 512

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office / Outlook compound file
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # zip and OOXML / OpenDocument


def _starts(*magics: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(magics)


def _text(head: bytes) -> bool:
    """Plain text: no NUL byte (a binary renamed ``.txt`` has some almost at once)."""
    return b"\x00" not in head


# Checks that are cheap and reliable; extensions without one are accepted on their name only.
_CONTENT_CHECKS: dict[str, Callable[[bytes], bool]] = {
    "pdf": lambda head: b"%PDF-" in head[:1024],
    "png": _starts(b"\x89PNG\r\n\x1a\n"),
    "jpg": _starts(b"\xff\xd8\xff"),
    "jpeg": _starts(b"\xff\xd8\xff"),
    "gif": _starts(b"GIF87a", b"GIF89a"),
    "bmp": _starts(b"BM"),
    "tif": _starts(b"II*\x00", b"MM\x00*"),
    "tiff": _starts(b"II*\x00", b"MM\x00*"),
    "zip": _starts(*_ZIP),
    "docx": _starts(*_ZIP),
    "xlsx": _starts(*_ZIP),
    "pptx": _starts(*_ZIP),
    "odt": _starts(*_ZIP),
    "ods": _starts(*_ZIP),
    "odp": _starts(*_ZIP),
    "doc": _starts(_OLE),
    "xls": _starts(_OLE),
    "ppt": _starts(_OLE),
    "pps": _starts(_OLE),
    "msg": _starts(_OLE),
    "gz": _starts(b"\x1f\x8b"),
    "gzip": _starts(b"\x1f\x8b"),
    "tgz": _starts(b"\x1f\x8b"),
    "bz2": _starts(b"BZh"),
    "rtf": _starts(b"{\\rtf"),
    "txt": _text,
    "csv": _text,
    "xml": _text,
    "svg": _text,
    "htm": _text,
    "html": _text,
    "xhtml": _text,
    "eml": _text,
}

KIND_LABELS = {
    "pdf": "PDF",
    "png": "image PNG",
    "jpg": "image JPEG",
    "jpeg": "image JPEG",
    "gif": "image GIF",
    "bmp": "image BMP",
    "tif": "image TIFF",
    "tiff": "image TIFF",
    "doc": "document Word",
    "docx": "document Word",
    "xls": "classeur Excel",
    "xlsx": "classeur Excel",
    "ppt": "présentation PowerPoint",
    "pptx": "présentation PowerPoint",
    "pps": "présentation PowerPoint",
}


def sanitize_original_name(raw: str | None) -> str:
    """The name a user's file is *displayed* under: last path component, no control or
    formatting characters (bidi overrides), trimmed, at most 255 characters, extension kept.

    It is never used to build a path (files are stored under generated names).
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(_display_char(ch) for ch in name)
    name = " ".join(name.split()).strip(" .")
    if not name or set(name) <= {"."}:
        return DEFAULT_NAME
    if len(name) > ORIGINAL_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10 and stem:
            name = stem[: ORIGINAL_NAME_MAX - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:ORIGINAL_NAME_MAX]
    return name


def _display_char(ch: str) -> str:
    if ch.isspace():  # tabs, line breaks and every kind of space become a plain space
        return " "
    if unicodedata.category(ch)[0] in {"C", "Z"}:  # control, format (bidi overrides)…
        return ""
    return ch


def extension_of(name: str) -> str:
    """Lower-case extension without the dot ('' when there is none)."""
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


def mime_type_for(extension: str) -> str:
    """MIME type recorded for a stored file, from its (already allowed) extension."""
    return MIME_TYPES.get(extension, "application/octet-stream")


def upload_problem(name: str, head: bytes) -> str | None:
    """Why the GED refuses this file (French), or None. ``head``: the first bytes.

    The size is checked while storing (the stream is not read twice).
    """
    extension = extension_of(name)
    if not head:
        return "Le fichier est vide."
    if extension not in GED_EXTENSIONS:
        shown = f"« .{extension} »" if extension else "sans extension"
        allowed = allowed_extensions_text()
        return f"Type de fichier non accepté ({shown}). Types acceptés : {allowed}."
    check = _CONTENT_CHECKS.get(extension)
    if check is not None and not check(head):
        kind = KIND_LABELS.get(extension, f"fichier .{extension}")
        return f"Le contenu du fichier ne correspond pas à son extension (ce n'est pas un {kind})."
    return None


def allowed_extensions_text() -> str:
    return ", ".join(sorted(GED_EXTENSIONS))


def chorus_attachment_problems(name: str, size: int) -> list[str]:
    """Why Chorus Pro would refuse this stored document as an attachment (S10), in French.

    Checked when attachments are chosen for a dematerialization, not at upload.
    """
    problems = []
    if len(name) > CHORUS_ATTACHMENT_NAME_MAX:
        problems.append(
            f"nom trop long pour Chorus Pro ({len(name)} caractères, "
            f"{CHORUS_ATTACHMENT_NAME_MAX} au maximum)"
        )
    extension = extension_of(name)
    if not extension:
        problems.append("fichier sans extension, refusé par Chorus Pro")
    elif extension not in CHORUS_ATTACHMENT_EXTENSIONS:
        problems.append(f"extension « .{extension} » refusée par Chorus Pro")
    if size <= 0:
        problems.append("fichier vide")
    elif size > CHORUS_ATTACHMENT_MAX_BYTES:
        problems.append("fichier de plus de 10 Mo")
    return problems
