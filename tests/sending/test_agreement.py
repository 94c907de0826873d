"""THE agreement test: the Python rules and their SQL twins give the same answers.

One fixture set — each S9/B3 condition alone, many at once, both document types, both
terms, dates around the delay and cut-off boundaries, recipients found / not found /
inactive / never refreshed / absent, services unknown / inactive / reserved / requiring an
engagement, fee invoices with and without VAT, numbers Chorus Pro can or cannot take —
then, for every document and every setup (S1 on / off, a VAT exemption code chosen or not):
same eligible flag, same blocking reason codes, same "not yet checked" note, same due flag.
Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.billing.models import FeeInvoice, Receipt
from portal.daily import queries as daily_queries
from portal.daily import rules as daily_rules
from portal.extensions import db
from portal.sending import queries, rules
from tests import factories

TODAY = date(2026, 3, 15)
CUTOFF = date(2025, 12, 31)
DELAYS = daily_rules.Delays(receipts_days=30, fee_invoices_days=10)

SERVICES = [
    {"code": "FACTURES_PUBLIQUES", "is_active": True},
    {"code": "SERVICE-FIN", "is_active": True},
    {"code": "ANCIEN", "is_active": False},
    {"code": "TECHNIQUE", "is_active": True, "engagement_required": True},
    {"code": "ANCIEN-TECH", "is_active": False, "engagement_required": True},
    # Never consulted (B3: only the services contracts use are): the rule is unknown.
    {"code": "NOUVEAU", "is_active": True, "engagement_required": None},
    {"code": "ANCIEN-NOUVEAU", "is_active": False, "engagement_required": None},
]

SERVICE_CODE_POOL = [
    *(None, "", "SERVICE-FIN", "SERVICE-FIN", "INCONNU", "FACTURES_PUBLIQUES", "ANCIEN"),
    *("TECHNIQUE", "ANCIEN-TECH", " TECHNIQUE", "NOUVEAU", "ANCIEN-NOUVEAU"),
]

NO_STRUCTURE = object()  # marker: no cached structure for this SIRET
_INVALID_NUMBERS = itertools.count(1)  # unique numbers Chorus cannot take (S9_NUMBER_INVALID)
ZERO_VAT = {"vat_rate": Decimal("0.00"), "vat_amount": Decimal("0.00"), "total": Decimal("500.00")}


@dataclass(frozen=True)
class Setup:
    """The settings the rules take as arguments: S1 and "a VAT exemption code is chosen"."""

    chorus_enabled: bool = True
    has_vat_exemption_code: bool = True

    @property
    def arguments(self) -> dict[str, bool]:
        return {
            "chorus_enabled": self.chorus_enabled,
            "has_vat_exemption_code": self.has_vat_exemption_code,
        }


ON = Setup()
NO_VAT_CODE = Setup(has_vat_exemption_code=False)
SETUPS = (ON, Setup(chorus_enabled=False), NO_VAT_CODE)


@dataclass
class Case:
    kind: str  # "receipt" | "fee_invoice"
    client: dict[str, Any] = field(default_factory=dict)
    contract: dict[str, Any] | None = field(default_factory=dict)  # None: fee invoice alone
    document: dict[str, Any] = field(default_factory=dict)
    structure: dict[str, Any] | object = field(default_factory=dict)
    services: list[dict[str, Any]] = field(default_factory=lambda: SERVICES)


# -- the fixture set ----------------------------------------------------------------------------

ALONE: list[tuple[str, dict[str, Any] | object]] = [
    ("client", {"kind": "particulier"}),
    ("client", {"siret": None}),
    ("client", {"siret": ""}),
    ("client", {"siret": "   "}),
    ("contract", {"is_chorus_enabled": False}),
    ("contract", {"chorus_service_code": None}),
    ("contract", {"chorus_service_code": ""}),
    ("contract", {"chorus_service_code": "  "}),
    ("contract", {"chorus_service_code": " SERVICE-FIN "}),
    ("contract", {"chorus_service_code": "INCONNU"}),
    ("contract", {"chorus_service_code": "FACTURES_PUBLIQUES"}),
    ("contract", {"chorus_service_code": "ANCIEN"}),
    ("contract", {"chorus_service_code": "TECHNIQUE"}),
    ("contract", {"chorus_service_code": "TECHNIQUE", "chorus_engagement_number": "EJ-1"}),
    ("contract", {"chorus_service_code": "TECHNIQUE", "chorus_engagement_number": "  "}),
    ("contract", {"chorus_service_code": "ANCIEN-TECH"}),
    ("contract", {"chorus_service_code": "NOUVEAU"}),
    ("contract", {"chorus_service_code": "NOUVEAU", "chorus_engagement_number": "EJ-4"}),
    ("contract", {"chorus_service_code": "ANCIEN-NOUVEAU"}),
    ("contract", {"chorus_engagement_number": "EJ-2"}),
    ("contract", {"term": "arrears"}),
    ("document", {"pdf_stored_name": None}),
    ("document", {"pdf_stored_name": ""}),
    ("document", {"chorus_state": "in_progress"}),
    ("document", {"chorus_state": "sent", "chorus_invoice_id": 123}),
    ("document", {"is_corrupted": True}),
    # Numbers Chorus Pro cannot take (S9_NUMBER_INVALID), and the longest one it can.
    ("document", {"number": "Q 2026/01"}),
    ("document", {"number": "Q2026-000000000000001"}),
    ("document", {"number": "FACTURE-É1"}),
    ("document", {"number": "q.2026.1"}),
    ("document", {"number": "A+b-C_d/2026-0000001"}),
    ("structure", NO_STRUCTURE),
    ("structure", {"refreshed_at": None}),
    ("structure", {"refreshed_at": None, "is_found": False}),
    ("structure", {"is_found": False}),
    ("structure", {"is_active": False}),
    ("structure", {"service_code_required": True}),
    ("structure", {"engagement_required": True}),
    ("structure", {"engagement_or_service": True}),
    ("services", []),
]

TOGETHER: list[dict[str, Any]] = [
    {
        "client": {"kind": "particulier", "siret": None},
        "contract": {"is_chorus_enabled": False, "chorus_service_code": None},
        "document": {"pdf_stored_name": None, "chorus_state": "sent", "is_corrupted": True},
    },
    {
        "contract": {"chorus_service_code": None},
        "structure": {
            "service_code_required": True,
            "engagement_required": True,
            "engagement_or_service": True,
        },
    },
    {
        "contract": {"chorus_service_code": "ANCIEN-TECH"},
        "structure": {"is_active": False, "engagement_required": True},
    },
    {
        "contract": {"chorus_service_code": None, "chorus_engagement_number": "EJ-3"},
        "structure": {"engagement_or_service": True, "service_code_required": True},
    },
    {
        "client": {"kind": "particulier"},
        "structure": {"is_found": False},
        "services": [],
        "document": {"chorus_state": "in_progress"},
    },
]


def _dated(kind: str, rng: random.Random) -> dict[str, Any]:
    """Dates around the cut-off and the delay boundaries of ``TODAY`` (± one day)."""
    around_cutoff = [CUTOFF - timedelta(days=1), CUTOFF, CUTOFF + timedelta(days=1)]
    delay = DELAYS.receipts_days if kind == "receipt" else DELAYS.fee_invoices_days
    limit = TODAY + timedelta(days=delay)
    around_limit = [limit - timedelta(days=2 - n) for n in range(5)]
    if kind == "fee_invoice":
        return {"entered_on": rng.choice([*around_cutoff, *around_limit, TODAY])}
    start = rng.choice([*around_limit, TODAY, TODAY - timedelta(days=200)])
    end = rng.choice([*around_limit, start + timedelta(days=364)])
    return {
        "entered_on": rng.choice([*around_cutoff, TODAY - timedelta(days=40)]),
        "period_start_on": start,
        "period_end_on": end,
    }


def _random_case(rng: random.Random) -> Case:
    kind = rng.choice(["receipt", "fee_invoice"])
    choose = rng.choice

    def sometimes(value: Any, default: Any, p: float = 0.25) -> Any:
        return value if rng.random() < p else default

    client = {
        "kind": sometimes("particulier", "entreprise"),
        "siret": sometimes(choose([None, "", "  "]), "unique", 0.15),
    }
    contract: dict[str, Any] | None = {
        "is_chorus_enabled": sometimes(False, True),
        "term": choose(["advance", "arrears"]),
        "chorus_service_code": choose(SERVICE_CODE_POOL),
        "chorus_engagement_number": choose([None, None, "", " ", "EJ-9"]),
    }
    if kind == "fee_invoice" and rng.random() < 0.2:
        contract = None
    document = {
        **sometimes({"number": f"N° {next(_INVALID_NUMBERS)}"}, {}, 0.1),
        "pdf_stored_name": sometimes(choose([None, ""]), "doc.pdf", 0.2),
        "chorus_state": sometimes(choose(["in_progress", "sent"]), "not_sent", 0.2),
        "is_corrupted": sometimes(True, False, 0.1),
        **_dated(kind, rng),
        **(sometimes(ZERO_VAT, {}, 0.3) if kind == "fee_invoice" else {}),
    }
    structure: dict[str, Any] | object
    if rng.random() < 0.2:
        structure = NO_STRUCTURE
    else:
        structure = {
            "refreshed_at": sometimes(None, "now", 0.1),
            "is_found": sometimes(False, True, 0.15),
            "is_active": sometimes(False, True, 0.15),
            "service_code_required": sometimes(True, False, 0.3),
            "engagement_required": sometimes(True, False, 0.3),
            "engagement_or_service": sometimes(True, False, 0.3),
        }
    services = rng.choice([SERVICES, SERVICES[:2], []])
    return Case(kind, client, contract, document, structure, services)


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for kind in ("receipt", "fee_invoice"):
        cases.append(Case(kind))
        for part, change in ALONE:
            case = Case(kind)
            if part == "structure":
                case.structure = change
            elif part == "services":
                case.services = change  # type: ignore[assignment]
            else:
                getattr(case, part).update(change)
            cases.append(case)
        cases.extend(Case(kind, **together) for together in TOGETHER)
    cases.append(Case("fee_invoice", contract=None))
    cases.append(Case("fee_invoice", contract=None, structure={"is_active": False}))
    cases.append(Case("fee_invoice", contract=None, client={"siret": None}))
    cases.append(Case("fee_invoice", document=dict(ZERO_VAT)))  # sent as EXONERATION
    cases.append(Case("fee_invoice", contract=None, document=dict(ZERO_VAT)))
    rng = random.Random(20261127)
    cases.extend(_random_case(rng) for _ in range(300))
    return cases


# -- building the cases in the database ---------------------------------------------------------


class Builder:
    def __init__(self) -> None:
        self.company = factories.make_company()
        self.account = factories.make_bank_account(self.company)
        self.serial = 0

    def siret(self) -> str:
        self.serial += 1
        return f"{90000000000000 + self.serial}"

    def build(self, case: Case) -> Receipt | FeeInvoice:
        client_values = {"siret": "unique", **case.client}
        if client_values["siret"] == "unique":
            client_values["siret"] = self.siret()
        client = factories.make_client(**client_values)
        siret = client.siret
        if siret and siret.strip() and case.structure is not NO_STRUCTURE:
            assert isinstance(case.structure, dict)
            values = dict(case.structure)
            if values.get("refreshed_at") == "now":
                values.pop("refreshed_at")
            factories.make_recipient(siret, services=[dict(s) for s in case.services], **values)
        contract = None
        if case.contract is not None:
            contract = factories.make_contract(
                client=client, company=self.company, bank_account=self.account, **case.contract
            )
        document_values = {"pdf_stored_name": "doc.pdf", **case.document}
        if case.kind == "receipt":
            assert contract is not None
            return factories.make_receipt(contract=contract, **document_values)
        return factories.make_fee_invoice(client=client, contract=contract, **document_values)


def key(document: Receipt | FeeInvoice) -> tuple[str, int]:
    return ("receipt" if isinstance(document, Receipt) else "fee_invoice", document.id)


def python_due(documents: list[Receipt | FeeInvoice], today: date) -> set[tuple[str, int]]:
    return {
        key(d)
        for d in documents
        if daily_rules.is_due(
            d,
            today=today,
            delay_receipts_days=DELAYS.receipts_days,
            delay_fee_invoices_days=DELAYS.fee_invoices_days,
            cutoff=CUTOFF,
        )
    }


MODELS = (("receipt", Receipt), ("fee_invoice", FeeInvoice))


def sql_ids(where: Any) -> set[tuple[str, int]]:
    found = set()
    for kind, model in MODELS:
        statement = (
            select(model.id).select_from(queries.eligibility_joins(model)).where(where(model))
        )
        found |= {(kind, row_id) for row_id in db.session.scalars(statement)}
    return found


@dataclass
class World:
    """Every answer, computed once on one fixture set (building it takes a few seconds)."""

    size: int = 0
    python: dict[Setup, dict[tuple[str, int], rules.Eligibility]] = field(default_factory=dict)
    sql: dict[Setup, dict[tuple[str, int], dict[str, Any]]] = field(default_factory=dict)
    sql_duplicates: int = 0
    eligible_where: dict[Setup, set[tuple[str, int]]] = field(default_factory=dict)
    due_python: dict[int, set[tuple[str, int]]] = field(default_factory=dict)
    due_sql: dict[int, set[tuple[str, int]]] = field(default_factory=dict)
    daily_rows: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[tuple[str, int], str] = field(default_factory=dict)
    effective: dict[tuple[str, int], date] = field(default_factory=dict)


def _observe() -> World:
    builder = Builder()
    documents = [builder.build(case) for case in all_cases()]
    db.session.commit()
    world = World(size=len(documents))
    world.numbers = {key(d): d.number for d in documents}
    world.effective = {key(d): daily_rules.effective_date(d) for d in documents}
    for setup in SETUPS:
        world.python[setup] = {
            key(d): queries.document_eligibility(d, **setup.arguments) for d in documents
        }
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for kind, model in MODELS:
            for row in db.session.execute(queries.eligibility_select(model, **setup.arguments)):
                world.sql_duplicates += (kind, row.id) in rows
                rows[(kind, row.id)] = dict(row._mapping)
        world.sql[setup] = rows
        world.eligible_where[setup] = sql_ids(
            lambda model, setup=setup: queries.eligible_condition(model, **setup.arguments)
        )
    for shift in (-1, 0, 1):
        today = TODAY + timedelta(days=shift)
        world.due_python[shift] = python_due(documents, today)
        world.due_sql[shift] = sql_ids(
            lambda model, today=today: daily_queries.due_condition(
                model, today=today, delays=DELAYS, cutoff=CUTOFF
            )
        )
    daily = daily_queries.due_documents_select(
        today=TODAY, delays=DELAYS, cutoff=CUTOFF, **ON.arguments
    )
    world.daily_rows = [dict(row._mapping) for row in db.session.execute(daily)]
    return world


@pytest.fixture(scope="module")
def world(app: Flask) -> World:
    with app.app_context():
        try:
            return _observe()
        finally:
            db.session.rollback()
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())


class Row:
    """A stored row mapping seen like a result row (for ``eligibility_from_row``)."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


