"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with the key from ``ENCRYPTION_KEY``.

Without that variable a key is generated once and kept in ``instance/encryption.key``
(file mode 600): fine for a demo, production sets the variable.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from portal import private_files


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the current key."""


def _key_file(instance_path: Path) -> Path:
    return instance_path / "encryption.key"


def load_or_create_key(instance_path: Path, configured: str | None) -> bytes:
    """The Fernet key: configured, or generated once under the instance folder."""
    if configured:
        return configured.encode()
    path = _key_file(instance_path)
    if path.exists():
        return path.read_bytes().strip()
    private_files.make_dir(instance_path)
    key = Fernet.generate_key()
    private_files.write_new(path, key)
    return key


def _fernet() -> Fernet:
    return Fernet(current_app.extensions["portal.encryption_key"])


def encrypt(plain: str) -> str:
    """Encrypt a secret for storage."""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a stored secret."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretUnreadable("secret chiffré illisible avec la clé actuelle") from exc
