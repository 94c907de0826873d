"""The optional TOTP second factor (issue 12): enrolment, codes, recovery codes, admin rule.

- Enrolment (« Mon compte »): a random secret is stored encrypted (``portal.crypto``) and shown
  as a QR code (an ``otpauth://`` URI, drawn by segno as an SVG ``data:`` image: no inline
  style, the Content-Security-Policy allows ``data:`` images) and as text; a code from the
  application confirms it. Ten single-use recovery codes are then shown once and stored as
  SHA-256 hashes: they are random (60 bits each), so a slow password hash would add nothing
  and a hash lets the database find the code.
- Codes: 6 digits (RFC 6238, 30-second steps), the previous and next step accepted for clock
  drift. The step of the last accepted code is stored and claimed by one conditional UPDATE:
  a code (or an older one) is never accepted twice, even by two concurrent requests. A
  recovery code is claimed the same way (``used_at``).
- An administrators' setting makes the factor mandatory for them: ``must_enrol``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.auth.models import RecoveryCode, User
from portal.crypto import SecretUnreadable, decrypt, encrypt
from portal.extensions import db
from portal.settings import store

ISSUER = "Portail courtier"
ADMIN_REQUIRED = "security.admin_second_factor_required"
# A code of the step before or after the current one is accepted (phone clocks drift).
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: nothing to confuse
RECOVERY_CODE_LENGTH = 12  # 60 bits, shown as ABCD-EFGH-JKLM
CODE_MAX_LENGTH = 40  # longer input is not a code (the forms say so)

_TOTP_CODE = re.compile(r"[0-9]{6}")
_SEPARATORS = re.compile(r"[\s\-]+")


# -- pure ---------------------------------------------------------------------------------------


def new_secret() -> str:
    """A random base32 secret (160 bits, as the RFC recommends)."""
    return pyotp.random_base32()


def normalize_code(raw: str | None) -> str:
    """What was typed, without spaces or dashes, upper case (« 123 456 », « abcd-efgh-jklm »)."""
    return _SEPARATORS.sub("", raw or "").upper()


def is_totp_code(text: str) -> bool:
    return _TOTP_CODE.fullmatch(text) is not None


def matching_timestep(
    secret: str, code: str, now: datetime, last_timestep: int | None
) -> int | None:
    """The time step ``code`` belongs to (around ``now``), if later than ``last_timestep``."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_timestep is not None and step <= last_timestep:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` address an authenticator application reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` address for an ``<img>`` (no style inside)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=4, light="#fff"))


def format_secret(secret: str) -> str:
    """The secret in groups of four, for typing it into an application by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes() -> list[str]:
    """``RECOVERY_CODE_COUNT`` random codes, shown as ``ABCD-EFGH-JKLM``."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode("utf-8")).hexdigest()


# -- stored state -------------------------------------------------------------------------------


def _secret_of(user: User) -> str | None:
    if user.totp_secret is None:
        return None
    try:
        return decrypt(user.totp_secret)
    except SecretUnreadable:  # the encryption key changed: only recovery codes still work
        return None


def pending_secret(user: User) -> str:
    """The secret being enrolled (created and stored on first call). Flushes."""
    if not user.has_second_factor:
        secret = _secret_of(user)
        if secret is not None:
            return secret
    secret = new_secret()
    user.totp_secret = encrypt(secret)
    user.totp_enabled_at = None
    user.totp_last_timestep = None
    db.session.flush()
    return secret


def confirm(user: User, code: str | None, now: datetime) -> list[str] | None:
    """Turn the factor on when ``code`` matches the pending secret; the new recovery codes
    (plain, to show once), or None. Flushes."""
    secret = None if user.has_second_factor else _secret_of(user)
    if secret is None:
        return None
    step = matching_timestep(secret, normalize_code(code), now, None)
    if step is None:
        return None
    user.totp_enabled_at = now
    user.totp_last_timestep = step  # the confirming code cannot log in afterwards
    codes = new_recovery_codes()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(plain), created_at=now)
        for plain in codes
    )
    db.session.flush()
    return codes


def _claim_timestep(user: User, step: int) -> bool:
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_timestep.is_(None), User.totp_last_timestep < step),
        )
        .values(totp_last_timestep=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(user, "totp_last_timestep", step)
    return True


def _claim_recovery_code(user: User, text: str, now: datetime) -> bool:
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == hash_recovery_code(text),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def verify(user: User, code: str | None, now: datetime) -> bool:
    """True when ``code`` is a fresh TOTP code or an unused recovery code of ``user`` (then
    used up). Flushes."""
    if not user.has_second_factor or len(code or "") > CODE_MAX_LENGTH:
        return False
    text = normalize_code(code)
    if is_totp_code(text):
        secret = _secret_of(user)
        if secret is None:
            return False
        step = matching_timestep(secret, text, now, user.totp_last_timestep)
        return step is not None and _claim_timestep(user, step)
    return len(text) == RECOVERY_CODE_LENGTH and _claim_recovery_code(user, text, now)


def remove(user: User) -> None:
    """Turn the factor off and forget the secret and the recovery codes. Flushes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_timestep = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()


def recovery_codes_left(user: User) -> int:
    query = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return int(db.session.scalar(query) or 0)


# -- the administrators' rule -------------------------------------------------------------------


def required_for_admins() -> bool:
    return store.get_bool(ADMIN_REQUIRED)


def set_required_for_admins(required: bool) -> None:
    """Flushes."""
    store.put_bool(ADMIN_REQUIRED, required)
    db.session.flush()


def must_enrol(user: User) -> bool:
    """An administrator without the factor while it is mandatory for administrators."""
    return user.is_admin and not user.has_second_factor and required_for_admins()
