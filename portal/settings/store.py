"""Read and write stored settings. Secrets are encrypted here and nowhere else."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.crypto import decrypt, encrypt
from portal.extensions import db
from portal.settings.models import Setting


def get(key: str) -> str | None:
    """The stored value, or None."""
    row = db.session.get(Setting, key)
    return row.value if row is not None and row.value not in (None, "") else None


def get_many(prefix: str) -> dict[str, str | None]:
    """Every stored value whose key starts with ``prefix`` (one query)."""
    rows = db.session.scalars(select(Setting).where(Setting.key.startswith(prefix)))
    return {row.key: row.value for row in rows}


def put(key: str, value: str | None) -> None:
    """Store a value (None or '' clears it). The caller commits."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value if value not in (None, "") else None


def get_bool(key: str) -> bool:
    return get(key) == "1"


def put_bool(key: str, value: bool) -> None:
    put(key, "1" if value else "0")


def get_int(key: str) -> int | None:
    raw = get(key)
    return int(raw) if raw is not None else None


def get_date(key: str) -> date | None:
    raw = get(key)
    return date.fromisoformat(raw) if raw is not None else None


def put_date(key: str, value: date | None) -> None:
    put(key, value.isoformat() if value else None)


def get_secret(key: str) -> str | None:
    """Decrypted secret, or None when not set."""
    token = get(key)
    return decrypt(token) if token is not None else None


def put_secret(key: str, plain: str) -> None:
    """Encrypt and store a secret."""
    put(key, encrypt(plain))


def has(key: str) -> bool:
    return get(key) is not None
