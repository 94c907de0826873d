"""Benchmark of the Quittances list on a large database (not a test).

Builds a fresh database with 100,000 receipts (2,500 contracts, 1,200 clients) by bulk
inserts, then measures the server time of ``/quittances`` through the Flask test client,
logged in, for typical requests, and compares it with a trivial page of the same app.
Also counts SQL statements per page for page sizes 25 and 100 (must be equal).

    .venv/bin/python bench/lists.py                      # SQLite (temporary file)
    .venv/bin/python bench/lists.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Target: p95 ≤ 150 ms per list request on SQLite; query count independent of page size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import add_user, analyze, bench_app, login  # noqa: E402  (after the path tweak for direct runs)
from portal.billing.models import Receipt  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.portfolio.models import BankAccount, Client, Company, Contract  # noqa: E402
from portal.search import search_key  # noqa: E402

CHUNK = 10_000
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def build(receipts: int, seed: int) -> dict[str, object]:
    """Bulk-insert the data set; returns values the scenarios need."""
    rng = random.Random(seed)
    contracts = max(receipts // 40, 1)
    clients = max(contracts * 12 // 25, 1)
    companies = 4
    add_user("gestionnaire")
    db.session.commit()

    db.session.execute(
        insert(Company.__table__),
        [
            {
                "id": i,
                "name": f"Cabinet {i}",
                "address": "1 rue de la Paix\n75002 Paris",
                "created_at": NOW,
            }
            for i in range(1, companies + 1)
        ],
    )
    db.session.execute(
        insert(BankAccount.__table__),
        [
            {
                "id": i,
                "company_id": i,
                "label": "Principal",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPP",
            }
            for i in range(1, companies + 1)
        ],
    )
    db.session.execute(
        insert(Client.__table__),
        [
            {
                "id": i,
                "kind": "entreprise",
                "name": f"Commune {i:05d}",
                "address": "Mairie",
                "postal_code": "75001",
                "city": "Paris",
                "siret": "21750001600019",
                "created_at": NOW,
                "search_key": search_key(f"Commune {i:05d}", "Paris"),
            }
            for i in range(1, clients + 1)
        ],
    )
    db.session.execute(
        insert(Contract.__table__),
        [
            {
                "id": i,
                "number": f"CT-{i:06d}",
                "client_id": (i - 1) % clients + 1,
                "company_id": (i - 1) % companies + 1,
                "bank_account_id": (i - 1) % companies + 1,
                "product": "Multirisque",
                "insurer": "SMACL",
                "starts_on": date(2020, 1, 1),
                "term": "advance",
                "is_chorus_enabled": i % 2 == 0,
                "created_at": NOW,
            }
            for i in range(1, contracts + 1)
        ],
    )
    start = date(2020, 1, 1)
    rows = []
    for i in range(1, receipts + 1):
        net = Decimal(rng.randint(10_000, 500_000)) / 100
        taxes = (net * Decimal("0.09")).quantize(Decimal("0.01"))
        total = net + taxes
        period_start = start + timedelta(days=rng.randint(0, 6 * 365))
        rows.append(
            {
                "id": i,
                "number": f"Q{i:08d}",
                "contract_id": rng.randint(1, contracts),
                "period_start_on": period_start,
                "period_end_on": period_start + timedelta(days=364),
                "entered_on": period_start - timedelta(days=rng.randint(0, 60)),
                "net_premium": net,
                "taxes": taxes,
                "total": total,
                "allocated_amount": total if rng.random() < 0.6 else Decimal("0.00"),
                "is_corrupted": rng.random() < 0.01,
                "chorus_state": "not_sent",
                "created_at": NOW,
            }
        )
        if len(rows) == CHUNK:
            db.session.execute(insert(Receipt.__table__), rows)
            rows = []
    if rows:
        db.session.execute(insert(Receipt.__table__), rows)
    db.session.commit()
    analyze()
    return {"client_id": clients // 2, "client_name": f"Commune {clients // 3:05d}"}


def measure(
    client: object, url: str, repeat: int, headers: dict[str, str] | None = None
) -> tuple[float, float]:
    """(p50, p95) in milliseconds of ``repeat`` requests after two warm-ups."""
    for _ in range(2):
        response = client.get(url, headers=headers)  # type: ignore[attr-defined]
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers=headers)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


@contextmanager
def counting_statements(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL URL (a temporary schema is used)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with bench_app("lists", args.database_url) as app:
        with app.app_context():
            started = time.perf_counter()
            values = build(args.receipts, args.seed)
            print(
                f"database: {db.engine.dialect.name}, {args.receipts:,} receipts built in "
                f"{time.perf_counter() - started:.1f} s"
            )
        client = app.test_client()
        login(client)

        baseline = measure(client, "/vendor/htmx.min.js", args.repeat)
        scenarios = [
            ("first page", "/quittances"),
            ("first page, HTMX fragment", "/quittances"),
            ("filter by client (id)", f"/quittances?client_id={values['client_id']}"),
            ("filter by client (name)", f"/quittances?client={values['client_name']}"),
            ("filter by number (prefix)", "/quittances?numero=Q0004321"),
            ("deep page (2000)", "/quittances?page=2000"),
            ("sort by client", "/quittances?tri=client"),
            ("not settled, by total", "/quittances?soldee=non&tri=-total"),
            ("period overlap", "/quittances?periode_du=2023-01-01&periode_au=2023-03-31"),
            ("100 per page", "/quittances?taille=100"),
        ]
        print(
            f"\nrepeat={args.repeat}; baseline /vendor/htmx.min.js: p50 {baseline[0]:.1f} ms, "
            f"p95 {baseline[1]:.1f} ms\n"
        )
        print(f"{'scenario':30} {'p50 ms':>8} {'p95 ms':>8} {'p50 ratio':>10} {'p95 ratio':>10}")
        worst = 0.0
        for label, path in scenarios:
            headers = {"HX-Request": "true"} if "HTMX" in label else None
            p50, p95 = measure(client, path, args.repeat, headers)
            worst = max(worst, p95)
            print(
                f"{label:30} {p50:8.1f} {p95:8.1f} {p50 / baseline[0]:10.1f} "
                f"{p95 / baseline[1]:10.1f}"
            )

        with app.app_context():
            engine = db.engine
        counts = {}
        # Outside any app context, as in production: each request loads its own session.
        for size in (25, 100):
            with counting_statements(engine) as statements:
                assert client.get(f"/quittances?taille={size}").status_code == 200
            counts[size] = len(statements)
        verdict = "independent of page size" if counts[25] == counts[100] else "DEPENDS ON SIZE"
        print(
            f"\nSQL statements per /quittances request: page size 25 → {counts[25]}, "
            f"page size 100 → {counts[100]} ({verdict})"
        )
        print(f"worst p95: {worst:.1f} ms (target ≤ 150 ms on SQLite)")
        return 0 if counts[25] == counts[100] else 1


if __name__ == "__main__":
    raise SystemExit(main())
