"""Benchmark of sending documents to Chorus Pro through the job runner (not a test).

Runs the Chorus Pro emulator in its own process (as Chorus is another machine), builds a
fresh database of sendable receipts (SQLite, or a temporary PostgreSQL schema), and measures:

- throughput: N documents with ``--latency-ms`` added to every Chorus call, with 1, 4 and 8
  workers: documents per second and the ratio to the ideal
  ``N × calls_per_document × latency / workers`` (2 calls per document: upload + submit);
- overhead: the same send with zero latency, minus the time the same Chorus calls take from
  a bare client, per document (the portal's own cost: claims, commits, audit, reports);
- memory (``memory`` sub-command, run in a fresh process): one document with 12 secondary
  attachments of 9.5 MB each, peak RSS growth of the process;
- recipients (``recipients`` sub-command, B3): ``--documents`` receipts spread over
  ``--structures`` public structures of ``--services`` services each (an emulator directory
  file written for the run), on contracts using one or two services per structure; sent at
  ``--workers`` (4 by default) on a cold recipient cache, then once more as a second job
  (the cache is then fresh): throughput, ratio to the same ideal, and the **Chorus calls
  per document**, every operation counted by the emulator's ``/_emulator/stats``
  (upload + submit + the amortised lookups: per structure ``rechercher``, ``consulter``,
  ``rechercher/services`` (one page) and one ``consulter/service`` per service used).

    .venv/bin/python bench/send.py                       # 1,000 documents, 50 ms latency
    .venv/bin/python bench/send.py --documents 200 --workers 4 8
    .venv/bin/python bench/send.py memory
    .venv/bin/python bench/send.py recipients            # 1,000 documents, 20 × 200 services
    .venv/bin/python bench/send.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Targets: ≥ 0.8 of ideal at 4 workers; ≤ 15 ms of portal overhead per document at zero
latency (SQLite); ≤ 80 MB peak RSS growth for the 12 × 9.5 MB document; recipients:
≤ 2.1 Chorus calls per document on the cold cache and ≥ 0.8 of ideal at 4 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402

from bench.harness import bench_app, current_rss_mb  # noqa: E402  (after the path tweak for direct runs)
from portal import storage  # noqa: E402
from portal.billing.models import Receipt  # noqa: E402
from portal.chorus.emulator.directory import DEFAULT_DIRECTORY_PATH  # noqa: E402
from portal.dematerialization.models import RecipientService, RecipientStructure  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.jobs.models import JobKind  # noqa: E402
from portal.jobs.pool import JobRunner  # noqa: E402
from portal.models_base import ChorusState  # noqa: E402
from portal.portfolio.models import BankAccount, Client, ClientDocument, Company, Contract  # noqa: E402
from portal.sending import services as sending  # noqa: E402
from portal.settings import chorus as keys  # noqa: E402
from portal.settings import store  # noqa: E402
from portal.validators import is_valid_siret  # noqa: E402

SIRET = "21588139298698"  # emulator structure without rules (default directory)
CALLS_PER_DOCUMENT = 2
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Emulator:
    """The emulator in a child process on a free port.

    By default served by gunicorn with keep-alive, as the real gateway keeps connections
    open (``bench/emulator_wsgi.py``); ``werkzeug=True`` uses the emulator's own server,
    which opens a new connection per call.
    """

    def __init__(
        self, latency_ms: int, *, werkzeug: bool = False, directory: Path | None = None
    ) -> None:
        if werkzeug:
            command = [
                sys.executable,
                "-m",
                "portal.chorus.emulator",
                "--port",
                "0",
                "--quiet",
                "--speed",
                "0",
                "--latency-ms",
                str(latency_ms),
                *(["--directory", str(directory)] if directory else []),
            ]
        else:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--worker-class",
                "gthread",
                "--threads",
                "32",
                "--keep-alive",
                "60",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "bench.emulator_wsgi:app",
            ]
        env = dict(os.environ, BENCH_EMULATOR_LATENCY_MS=str(latency_ms), PYTHONPATH=str(ROOT))
        if directory is not None:
            env["BENCH_EMULATOR_DIRECTORY"] = str(directory)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        if werkzeug:
            line = self.process.stdout.readline() if self.process.stdout else ""
            match = re.search(r"http://[\d.]+:(\d+)", line)
            if match is None:
                raise RuntimeError(f"emulator did not start: {line!r}")
            port = int(match.group(1))
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("emulator did not start")

    def control(self, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310  (local emulator URL)
            self.base_url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read() or b"{}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def configure_chorus(emulator: Emulator) -> None:
    """Point the portal's Chorus settings at the emulator (in the current app context)."""
    store.put_bool(keys.CHORUS_ENABLED, True)
    store.put(keys.ENVIRONMENT, "emulator")
    store.put(keys.OAUTH_URL, f"{emulator.base_url}/api/oauth/token")
    store.put(keys.API_URL, emulator.base_url)
    store.put(keys.CLIENT_ID, "demo-client")
    store.put_secret(keys.CLIENT_SECRET, "demo-secret")
    store.put(keys.TECH_LOGIN, "TECH_1_80283822726464@cpro.fr")
    store.put_secret(keys.TECH_PASSWORD, "demo-Chorus-2026!")
    store.put(keys.SUPPLIER_ID, "25000001")
    store.put(keys.VAT_EXEMPTION_CODE, "ASSURANCE_261C")  # in the emulator's list
    # The ``memory`` send's attachments take the default type (a code of the emulator's list).
    store.put(keys.DEFAULT_ATTACHMENT_TYPE, "AUT")
    db.session.commit()