# -- the agreement ------------------------------------------------------------------------------


@pytest.mark.parametrize("setup", SETUPS, ids=repr)
def test_python_and_sql_agree_on_eligibility_and_every_reason(world: World, setup: Setup) -> None:
    expected = world.python[setup]
    rows = world.sql[setup]
    assert world.sql_duplicates == 0, "the joins duplicated a document"
    assert set(rows) == set(expected)
    mismatches = []
    for document_key, verdict in expected.items():
        row = rows[document_key]
        for column, value in row.items():
            if column != "id":
                assert value is True or value is False, f"{column} is {value!r} (NULL leaked)"
        from_sql = queries.eligibility_from_row(Row(row))
        if (row["eligible"], from_sql) != (verdict.eligible, verdict):
            mismatches.append((document_key, sorted(verdict.codes), sorted(from_sql.codes)))
    assert not mismatches


@pytest.mark.parametrize("setup", SETUPS, ids=repr)
def test_the_sql_eligible_condition_selects_exactly_the_eligible_documents(
    world: World, setup: Setup
) -> None:
    expected = {k for k, v in world.python[setup].items() if v.eligible}
    assert world.eligible_where[setup] == expected
    if setup.chorus_enabled:
        assert expected, "the fixture set has eligible documents"


@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_python_and_sql_agree_on_the_due_flag(world: World, shift: int) -> None:
    expected = world.due_python[shift]
    assert world.due_sql[shift] == expected
    assert expected, "the fixture set has due documents"
    assert len(expected) < world.size / 2, "and documents that are not due"


