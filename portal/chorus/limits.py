"""Chorus Pro limits shared by the portal's checks and the emulator.

Attachments: API notes §3. Invoice numbers (``numeroFactureSaisi``): nothing official is
published for the API (the Swagger types it as a plain ``string``), so this is a bet on the
conservative side (EVIDENCE.md § 5): at most 20 characters, unaccented letters, digits and
``+ - _ /`` — the characters the French e-invoicing rules allow in an invoice number
(FNFE-MPE BR-FR-02, no spaces), in fewer characters than their 35.
"""

from __future__ import annotations

import re

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


MAX_NUMBER_LENGTH = 20
NUMBER_CHARACTERS = "lettres sans accent, chiffres et + - _ /"
NUMBER_RULE = f"{MAX_NUMBER_LENGTH} caractères au plus : {NUMBER_CHARACTERS}"  # French, for people
# \A and \Z mean "start" and "end of string" both in Python and in PostgreSQL regular
# expressions (``queries.py`` sends this very pattern to the database).
NUMBER_PATTERN = rf"\A[A-Za-z0-9+_/-]{{1,{MAX_NUMBER_LENGTH}}}\Z"
_NUMBER = re.compile(NUMBER_PATTERN)


def is_acceptable_number(number: str) -> bool:
    """May Chorus Pro take ``number`` as ``numeroFactureSaisi``? (bet, see above)"""
    return _NUMBER.search(number) is not None
