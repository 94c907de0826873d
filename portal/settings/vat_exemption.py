"""The VAT exemption reason sent to Chorus Pro: a code of Chorus's list, never free text.

Chorus Pro publishes the reasons it accepts in ``motifExonerationTva``
(``recuperer/motifs/exonerationtva``, EVIDENCE.md § 1). The administrator picks one on the
Système tab; its code and label are stored (``chorus.vat_exemption_code`` / ``_label``).
What may be picked is the stored copy of that list (:mod:`portal.settings.reference_lists`),
refreshed by the « Choisir parmi les motifs de Chorus Pro » lookup and by the connection
test, which therefore also tell whether the stored code is still listed. There is no default:
while no code is chosen, documents sent as ``EXONERATION`` are not eligible
(``S2_NO_VAT_EXEMPTION_CODE``).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.settings import chorus, reference_lists, store
from portal.settings.reference_lists import ReferenceList

CHOOSE_FROM_LIST = (
    "Choisissez un motif dans la liste de Chorus Pro "
    "(bouton « Choisir parmi les motifs de Chorus Pro »)."
)
NONE_CHOSEN_CHOICE = "— Aucun motif choisi —"


@dataclass(frozen=True)
class VatExemption:
    """The stored code and label, the stored copy of Chorus's list, and the migration's note."""

    code: str | None
    label: str | None
    reasons: ReferenceList
    # The free-text reason the code migration cleared (shown until a code is chosen).
    cleared_text: str | None = None

    @classmethod
    def unset(cls) -> VatExemption:
        return cls(None, None, ReferenceList(reference_lists.VAT_EXEMPTION_REASONS))

    @property
    def text(self) -> str | None:
        """« CODE — label » of the stored code."""
        if self.code is None:
            return None
        return f"{self.code} — {self.label}" if self.label else self.code

    @property
    def is_listed(self) -> bool | None:
        """Is the stored code in Chorus's list? None: no code, or the list was never fetched."""
        if self.code is None or not self.reasons.is_known:
            return None
        return self.code in self.reasons

    @property
    def problem(self) -> str | None:
        """What the administrator must do, in French (None when a listed code is chosen)."""
        if self.code is None:
            return (
                "Aucun motif d'exonération de TVA n'est choisi : les quittances et les factures "
                "d'honoraires sans TVA ne peuvent pas être envoyées à Chorus Pro. Choisissez un "
                "motif dans la liste de Chorus Pro (Administration › Paramètres › Système)."
            )
        if self.is_listed is False:
            return (
                f"Le motif d'exonération de TVA « {self.code} » n'est plus dans la liste de "
                "Chorus Pro : les envois exonérés de TVA seront refusés. Choisissez un autre "
                "motif (Administration › Paramètres › Système)."
            )
        return None

    def choices(self) -> list[tuple[str, str]]:
        """The choice list of the Système tab (see :meth:`ReferenceList.choices`)."""
        return self.reasons.choices(NONE_CHOSEN_CHOICE, stored=self.code, stored_text=self.text)

    def check(self, raw: str | None) -> tuple[str | None, str | None]:
        """Pure: the (code, label) to store for a submitted choice; ``ValueError`` (French)
        for anything that is not a code of the stored list nor the code already stored."""
        code = self.reasons.check_choice(raw, stored=self.code, refusal=CHOOSE_FROM_LIST)
        if code is None:
            return None, None
        return code, self.reasons.label_of(code) if code in self.reasons else self.label


def current(settings: chorus.ChorusSettings | None = None) -> VatExemption:
    """The stored choice, with the copy of the list read from the current API."""
    settings = settings or chorus.load()
    return VatExemption(
        code=settings.vat_exemption_code,
        label=settings.vat_exemption_label,
        reasons=reference_lists.load(
            reference_lists.VAT_EXEMPTION_REASONS, api_url=settings.api_url
        ),
        cleared_text=store.get(chorus.VAT_EXEMPTION_CLEARED_TEXT),
    )
