"""Typed settings read from the environment.

Every deployment knob is an environment variable; nothing else reads ``os.environ``
(the Chorus overrides of S2 are read by ``portal.settings.chorus``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class Config:
    """What ``create_app`` needs; turned into Flask's upper-case config keys."""

    instance_path: Path
    database_url: str
    secret_key: str
    encryption_key: str | None = None
    scheduler_enabled: bool = False
    upload_max_bytes: int = 20 * 1024 * 1024
    job_workers: int = 4
    job_lease_seconds: int = 300
    job_sweep_seconds: int = 30
    chorus_connect_timeout: float = 5.0
    chorus_read_timeout: float = 60.0
    # Cookies only over HTTPS (and HSTS): on in production, off for the local demo over http.
    session_cookie_secure: bool = False
    # Reverse proxies in front of the portal whose X-Forwarded-* headers are trusted (ProxyFix).
    proxy_fix_hops: int = 0
    # A session ends after this long without activity, and this long after its login (0: never).
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, instance_path: Path) -> Config:
        """Read the configuration from environment variables (documented in the README)."""
        default_db = f"sqlite:///{instance_path / 'portal.db'}"
        return cls(
            instance_path=instance_path,
            database_url=os.environ.get("DATABASE_URL") or default_db,
            secret_key=os.environ.get("SECRET_KEY") or "",
            encryption_key=os.environ.get("ENCRYPTION_KEY") or None,
            scheduler_enabled=_flag("SCHEDULER_ENABLED", False),
            upload_max_bytes=_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024),
            job_workers=_int("JOB_WORKERS", 4),
            job_lease_seconds=_int("JOB_LEASE_SECONDS", 300),
            job_sweep_seconds=_int("JOB_SWEEP_SECONDS", 30),
            chorus_connect_timeout=float(os.environ.get("CHORUS_CONNECT_TIMEOUT") or 5),
            chorus_read_timeout=float(os.environ.get("CHORUS_READ_TIMEOUT") or 60),
            session_cookie_secure=_flag("SESSION_COOKIE_SECURE", False),
            proxy_fix_hops=_int("PROXY_FIX_HOPS", 0),
            session_idle_minutes=_int("SESSION_IDLE_MINUTES", 60),
            session_max_hours=_int("SESSION_MAX_HOURS", 12),
        )

    def to_flask(self) -> dict[str, Any]:
        """Flask config mapping (upper-case keys)."""
        values = {key.upper(): value for key, value in asdict(self).items() if key != "extra"}
        values["SQLALCHEMY_DATABASE_URI"] = self.database_url
        values["SECRET_KEY"] = self.secret_key
        values["TESTING"] = self.testing
        # The upload limit is enforced per file by the GED service with a French message;
        # Flask's own limit only guards against absurd bodies (several files in one form).
        values["MAX_CONTENT_LENGTH"] = self.upload_max_bytes * 8
        values["BOOTSTRAP_SERVE_LOCAL"] = True
        values["BOOTSTRAP_BTN_STYLE"] = "primary"
        values["WTF_CSRF_TIME_LIMIT"] = None
        values["SESSION_COOKIE_HTTPONLY"] = True
        values["SESSION_COOKIE_SAMESITE"] = "Lax"
        values["REMEMBER_COOKIE_SECURE"] = self.session_cookie_secure
        values.update(self.extra)
        return values
