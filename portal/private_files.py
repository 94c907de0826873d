"""Files and folders only the portal's own user may read: 0600 files, 0700 folders.

The instance folder holds the SQLite database, the keys and every stored file (GED, PDFs,
reports). Modes are set explicitly, whatever the process umask; existing folders and files are
left as the administrator made them. On systems without POSIX modes the calls are harmless.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents as 0700 folders (existing ones are kept)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by another thread or process
        folder.chmod(DIR_MODE)
    return path


def open_new(path: Path) -> int:
    """Create ``path`` (it must not exist) as a 0600 file and return its descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, FILE_MODE)
    return fd


def write_new(path: Path, data: bytes) -> None:
    """Write a new 0600 file (``path`` must not exist)."""
    with os.fdopen(open_new(path), "wb") as handle:
        handle.write(data)


def create_empty(path: Path) -> bool:
    """Create an empty 0600 file unless something is already there; True when created."""
    try:
        os.close(open_new(path))
    except FileExistsError:
        return False
    return True
