"""Benchmark of the automatic daily run's selection and of its preview (not a test).

Builds a fresh database with 200,000 receipts and 20,000 fee invoices (bulk inserts; 10,000
contracts of which about 12 % are Chorus-enabled; dates spread over two years around the run
date; most older documents of Chorus contracts already sent), then times:

- the due selection exactly as the run executes it (``daily_queries.due_select``, all rows);
- the preview's first page as the screen computes it (counts per type + first page of each
  type), and the whole "Prochain envoi automatique" page through the Flask test client;

against a plain ``SELECT COUNT(*) FROM receipts`` on the same database.

    .venv/bin/python bench/daily.py                      # SQLite (temporary file)
    .venv/bin/python bench/daily.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Target: the selection ≤ 1 s on SQLite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import add_user, analyze, bench_app, login  # noqa: E402  (after the path tweak for direct runs)
from portal.billing.models import FeeInvoice, Receipt  # noqa: E402
from portal.clock import today  # noqa: E402
from portal.daily import queries as daily_queries  # noqa: E402
from portal.dematerialization.models import (  # noqa: E402
    DocumentType,
    RecipientService,
    RecipientStructure,
)
from portal.extensions import db  # noqa: E402
from portal.portfolio.models import BankAccount, Client, Company, Contract  # noqa: E402
from portal.settings import chorus as keys  # noqa: E402
from portal.settings import store  # noqa: E402

CHUNK = 10_000
NOW = datetime(2026, 1, 1, tzinfo=UTC)
# The data is laid out around today so the HTTP page (next run: today or tomorrow) sees it too.
RUN_ON = today()
CUTOFF = RUN_ON - timedelta(days=500)
SIRETS = ["21750001600019", "11000201100044", "21588139298698", "21130055300016"]


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(model.__table__), rows[start : start + CHUNK])


def _state(rng: random.Random, chorus: bool, due_from: date) -> str:
    """Older documents of Chorus contracts were mostly sent by earlier runs."""
    if chorus and due_from < RUN_ON - timedelta(days=20) and rng.random() < 0.95:
        return "sent"
    return "not_sent"


def build(receipts: int, fee_invoices: int, seed: int) -> None:
    """Bulk-insert the data set and the Chorus settings of the run."""
    rng = random.Random(seed)
    contracts = max(receipts // 20, 1)
    clients = max(contracts // 2, 1)
    companies = 4
    add_user("lecture")
    _insert(
        Company,
        [
            {"id": i, "name": f"Cabinet {i}", "address": "1 rue de la Paix", "created_at": NOW}
            for i in range(1, companies + 1)
        ],
    )
    _insert(
        BankAccount,
        [
            {
                "id": i,
                "company_id": i,
                "label": "Principal",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPP",
                "chorus_supplier_service_id": 35000001,
                "chorus_bank_details_id": 45000001,
            }
            for i in range(1, companies + 1)
        ],
    )
    public = {i for i in range(1, clients + 1) if rng.random() < 0.15}
    _insert(
        Client,
        [
            {
                "id": i,
                "kind": "entreprise" if i in public or rng.random() < 0.5 else "particulier",
                "name": f"{'Commune' if i in public else 'Client'} {i:05d}",
                "address": "Mairie",
                "postal_code": "75001",
                "city": "Paris",
                "siret": rng.choice(SIRETS) if i in public else None,
                "created_at": NOW,
            }
            for i in range(1, clients + 1)
        ],
    )
    chorus_contracts: set[int] = set()
    contract_rows = []
    terms: dict[int, str] = {}
    for i in range(1, contracts + 1):
        client_id = (i - 1) % clients + 1
        chorus = client_id in public and rng.random() < 0.8
        if chorus:
            chorus_contracts.add(i)
        terms[i] = "arrears" if rng.random() < 0.2 else "advance"
        contract_rows.append(
            {
                "id": i,
                "number": f"CT-{i:06d}",
                "client_id": client_id,
                "company_id": (i - 1) % companies + 1,
                "bank_account_id": (i - 1) % companies + 1,
                "product": "Multirisque",
                "insurer": "SMACL",
                "starts_on": date(2020, 1, 1),
                "term": terms[i],
                "is_chorus_enabled": chorus,
                "chorus_service_code": "FINANCES" if chorus and rng.random() < 0.9 else None,
                "created_at": NOW,
            }
        )
    _insert(Contract, contract_rows)
    structures = []
    services = []
    for index, siret in enumerate(SIRETS[:3], start=1):
        structures.append(
            {
                "id": index,
                "siret": siret,
                "is_found": True,
                "chorus_structure_id": 26000000 + index,
                "designation": f"Structure {index}",
                "is_active": True,
                "service_code_required": index == 2,
                "engagement_required": index == 3,
                "refreshed_at": NOW,
            }
        )
        services.append({"structure_id": index, "code": "FINANCES", "label": "Finances"})
    _insert(RecipientStructure, structures)
    _insert(RecipientService, services)

    first = RUN_ON - timedelta(days=365)
    rows = []
    for i in range(1, receipts + 1):
        contract_id = rng.randint(1, contracts)
        start = first + timedelta(days=rng.randint(0, 2 * 365))
        end = start + timedelta(days=rng.choice((90, 181, 364)))
        effective = end if terms[contract_id] == "arrears" else start
        net = Decimal(rng.randint(10_000, 500_000)) / 100
        taxes = (net * Decimal("0.09")).quantize(Decimal("0.01"))
        rows.append(
            {
                "id": i,
                "number": f"Q{i:08d}",
                "contract_id": contract_id,
                "period_start_on": start,
                "period_end_on": end,
                "entered_on": start - timedelta(days=rng.randint(0, 60)),
                "net_premium": net,
                "taxes": taxes,
                "total": net + taxes,
                "allocated_amount": Decimal("0.00"),
                "is_corrupted": rng.random() < 0.005,
                "chorus_state": _state(rng, contract_id in chorus_contracts, effective),
                "pdf_stored_name": f"{i:032x}.pdf" if rng.random() < 0.97 else None,
                "created_at": NOW,
            }
        )
    _insert(Receipt, rows)
    rows = []
    for i in range(1, fee_invoices + 1):
        contract_id = rng.randint(1, contracts)
        entered = first + timedelta(days=rng.randint(0, 365 + 15))
        rows.append(
            {
                "id": i,
                "number": f"FH{i:07d}",
                "client_id": (contract_id - 1) % clients + 1,
                "contract_id": contract_id if rng.random() < 0.9 else None,
                "entered_on": entered,
                "amount_ht": Decimal("500.00"),
                "vat_rate": Decimal("20.00"),
                "vat_amount": Decimal("100.00"),
                "total": Decimal("600.00"),
                "allocated_amount": Decimal("0.00"),
                "is_corrupted": False,
                "chorus_state": _state(rng, contract_id in chorus_contracts, entered),
                "pdf_stored_name": f"{i:032x}.pdf",
                "created_at": NOW,
            }
        )
    _insert(FeeInvoice, rows)
    store.put_bool(keys.CHORUS_ENABLED, True)
    store.put_bool(keys.AUTO_SEND_ENABLED, True)
    store.put(keys.DELAY_RECEIPTS, "30")
    store.put(keys.DELAY_FEE_INVOICES, "0")
    store.put_date(keys.CUTOFF_DATE, CUTOFF)
    store.put(keys.VAT_EXEMPTION_CODE, "ASSURANCE_261C")  # receipts are sent VAT-exempt
    db.session.commit()
    analyze()


def explain(query: Any) -> None:
    """Print the database's plan of ``query`` (bound parameters inlined)."""
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN ANALYZE "
    for row in db.session.execute(sa.text(prefix + sql)):
        print("  ", *row)


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(median ms, max ms, last result) of ``repeat`` runs after one warm-up."""
    result = action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--receipts", type=int, default=200_000)
    parser.add_argument("--fee-invoices", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", help="PostgreSQL URL (a temporary schema is used)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--explain", action="store_true", help="print the selection's plan")
    parser.add_argument("--keep", type=Path, help="SQLite only: build into this file and keep it")
    args = parser.parse_args()

    reuse = args.keep is not None and args.keep.exists()
    with bench_app("daily", args.database_url, sqlite_file=args.keep) as app:
        with app.app_context():
            started = time.perf_counter()
            if not reuse:
                build(args.receipts, args.fee_invoices, args.seed)
                print(
                    f"database: {db.engine.dialect.name}, {args.receipts:,} receipts and "
                    f"{args.fee_invoices:,} fee invoices built in "
                    f"{time.perf_counter() - started:.1f} s"
                )
            settings = keys.load()
            if args.explain:
                explain(daily_queries.due_select(RUN_ON, settings))

            def count_receipts() -> object:
                return db.session.scalar(sa.text("SELECT COUNT(*) FROM receipts"))

            def selection() -> object:
                return db.session.execute(daily_queries.due_select(RUN_ON, settings)).all()

            def preview_first_page() -> object:
                counts = daily_queries.preview_counts(RUN_ON, settings)
                return [
                    daily_queries.preview(RUN_ON, settings, t, total=counts.total(t))
                    for t in DocumentType
                ]

            base, base_max, _ = timed(count_receipts, args.repeat)
            sel, sel_max, rows = timed(selection, args.repeat)
            pre, pre_max, _ = timed(preview_first_page, args.repeat)
            counts = daily_queries.preview_counts(RUN_ON, settings)
            due = len(rows)  # type: ignore[arg-type]
            print(
                f"run of {RUN_ON:%d/%m/%Y}: {due:,} due documents "
                f"({counts.total_to_send:,} to send, {counts.total_to_skip:,} to skip)"
            )
            db.session.remove()

        client = app.test_client()
        login(client)

        def page() -> object:
            response = client.get("/envoi-automatique/apercu")
            assert response.status_code == 200, response.status_code
            return response

        web, web_max, _ = timed(page, args.repeat)

        print(f"\nrepeat={args.repeat} (median, max in ms; ratio = median / COUNT(*) median)\n")
        print(f"{'measure':44} {'median':>9} {'max':>9} {'ratio':>8}")
        for label, median, worst in [
            ("SELECT COUNT(*) FROM receipts (baseline)", base, base_max),
            ("due selection (daily_queries.due_select, all rows)", sel, sel_max),
            ("preview first page (counts + 2 pages)", pre, pre_max),
            ("preview page over HTTP (next run's date)", web, web_max),
        ]:
            print(f"{label:44} {median:9.1f} {worst:9.1f} {median / base:8.1f}")
        verdict = "OK" if sel_max <= 1000 else "TOO SLOW"
        print(f"\nselection worst {sel_max:.0f} ms: {verdict} (target ≤ 1000 ms on SQLite)")
        on_sqlite = not args.database_url or args.database_url.startswith("sqlite")
        return 0 if sel_max <= 1000 or not on_sqlite else 1


if __name__ == "__main__":
    raise SystemExit(main())