@contextmanager
def sending_app(database_url: str | None, emulator: Emulator) -> Iterator[Flask]:
    """A throwaway portal sending to ``emulator``, inside its app context."""
    with bench_app("send", database_url, CHORUS_READ_TIMEOUT=30.0) as app, app.app_context():
        configure_chorus(emulator)
        yield app


def _company() -> tuple[Company, BankAccount]:
    company = Company(name="Cabinet benchmark")
    account = BankAccount(
        company=company,
        label="Compte",
        iban="FR7630006000011234567890189",
        bic="AGRIFRPP",
        chorus_supplier_service_id=35000001,
        chorus_bank_details_id=45000001,
    )
    return company, account


def _contract(
    number: str, client: Client, company: Company, account: BankAccount, service_code: str
) -> Contract:
    return Contract(
        number=number,
        client=client,
        company=company,
        bank_account=account,
        product="Flotte",
        insurer="Assureur",
        starts_on=date(2026, 1, 1),
        is_chorus_enabled=True,
        chorus_service_code=service_code,
    )


def build(count: int) -> tuple[Client, list[int]]:
    """A public client, one contract, ``count`` receipts sharing one stored PDF."""
    company, account = _company()
    client = Client(kind="entreprise", name="Commune benchmark", siret=SIRET)
    contract = _contract("CT-BENCH", client, company, account, "FINANCES")
    db.session.add_all([company, account, client, contract])
    db.session.flush()
    return client, _receipts([contract.id], count)


def _receipts(contract_ids: list[int], count: int) -> list[int]:
    """``count`` receipts sharing one stored PDF, dealt over the contracts in turn."""
    pdf = storage.save_bytes(storage.PDF, TINY_PDF, "pdf")
    db.session.execute(
        insert(Receipt.__table__),
        [
            {
                "number": f"QB{i:07d}",
                "contract_id": contract_ids[i % len(contract_ids)],
                "period_start_on": date(2026, 1, 1),
                "period_end_on": date(2026, 12, 31),
                "entered_on": date(2026, 1, 1),
                "net_premium": 10000,
                "taxes": 900,
                "total": 10900,
                "allocated_amount": 0,
                "is_corrupted": False,
                "chorus_state": ChorusState.NOT_SENT,
                "pdf_stored_name": pdf.stored_name,
                "pdf_sha256": pdf.sha256,
                "pdf_size": pdf.size,
                "pdf_source": "generated",
            }
            for i in range(count)
        ],
    )
    db.session.commit()
    return list(db.session.scalars(db.select(Receipt.id).order_by(Receipt.id)))


