"""Chorus Pro attachment limits (API notes §3), shared by the portal's checks and the emulator."""

from __future__ import annotations

MAX_FILE_BYTES = 10 * 1024 * 1024  # each file
MAX_TOTAL_BYTES = 120 * 1024 * 1024  # all files of one invoice together
MAX_NAME_LENGTH = 50  # file name, extension included

ALLOWED_EXTENSIONS = frozenset(
    {
        "bmp",
        "gif",
        "fax",
        "odt",
        "ppt",
        "tiff",
        "xls",
        "bz2",
        "gz",
        "jpeg",
        "p7s",
        "rtf",
        "txt",
        "xml",
        "csv",
        "gzip",
        "jpg",
        "pdf",
        "svg",
        "xhtml",
        "xlsx",
        "doc",
        "htm",
        "odp",
        "png",
        "tgz",
        "xlc",
        "zip",
        "docx",
        "html",
        "ods",
        "pps",
        "tif",
        "xlm",
        "pptx",
    }
)


def extension_of(file_name: str) -> str:
    """Lower-case extension without the dot ('' when there is none)."""
    return file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""


def is_allowed_extension(file_name: str) -> bool:
    return extension_of(file_name) in ALLOWED_EXTENSIONS
