"""List filters read from the query string (one dataclass per list), and written back to it.

The URL is the state: every filter, the sort and the page live in ``request.args`` so a list can
be bookmarked, shared, restored by the browser history, and re-run for mass actions
("all N documents matching the filter"). Invalid values are ignored with a French warning.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Self

from portal.models_base import MAX_ROW_ID
from portal.pagination import requested_page
from portal.validators import InvalidValue, check_plausible_date, clean_amount
from portal.validators import parse_amount as parse_amount  # re-exported (its former home)

PAGE_SIZES = (25, 50, 100)
# "Statut Chorus" filter values that are the portal's own states, not Chorus status codes.
CHORUS_STATES = {"non_envoye": "not_sent", "en_cours": "in_progress", "envoye": "sent"}
CHORUS_STATUS_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,59}")
DEFAULT_PAGE_SIZE = 25
YES, NO = "oui", "non"
MAX_CHORUS_NUMBER = 2**63 - 1  # Chorus invoice ids are stored as BIGINT
_DIGITS = re.compile(r"[0-9]+")


def _text(args: Mapping[str, str], name: str, max_length: int = 100) -> str:
    return (args.get(name) or "").strip()[:max_length]


class _Reader:
    """Reads typed values from the query string, collecting French warnings."""

    def __init__(self, args: Mapping[str, str]) -> None:
        self.args = args
        self.warnings: list[str] = []

    def text(self, name: str, max_length: int = 100) -> str:
        return _text(self.args, name, max_length)

    def integer(self, name: str, label: str, maximum: int = MAX_ROW_ID) -> int | None:
        """A row id (or a number up to ``maximum``); out of range: ignored with a warning."""
        raw = self.text(name)
        if not raw:
            return None
        if not _DIGITS.fullmatch(raw):
            self.warnings.append(f"Filtre « {label} » ignoré : valeur invalide.")
            return None
        if len(raw) > len(str(maximum)) or not 0 < int(raw) <= maximum:
            self.warnings.append(f"Filtre « {label} » ignoré : valeur hors limites.")
            return None
        return int(raw)

    def day(self, name: str, label: str) -> date | None:
        raw = self.text(name)
        if not raw:
            return None
        try:
            if re.fullmatch(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", raw):
                day, month, year = (int(part) for part in raw.split("/"))
                value = date(year, month, day)
            else:
                value = date.fromisoformat(raw)
        except ValueError:
            self.warnings.append(f"Filtre « {label} » ignoré : date invalide.")
            return None
        try:
            return check_plausible_date(value)
        except InvalidValue as error:
            self.warnings.append(f"Filtre « {label} » ignoré : {_lower_first(str(error))}")
            return None

    def amount(self, name: str, label: str) -> Decimal | None:
        try:
            return clean_amount(self.text(name))
        except InvalidValue as error:
            self.warnings.append(f"Filtre « {label} » ignoré : {_lower_first(str(error))}")
            return None

    def yes_no(self, name: str) -> bool | None:
        raw = self.text(name).lower()
        if raw == YES:
            return True
        if raw == NO:
            return False
        return None

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = self.text(name)
        return raw if raw in allowed else default

    def chorus_status(self, name: str) -> str:
        raw = self.text(name, 60)
        if raw and raw not in CHORUS_STATES and not CHORUS_STATUS_CODE.fullmatch(raw):
            self.warnings.append("Filtre « Statut Chorus » ignoré : valeur invalide.")
            return ""
        return raw

    def page(self) -> int:
        return requested_page(self.text("page"))

    def size(self) -> int:
        raw = self.text("taille")
        return int(raw) if raw in {str(size) for size in PAGE_SIZES} else DEFAULT_PAGE_SIZE


def _lower_first(message: str) -> str:
    """« Montant invalide (…). » as the end of « Filtre … ignoré : montant invalide (…). »"""
    return message[:1].lower() + message[1:]


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    return str(value)


@dataclass(frozen=True)
class DocumentFilters:
    """Filters shared by the Quittances and Factures lists."""

    # Query-string name of each field (French, readable in the address bar).
    PARAMS: ClassVar[dict[str, str]] = {
        "number": "numero",
        "client": "client",
        "client_id": "client_id",
        "contract": "contrat",
        "contract_id": "contrat_id",
        "company_id": "societe",
        "entered_from": "saisie_du",
        "entered_to": "saisie_au",
        "settled": "soldee",
        "amount_min": "montant_min",
        "amount_max": "montant_max",
        "corrupted": "corrompue",
        "chorus_number": "chorus",
        "chorus_status": "statut_chorus",
        "sort": "tri",
        "page": "page",
        "size": "taille",
    }
    SORTS: ClassVar[tuple[str, ...]] = ("number", "entered_on", "client", "total")
    DEFAULT_SORT: ClassVar[str] = "-entered_on"

    number: str = ""
    client: str = ""
    client_id: int | None = None
    contract: str = ""
    contract_id: int | None = None
    company_id: int | None = None
    entered_from: date | None = None
    entered_to: date | None = None
    settled: bool | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    corrupted: bool | None = None
    # S17 "N° Chorus Pro": read only when dematerialization is enabled (S1).
    chorus_number: int | None = None
    # B1 "Statut Chorus": a portal state (CHORUS_STATES) or a Chorus status code; S1 only.
    chorus_status: str = ""
    sort: str = ""
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def sort_choices(cls) -> tuple[str, ...]:
        return cls.SORTS + tuple(f"-{key}" for key in cls.SORTS)

    @classmethod
    def _read(cls, reader: _Reader, chorus_enabled: bool) -> dict[str, Any]:
        p = cls.PARAMS
        values: dict[str, Any] = {
            "number": reader.text(p["number"], 40),
            "client": reader.text(p["client"]),
            "client_id": reader.integer(p["client_id"], "client"),
            "contract": reader.text(p["contract"], 40),
            "contract_id": reader.integer(p["contract_id"], "contrat"),
            "company_id": reader.integer(p["company_id"], "société"),
            "entered_from": reader.day(p["entered_from"], "saisie du"),
            "entered_to": reader.day(p["entered_to"], "saisie au"),
            "settled": reader.yes_no(p["settled"]),
            "amount_min": reader.amount(p["amount_min"], "montant minimum"),
            "amount_max": reader.amount(p["amount_max"], "montant maximum"),
            "corrupted": reader.yes_no(p["corrupted"]),
            "sort": reader.choice(p["sort"], cls.sort_choices(), cls.DEFAULT_SORT),
            "page": reader.page(),
            "size": reader.size(),
        }
        if chorus_enabled:
            values["chorus_number"] = reader.integer(
                p["chorus_number"], "N° Chorus Pro", MAX_CHORUS_NUMBER
            )
            values["chorus_status"] = reader.chorus_status(p["chorus_status"])
        return values

    @classmethod
    def from_args(cls, args: Mapping[str, str], *, chorus_enabled: bool = False) -> Self:
        """Parse ``request.args``; unknown or invalid values are dropped with a warning."""
        reader = _Reader(args)
        values = cls._read(reader, chorus_enabled)
        return cls(**values, warnings=tuple(reader.warnings))

    @classmethod
    def from_selection_form(
        cls, form: Mapping[str, str], *, chorus_enabled: bool = False, prefix: str = "filtre-"
    ) -> Self:
        """The criteria posted by the selection toolbar ("all N matching"), as filters."""
        args = {key[len(prefix) :]: value for key, value in form.items() if key.startswith(prefix)}
        return cls.from_args(args, chorus_enabled=chorus_enabled)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_args(self, **changes: Any) -> dict[str, str]:
        """Query-string parameters of these filters (defaults omitted), for ``url_for``."""
        current = self.replace(**changes) if changes else self
        defaults = type(self)(sort=self.DEFAULT_SORT)
        args: dict[str, str] = {}
        for name, param in self.PARAMS.items():
            value = getattr(current, name)
            if value is None or value == "" or value == getattr(defaults, name):
                continue
            args[param] = _format(value)
        return args

    def criteria_args(self) -> dict[str, str]:
        """Only the filtering criteria (no sort, page or size): what defines "all matching"."""
        args = self.to_args()
        for name in ("sort", "page", "size"):
            args.pop(self.PARAMS[name], None)
        return args

    @property
    def is_filtered(self) -> bool:
        return bool(self.criteria_args())

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-") or self.DEFAULT_SORT.lstrip("-")

    @property
    def sort_descending(self) -> bool:
        return (self.sort or self.DEFAULT_SORT).startswith("-")

    def sort_toggle(self, key: str) -> str:
        """The ``tri`` value a column header links to (flip the direction of the current key)."""
        if self.sort_key == key:
            return key if self.sort_descending else f"-{key}"
        return f"-{key}" if key in ("entered_on", "period_start", "total") else key


@dataclass(frozen=True)
class ReceiptFilters(DocumentFilters):
    """Filters of the Quittances list (adds the period, which fee invoices do not have)."""

    PARAMS: ClassVar[dict[str, str]] = {
        **DocumentFilters.PARAMS,
        "period_from": "periode_du",
        "period_to": "periode_au",
    }
    SORTS: ClassVar[tuple[str, ...]] = ("number", "entered_on", "period_start", "client", "total")

    period_from: date | None = None
    period_to: date | None = None

    @classmethod
    def _read(cls, reader: _Reader, chorus_enabled: bool) -> dict[str, Any]:
        values = super()._read(reader, chorus_enabled)
        values["period_from"] = reader.day(cls.PARAMS["period_from"], "période du")
        values["period_to"] = reader.day(cls.PARAMS["period_to"], "période au")
        return values


@dataclass(frozen=True)
class FeeInvoiceFilters(DocumentFilters):
    """Filters of the Factures d'honoraires list."""


