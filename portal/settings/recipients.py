"""Recipient lists (S5): named lists of users notified by background tasks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.settings.models import RecipientListMember

CHORUS_ADMINS = "chorus_admins"


@dataclass(frozen=True)
class RecipientList:
    key: str
    label: str
    description: str
    # Chorus lists stay hidden while dematerialization is off (S1).
    is_chorus: bool = False


RECIPIENT_LISTS: dict[str, RecipientList] = {
    CHORUS_ADMINS: RecipientList(
        key=CHORUS_ADMINS,
        label="Administrateurs Chorus",
        description=(
            "Reçoivent une notification à la fin de chaque dématérialisation en tâche de fond "
            "(envoi unitaire, envoi de masse, envoi automatique quotidien)."
        ),
        is_chorus=True,
    ),
}


class UnknownList(LookupError):
    """No recipient list has this key."""


def get_list(list_key: str) -> RecipientList:
    """The declared list, or ``UnknownList``."""
    try:
        return RECIPIENT_LISTS[list_key]
    except KeyError as exc:
        raise UnknownList(list_key) from exc


def members(list_key: str) -> list[User]:
    """Enabled users of a list, by display order (full name, then username)."""
    get_list(list_key)
    query = (
        select(User)
        .join(RecipientListMember, RecipientListMember.user_id == User.id)
        .where(RecipientListMember.list_key == list_key, User.is_enabled.is_(True))
        .order_by(User.full_name, User.username)
    )
    return list(db.session.scalars(query))


def all_members(list_key: str) -> list[User]:
    """Every user of a list, disabled ones included (the admin page shows them greyed)."""
    get_list(list_key)
    query = (
        select(User)
        .join(RecipientListMember, RecipientListMember.user_id == User.id)
        .where(RecipientListMember.list_key == list_key)
        .order_by(User.full_name, User.username)
    )
    return list(db.session.scalars(query))


def candidates(list_key: str) -> list[User]:
    """Enabled users not yet in the list (the "add" select)."""
    get_list(list_key)
    in_list = select(RecipientListMember.user_id).where(RecipientListMember.list_key == list_key)
    query = (
        select(User)
        .where(User.is_enabled.is_(True), User.id.not_in(in_list))
        .order_by(User.full_name, User.username)
    )
    return list(db.session.scalars(query))


def is_member(list_key: str, user: User) -> bool:
    row = db.session.scalar(
        select(RecipientListMember.id).where(
            RecipientListMember.list_key == list_key, RecipientListMember.user_id == user.id
        )
    )
    return row is not None


def add_member(list_key: str, user: User) -> bool:
    """Add ``user`` to the list; False when already there. Flushes, the caller commits."""
    get_list(list_key)
    if is_member(list_key, user):
        return False
    db.session.add(RecipientListMember(list_key=list_key, user_id=user.id))
    db.session.flush()
    return True


def remove_member(list_key: str, user: User) -> bool:
    """Remove ``user`` from the list; False when absent. Flushes, the caller commits."""
    get_list(list_key)
    row = db.session.scalar(
        select(RecipientListMember).where(
            RecipientListMember.list_key == list_key, RecipientListMember.user_id == user.id
        )
    )
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
