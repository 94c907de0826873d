"""Files kept on disk under the instance folder, always under generated names.

Original file names are metadata only: nothing a user types ever becomes part of a path.
Folders are created 0700 and files 0600 (``portal.private_files``).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from portal import private_files

CHUNK = 1024 * 1024

# Areas are fixed sub-folders of instance/files.
GED = "ged"
PDF = "pdf"
REPORTS = "reports"
AREAS = frozenset({GED, PDF, REPORTS})


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    size: int
    sha256: str


def _area_dir(area: str) -> Path:
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area!r}")
    return private_files.make_dir(Path(current_app.config["INSTANCE_PATH"]) / "files" / area)


def path_of(area: str, stored_name: str) -> Path:
    """Absolute path of a stored file; refuses anything but a generated name."""
    if not stored_name or "/" in stored_name or "\\" in stored_name or stored_name.startswith("."):
        raise ValueError("invalid stored name")
    return _area_dir(area) / stored_name


def _new_name(suffix: str) -> str:
    clean = "".join(ch for ch in suffix.lower() if ch.isalnum())[:10]
    return secrets.token_hex(16) + (f".{clean}" if clean else "")


def save_stream(
    area: str, stream: BinaryIO, suffix: str = "", max_bytes: int | None = None
) -> StoredFile:
    """Copy a stream to a new file, hashing as it goes; raises ``FileTooLarge`` past ``max_bytes``.

    The file is written under a temporary name and renamed only when complete.
    """
    name = _new_name(suffix)
    target = path_of(area, name)
    partial = target.with_name(f".{name}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(private_files.open_new(partial), "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise FileTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return StoredFile(stored_name=name, size=size, sha256=digest.hexdigest())


def save_bytes(area: str, data: bytes, suffix: str = "") -> StoredFile:
    """Store bytes under a new generated name."""
    name = _new_name(suffix)
    target = path_of(area, name)
    partial = target.with_name(f".{name}.part")
    try:
        private_files.write_new(partial, data)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return StoredFile(stored_name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def read_bytes(area: str, stored_name: str) -> bytes:
    return path_of(area, stored_name).read_bytes()


def exists(area: str, stored_name: str) -> bool:
    return path_of(area, stored_name).is_file()


def sha256_of(area: str, stored_name: str) -> str | None:
    """Digest of the file on disk, or None when it is missing."""
    path = path_of(area, stored_name)
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def delete(area: str, stored_name: str) -> None:
    path_of(area, stored_name).unlink(missing_ok=True)


class FileTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"file larger than {limit} bytes")
        self.limit = limit