@dataclass(frozen=True)
class PaymentFilters:
    """Filters of the Encaissements list."""

    PARAMS: ClassVar[dict[str, str]] = {
        "client": "client",
        "client_id": "client_id",
        "received_from": "du",
        "received_to": "au",
        "method": "mode",
        "unallocated": "non_affecte",
        "page": "page",
        "size": "taille",
    }

    client: str = ""
    client_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None
    method: str = ""
    unallocated: bool | None = None
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str], methods: tuple[str, ...] = ()) -> Self:
        reader = _Reader(args)
        p = cls.PARAMS
        values = cls(
            client=reader.text(p["client"]),
            client_id=reader.integer(p["client_id"], "client"),
            received_from=reader.day(p["received_from"], "du"),
            received_to=reader.day(p["received_to"], "au"),
            method=reader.choice(p["method"], methods, ""),
            unallocated=reader.yes_no(p["unallocated"]),
            page=reader.page(),
            size=reader.size(),
        )
        return dataclasses.replace(values, warnings=tuple(reader.warnings))

    def to_args(self, **changes: Any) -> dict[str, str]:
        current = dataclasses.replace(self, **changes) if changes else self
        defaults = type(self)()
        return {
            param: _format(getattr(current, name))
            for name, param in self.PARAMS.items()
            if getattr(current, name) not in (None, "")
            and getattr(current, name) != getattr(defaults, name)
        }
