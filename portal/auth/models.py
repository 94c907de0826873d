"""Users and roles."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from functools import cache

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from portal.clock import utcnow
from portal.db_types import AwareDateTime, EnumText
from portal.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    GESTIONNAIRE = "gestionnaire"
    LECTURE = "lecture"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Administrateur",
    Role.GESTIONNAIRE: "Gestionnaire",
    Role.LECTURE: "Lecture seule",
}

# A role may do what the roles after it may do.
_RANK = {Role.LECTURE: 0, Role.GESTIONNAIRE: 1, Role.ADMIN: 2}


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(EnumText(Role, 20), default=Role.LECTURE)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    # Copied into the session at login and compared on every request: raising it ends every
    # open session of the user (log out, password reset, role change, disabling).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # TOTP second factor (``portal.auth.second_factor``): the secret, encrypted at rest
    # (``portal.crypto``), is stored when enrolment starts; the factor is on once a code from
    # the user's application confirmed it (``totp_enabled_at``).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    # Time step of the last code accepted: the same code is never accepted twice.
    totp_last_timestep: Mapped[int | None] = mapped_column(BigInteger)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session opened before this call is refused from now on."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def has_second_factor(self) -> bool:
        """True once a TOTP enrolment was confirmed: logging in then asks for a code."""
        return self.totp_enabled_at is not None and self.totp_secret is not None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.is_enabled

    def has_role(self, minimum: Role) -> bool:
        """True when this user's role includes ``minimum``'s rights."""
        return _RANK[self.role] >= _RANK[minimum]

    @property
    def can_edit(self) -> bool:
        return self.has_role(Role.GESTIONNAIRE)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


@cache
def _dummy_hash() -> str:
    """A hash made like real ones (same hasher, same parameters), of a password nobody knows."""
    return generate_password_hash(secrets.token_urlsafe(32))


def check_password_of(user: User | None, password: str) -> bool:
    """The password check of a login, with the same work whether ``user`` exists or not.

    An unknown user is checked against a dummy hash, so the answer time does not tell which
    usernames exist (issue 12).
    """
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


class RecoveryCode(db.Model):  # type: ignore[name-defined,misc]
    """One single-use recovery code of a user's second factor, stored hashed (SHA-256)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class ThrottleKind(enum.StrEnum):
    """What a login throttle counts the failures of."""

    ACCOUNT = "account"  # a typed username, lower-cased (existing or not)
    ADDRESS = "address"  # a client address

    @property
    def label(self) -> str:
        return "Compte" if self is ThrottleKind.ACCOUNT else "Adresse"


class LoginThrottle(db.Model):  # type: ignore[name-defined,misc]
    """Recent login failures of one account or one address, shared by every process."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("kind", "subject", name="uq_login_throttles_kind_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ThrottleKind] = mapped_column(EnumText(ThrottleKind, 10))
    subject: Mapped[str] = mapped_column(String(120))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(AwareDateTime)


class LoginOutcome(enum.StrEnum):
    SUCCESS = "success"
    BAD_CREDENTIALS = "bad_credentials"
    DISABLED = "disabled"  # right password, account disabled (the user is told nothing more)
    THROTTLED = "throttled"  # refused without checking the password
    SECOND_FACTOR_ASKED = "second_factor_asked"  # right password, a code is asked next
    BAD_SECOND_FACTOR = "bad_second_factor"  # wrong or replayed code after the password
    # « Mon compte »: wrong current password
    BAD_CURRENT_PASSWORD = "bad_current_password"  # noqa: S105  (a journal value)

    @property
    def label(self) -> str:
        return LOGIN_OUTCOME_LOOKS[self][0]

    @property
    def colour(self) -> str:
        return LOGIN_OUTCOME_LOOKS[self][1]


LOGIN_OUTCOME_LOOKS = {
    LoginOutcome.SUCCESS: ("Connexion réussie", "success"),
    LoginOutcome.BAD_CREDENTIALS: ("Identifiant ou mot de passe incorrect", "danger"),
    LoginOutcome.DISABLED: ("Compte désactivé", "secondary"),
    LoginOutcome.THROTTLED: ("Refusée : trop de tentatives", "warning"),
    LoginOutcome.SECOND_FACTOR_ASKED: ("Mot de passe correct, code demandé", "info"),
    LoginOutcome.BAD_SECOND_FACTOR: ("Code de vérification incorrect", "danger"),
    LoginOutcome.BAD_CURRENT_PASSWORD: ("Mon compte : mot de passe actuel incorrect", "danger"),
}


class LoginEvent(db.Model):  # type: ignore[name-defined,misc]
    """One login attempt, as administrators see it on the « Connexions » page."""

    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(80), default="")  # as typed, cut to 80
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[LoginOutcome] = mapped_column(EnumText(LoginOutcome, 20))
