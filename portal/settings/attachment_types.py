"""Secondary attachment types: codes of Chorus's list, chosen per attachment, never guessed.

Chorus Pro publishes the codes ``pieceJointeComplementaireType`` accepts
(``recuperer/typespj``, EVIDENCE.md § 2). The stored copy of that list
(:mod:`portal.settings.reference_lists`) is what may be chosen; it is read again by
« Choisir parmi les types de Chorus Pro » (Système tab), « Charger les types de Chorus Pro »
(send screen) and the go-live checklist. The administrator's « Type de pièce jointe
complémentaire par défaut » (``chorus.default_attachment_type``) is preselected for each
attachment on the send screen; the user may pick another type of the list. Without the list,
no secondary attachment can be sent; without a default, each type is chosen by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from portal.settings import chorus, reference_lists
from portal.settings.reference_lists import MAX_CODE_LENGTH, ReferenceList

SHOWN_CODE_LENGTH = 30  # how much of a refused value a message repeats
SETTINGS_PLACE = "Administration › Paramètres › Système"
CHOOSE_FROM_LIST = (
    "Choisissez un type dans la liste de Chorus Pro "
    "(bouton « Choisir parmi les types de Chorus Pro »)."
)
NONE_CHOSEN_CHOICE = "— Aucun type par défaut —"
LIST_NOT_LOADED = (
    "La liste des types de pièces jointes de Chorus Pro n'est pas encore chargée : "
    "chargez-la (bouton « Charger les types de Chorus Pro ») pour joindre des pièces."
)
CHOOSE_A_TYPE = "choisissez son type de pièce jointe Chorus Pro."


@dataclass(frozen=True)
class AttachmentTypes:
    """The stored default type and the stored copy of Chorus's list of types."""

    default: str | None
    types: ReferenceList

    @classmethod
    def unset(cls) -> AttachmentTypes:
        return cls(None, ReferenceList(reference_lists.ATTACHMENT_TYPES))

    @property
    def is_known(self) -> bool:
        """Was the list read from the current API (else nothing can be chosen)?"""
        return self.types.is_known

    @property
    def usable_default(self) -> str | None:
        """The default when the list has it: what the send screen preselects."""
        return self.default if self.default is not None and self.default in self.types else None

    def text_of(self, code: str) -> str:
        """« CODE — label » of a code."""
        label = self.types.label_of(code)
        return f"{code} — {label}" if label else code

    @property
    def problem(self) -> str | None:
        """What the administrator should do, in French (None when a listed default is set)."""
        if not self.is_known:
            return (
                "La liste des types de pièces jointes de Chorus Pro n'a pas encore été lue pour "
                "cet environnement : les documents avec des pièces jointes complémentaires ne "
                "peuvent pas être envoyés. Lisez-la avec « Choisir parmi les types de Chorus "
                "Pro »."
            )
        if self.default is None:
            return (
                "Aucun type de pièce jointe complémentaire par défaut : sur l'écran d'envoi, le "
                "type de chaque pièce jointe devra être choisi à la main."
            )
        if self.default not in self.types:
            return (
                f"Le type par défaut « {self.default} » n'est plus dans la liste de Chorus Pro : "
                f"choisissez-en un autre ({SETTINGS_PLACE})."
            )
        return None

    def choices(self) -> list[tuple[str, str]]:
        """The Système tab's choice list (see :meth:`ReferenceList.choices`)."""
        return self.types.choices(NONE_CHOSEN_CHOICE, stored=self.default)

    def check_default(self, raw: str | None) -> str | None:
        """Pure: the default to store for a submitted choice (None: no default);
        ``ValueError`` (French) for a code that is neither listed nor the stored one."""
        return self.types.check_choice(raw, stored=self.default, refusal=CHOOSE_FROM_LIST)

    def check_piece(self, raw: str | None) -> str:
        """Pure: the type to send for one attachment — the posted code, else the default;
        ``ValueError`` (French, to complete « name : … ») when there is none of the list."""
        if not self.is_known:
            raise ValueError(LIST_NOT_LOADED)
        code = (raw or "").strip()
        if not code:
            if self.usable_default is None:
                raise ValueError(CHOOSE_A_TYPE)
            return self.usable_default
        if len(code) > MAX_CODE_LENGTH or code not in self.types:
            shown = code[:SHOWN_CODE_LENGTH] + ("…" if len(code) > SHOWN_CODE_LENGTH else "")
            raise ValueError(
                f"le type « {shown} » n'est pas dans la liste de Chorus Pro : choisissez-en un."
            )
        return code

    def choose(
        self, pieces: Iterable[int], posted: Mapping[int, str | None]
    ) -> tuple[dict[int, str], dict[int, str]]:
        """Pure: (type of each attachment id, French error of each attachment id)."""
        chosen: dict[int, str] = {}
        errors: dict[int, str] = {}
        for piece in pieces:
            try:
                chosen[piece] = self.check_piece(posted.get(piece))
            except ValueError as error:
                errors[piece] = str(error)
        return chosen, errors


def current(settings: chorus.ChorusSettings | None = None) -> AttachmentTypes:
    """The stored default, with the copy of the list read from the current API."""
    settings = settings or chorus.load()
    return AttachmentTypes(
        default=settings.default_attachment_type,
        types=reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=settings.api_url),
    )