def send_all(app: Flask, ids: list[int], workers: int, numbers_prefix: str) -> float:
    """Send every receipt once with ``workers`` threads; returns the wall time."""
    db.session.execute(
        update(Receipt).values(
            chorus_state=ChorusState.NOT_SENT,
            chorus_invoice_id=None,
            number=numbers_prefix + db.func.substr(Receipt.number, 3),
        )
    )
    db.session.commit()
    documents = list(db.session.scalars(db.select(Receipt).where(Receipt.id.in_(ids))))
    runner = JobRunner(app, workers)
    started = time.perf_counter()
    job = sending.start_send(documents, kind=JobKind.MASS_SEND, user=None)
    db.session.commit()
    runner.start(job.id)
    runner.wait(job.id, timeout=3600)
    elapsed = time.perf_counter() - started
    runner.shutdown()
    db.session.expire_all()
    sent = db.session.scalar(
        db.select(db.func.count())
        .select_from(Receipt)
        .where(Receipt.chorus_state == ChorusState.SENT)
    )
    assert sent == len(ids), f"only {sent} of {len(ids)} sent"
    return elapsed


def bare_client_time(emulator: Emulator, count: int) -> float:
    """The same Chorus calls from a bare client, one thread (the part that is not the portal)."""
    from portal.chorus.client import ChorusClient

    client = ChorusClient(
        oauth_url=f"{emulator.base_url}/api/oauth/token",
        api_url=emulator.base_url,
        client_id="demo-client",
        client_secret="demo-secret",
        tech_login="TECH_1_80283822726464@cpro.fr",
        tech_password="demo-Chorus-2026!",
    )
    body = {
        "modeDepot": "DEPOT_PDF_API",
        "dateFacture": "2026-01-02",
        "destinataire": {"codeDestinataire": SIRET, "codeServiceExecutant": "FINANCES"},
        "fournisseur": {"idFournisseur": 25000001},
        "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
        "references": {
            "deviseFacture": "EUR",
            "typeFacture": "FACTURE",
            "typeTva": "EXONERATION",
            "motifExonerationTva": "ASSURANCE_261C",
            "modePaiement": "AUTRE",
        },
        "montantTotal": {
            "montantHtTotal": Decimal("109.00"),
            "montantTVA": Decimal("0.00"),
            "montantTtcTotal": Decimal("109.00"),
            "montantAPayer": Decimal("109.00"),
        },
    }
    client.obtain_token()
    started = time.perf_counter()
    for i in range(count):
        uploaded = client.upload_attachment(TINY_PDF, "avis.pdf", "application/pdf")
        client.submit_invoice(
            {
                **body,
                "numeroFactureSaisi": f"RAW{i:07d}",
                "pieceJointePrincipale": [
                    {
                        "pieceJointePrincipaleDesignation": "Avis",
                        "pieceJointePrincipaleId": uploaded.piece_jointe_id,
                    }
                ],
            }
        )
    return time.perf_counter() - started


def throughput(args: argparse.Namespace) -> None:
    emulator = Emulator(args.latency_ms, werkzeug=args.werkzeug)
    try:
        with sending_app(args.database_url, emulator) as app:
            _, ids = build(args.documents)
            print(
                f"{args.documents} documents, {args.latency_ms} ms per Chorus call, "
                f"{CALLS_PER_DOCUMENT} calls per document ({db.engine.dialect.name}, emulator "
                f"{'Werkzeug, a connection per call' if args.werkzeug else 'with keep-alive'})"
            )
            for run, workers in enumerate(args.workers):
                elapsed = send_all(app, ids, workers, f"W{run}")
                ideal = args.documents * CALLS_PER_DOCUMENT * args.latency_ms / 1000 / workers
                print(
                    f"  {workers} worker(s): {elapsed:7.2f} s, "
                    f"{args.documents / elapsed:7.1f} documents/s, "
                    f"ratio to ideal {ideal / elapsed:.2f}"
                )
    finally:
        emulator.stop()
    emulator = Emulator(0, werkzeug=args.werkzeug)
    try:
        with sending_app(args.database_url, emulator) as app:
            _, ids = build(args.overhead_documents)
            portal_time = send_all(app, ids, 1, "Z0")
        raw = bare_client_time(emulator, args.overhead_documents)
        per_doc = (portal_time - raw) / args.overhead_documents * 1000
        print(
            f"zero latency, 1 worker, {args.overhead_documents} documents: portal "
            f"{portal_time / args.overhead_documents * 1000:.1f} ms/document, bare "
            f"client {raw / args.overhead_documents * 1000:.1f} ms/document, "
            f"portal overhead {per_doc:.1f} ms/document (target ≤ 15 on SQLite)"
        )
    finally:
        emulator.stop()