def test_the_due_flag_changes_at_the_delay_boundary_for_some_documents(world: World) -> None:
    assert world.due_python[-1] < world.due_python[0] < world.due_python[1]


def test_the_daily_selection_lists_due_documents_with_the_same_verdicts_and_dates(
    world: World,
) -> None:
    rows = world.daily_rows
    assert {(row["document_type"], row["document_id"]) for row in rows} == world.due_python[0]
    for row in rows:
        document_key = (row["document_type"], row["document_id"])
        verdict = world.python[ON][document_key]
        assert row["number"] == world.numbers[document_key]
        assert row["effective_on"] == world.effective[document_key]
        assert row["eligible"] == verdict.eligible
        assert queries.eligibility_from_row(Row(row)) == verdict
    assert [row["effective_on"] for row in rows] == sorted(row["effective_on"] for row in rows)
    assert {row["eligible"] for row in rows} == {True, False}, "both sent and skipped tonight"


def test_the_fixture_set_exercises_every_reason_alone_and_combined(world: World) -> None:
    verdicts = [verdict for verdicts in world.python.values() for verdict in verdicts.values()]
    alone = {next(iter(v.codes)) for v in verdicts if len(v.codes) == 1}
    seen = {code for v in verdicts for code in v.codes}
    assert seen == set(rules.BLOCKING_CODES)
    # Those that cannot occur alone: the B3 "required" ones always come with S9's own check.
    assert set(rules.BLOCKING_CODES) - alone == {
        "B3_SERVICE_CODE_REQUIRED",
        "B3_ENGAGEMENT_OR_SERVICE_REQUIRED",
    }
    assert max(len(v.codes) for v in verdicts) >= 6
    assert any(not v.eligible for v in verdicts) and any(v.eligible for v in verdicts)
    notes = {r.code for v in verdicts for r in v.reasons if not r.blocking}
    assert notes == set(rules.NOTE_CODES) == {"B3_NOT_CHECKED", "B3_SERVICE_NOT_CHECKED"}


def test_every_blocking_reason_has_a_sql_twin_for_the_models_it_applies_to() -> None:
    receipt_codes = queries.reason_conditions(Receipt, **ON.arguments)
    fee_codes = queries.reason_conditions(FeeInvoice, **ON.arguments)
    assert tuple(receipt_codes) == rules.RECEIPT_CODES
    assert tuple(fee_codes) == rules.FEE_INVOICE_CODES