class PeakSampler:
    """Samples the RSS every 5 ms in the background; keeps the maximum."""

    def __init__(self) -> None:
        self.peak = current_rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, current_rss_mb())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def memory(args: argparse.Namespace) -> None:
    """Peak RSS growth while sending one document with 12 attachments of 9.5 MB."""
    size = int(9.5 * 1024 * 1024)
    emulator = Emulator(0)
    try:
        with sending_app(args.database_url, emulator) as app:
            client, ids = build(1)
            chosen = []
            for index in range(12):
                stored = storage.save_bytes(
                    storage.GED, b"%PDF-1.4\n" + os.urandom(size - 9), "pdf"
                )
                document = ClientDocument(
                    client=client,
                    original_name=f"Piece {index}.pdf",
                    stored_name=stored.stored_name,
                    mime_type="application/pdf",
                    size_bytes=stored.size,
                    sha256=stored.sha256,
                )
                db.session.add(document)
                db.session.flush()
                chosen.append(document.id)
            db.session.commit()
            receipt = db.session.get(Receipt, ids[0])
            runner = JobRunner(app, 1)
            job = sending.start_send(
                [receipt], kind=JobKind.SINGLE_SEND, user=None, secondary_document_ids=chosen
            )
            db.session.commit()
            before = current_rss_mb()
            with PeakSampler() as sampler:
                runner.start(job.id)
                runner.wait(job.id, timeout=600)
            db.session.expire_all()
            state = db.session.get(Receipt, ids[0]).chorus_state
            stats = emulator.control("/_emulator/stats")
            print(
                f"1 document + 12 × 9.5 MB attachments: {state}, "
                f"{stats['attachments']} attachments stored by Chorus"
            )
            print(
                f"RSS before {before:.0f} MB, peak during the send {sampler.peak:.0f} MB, "
                f"growth {sampler.peak - before:.0f} MB (target ≤ 80)"
            )
    finally:
        emulator.stop()


# -- recipients (B3): bounded lookups -----------------------------------------------------------


def _siret(serial: int) -> str:
    """A valid SIRET (SIREN and SIRET keys) for the ``serial``-th benchmark structure."""
    for siren_key in range(10):
        for siret_key in range(10):
            siret = f"2175{serial:04d}{siren_key}0001{siret_key}"
            if is_valid_siret(siret):
                return siret
    raise AssertionError(f"no SIRET for {serial}")


def write_directory(path: Path, structures: int, services: int) -> list[tuple[str, list[str]]]:
    """An emulator directory of ``structures`` public structures with ``services`` services
    each (``FACTURES_PUBLIQUES`` included, every tenth one inactive, a few requiring an
    engagement number), plus the default directory's supplier and PISTE clients.

    Returns each structure's SIRET with the service codes its contracts use: one service
    for even structures, two for odd ones (active, no engagement number required).
    """
    default = json.loads(DEFAULT_DIRECTORY_PATH.read_text(encoding="utf-8"))
    public = []
    used = []
    for n in range(structures):
        siret = _siret(n + 1)
        rows: list[dict[str, object]] = [
            {
                "idService": 40000000 + n * 1000,
                "codeService": "FACTURES_PUBLIQUES",
                "libelleService": "Factures entre entités publiques",
                "estActif": True,
            }
        ]
        for k in range(1, services):
            rows.append(
                {
                    "idService": 40000000 + n * 1000 + k,
                    "codeService": f"S{n:02d}-{k:03d}",
                    "libelleService": f"Service {k} de la structure {n}",
                    "estActif": k % 10 != 0,
                    "numeroEngagementRequis": k % 7 == 0,
                }
            )
        usable = [
            str(row["codeService"])
            for row in rows[1:]
            if row["estActif"] and not row["numeroEngagementRequis"]
        ]
        first = (n * 13) % len(usable)
        second = (first + len(usable) // 2) % len(usable)
        used.append((siret, [usable[first]] if n % 2 == 0 else [usable[first], usable[second]]))
        public.append(
            {
                "idStructureCPP": 27000000 + n,
                "siret": siret,
                "designation": f"Collectivité benchmark {n}",
                "services": rows,
            }
        )
    directory = {
        "public_structures": public,
        "suppliers": default["suppliers"],
        "oauth_clients": default["oauth_clients"],
    }
    path.write_text(json.dumps(directory), encoding="utf-8")
    return used


def build_recipients(used: list[tuple[str, list[str]]], count: int) -> list[int]:
    """A client per structure, two contracts each (on its one or two services), ``count``
    receipts dealt over the contracts in turn (consecutive documents, different structures)."""
    company, account = _company()
    contracts = []
    for n, (siret, codes) in enumerate(used):
        client = Client(kind="entreprise", name=f"Collectivité benchmark {n}", siret=siret)
        for j in range(2):
            code = codes[j % len(codes)]
            contracts.append(_contract(f"CT-R{n:02d}-{j}", client, company, account, code))
    db.session.add_all([company, account, *contracts])
    db.session.flush()
    return _receipts([c.id for c in contracts], count)


def _forget_recipients() -> None:
    """Empty the recipient cache (the next job starts cold)."""
    db.session.execute(RecipientService.__table__.delete())
    db.session.execute(RecipientStructure.__table__.delete())
    db.session.commit()


def _calls(emulator: Emulator) -> dict[str, int]:
    calls = emulator.control("/_emulator/stats")["calls"]
    assert isinstance(calls, dict)
    return {str(name): int(count) for name, count in calls.items()}


def recipients_run(args: argparse.Namespace) -> None:
    """B3: Chorus calls per document and throughput with many structures and services."""
    workers = args.workers or [4]
    with tempfile.TemporaryDirectory(prefix="bench-directory-") as folder:
        path = Path(folder) / "directory.json"
        used = write_directory(path, args.structures, args.services)
        emulator = Emulator(args.latency_ms, werkzeug=args.werkzeug, directory=path)
        try:
            with sending_app(args.database_url, emulator) as app:
                ids = build_recipients(used, args.documents)
                services_used = sum(len(codes) for _, codes in used)
                print(
                    f"{args.documents} documents to {args.structures} structures of "
                    f"{args.services} services ({services_used} services used by "
                    f"{2 * len(used)} contracts), {args.latency_ms} ms per Chorus call "
                    f"({db.engine.dialect.name}); ideal: {CALLS_PER_DOCUMENT} calls per "
                    "document"
                )
                runs = [(w, "cold cache") for w in workers] + [(workers[-1], "second job")]
                for run, (count, label) in enumerate(runs):
                    if label == "cold cache":
                        _forget_recipients()
                    before = _calls(emulator)
                    elapsed = send_all(app, ids, count, f"R{run}")
                    after = _calls(emulator)
                    calls = {k: after[k] - before.get(k, 0) for k in after}
                    calls = {k: v for k, v in calls.items() if v}
                    ideal = args.documents * CALLS_PER_DOCUMENT * args.latency_ms / 1000 / count
                    detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
                    print(
                        f"  {count} worker(s), {label}: {elapsed:7.2f} s, "
                        f"{args.documents / elapsed:7.1f} documents/s, "
                        f"ratio to ideal {ideal / elapsed:.2f}, "
                        f"Chorus calls per document {sum(calls.values()) / args.documents:.3f} "
                        f"(target ≤ 2.1)"
                    )
                    print(f"    calls: {detail}")
        finally:
            emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "mode", nargs="?", default="throughput", choices=["throughput", "memory", "recipients"]
    )
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--overhead-documents", type=int, default=300)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", help="default: 1 4 8 (recipients: 4)")
    parser.add_argument("--structures", type=int, default=20, help="recipients: structures")
    parser.add_argument("--services", type=int, default=200, help="recipients: services each")
    parser.add_argument("--database-url", help="PostgreSQL URL (a temporary schema is used)")
    parser.add_argument(
        "--werkzeug", action="store_true", help="emulator on its own server (no keep-alive)"
    )
    args = parser.parse_args()
    if args.mode == "memory":
        memory(args)
    elif args.mode == "recipients":
        recipients_run(args)
    else:
        args.workers = args.workers or [1, 4, 8]
        throughput(args)


if __name__ == "__main__":
    main()
