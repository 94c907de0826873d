"""The benchmark scripts still run, on a tiny data set (their figures are not checked here).

Benchmarks are run by hand for the figures; these runs only make sure a change to the
portal has not broken them. On PostgreSQL they use a temporary schema of the test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import is_postgres

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str) -> str:
    command = [sys.executable, str(ROOT / "bench" / args[0]), *args[1:]]
    if is_postgres():
        command += ["--database-url", os.environ["TEST_DATABASE_URL"]]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("workers", ["1", "3"])
def test_send_benchmark_sends_every_document(workers: str) -> None:
    out = run_bench(
        "send.py",
        "--documents",
        "12",
        "--overhead-documents",
        "6",
        "--latency-ms",
        "0",
        "--workers",
        workers,
    )
    assert f"{workers} worker(s):" in out and "ratio to ideal" in out
    assert "portal overhead" in out


def test_send_benchmark_recipients_scenario_counts_chorus_calls_per_document() -> None:
    out = run_bench(
        "send.py",
        "recipients",
        "--documents",
        "12",
        "--structures",
        "3",
        "--services",
        "30",
        "--latency-ms",
        "0",
        "--workers",
        "2",
    )
    assert "2 worker(s), cold cache:" in out and "2 worker(s), second job:" in out
    assert "Chorus calls per document" in out and "structures/consulter/service" in out


def test_send_benchmark_memory_run() -> None:
    out = run_bench("send.py", "memory")
    assert ": sent, 13 attachments stored by Chorus" in out and "growth" in out


def test_lists_benchmark() -> None:
    out = run_bench("lists.py", "--receipts", "300", "--repeat", "2")
    assert "independent of page size" in out


def test_daily_benchmark() -> None:
    out = run_bench("daily.py", "--receipts", "300", "--fee-invoices", "30", "--repeat", "2")
    assert "due documents" in out and "selection worst" in out


def test_jobs_benchmark_measures_the_runner_memory_over_many_jobs() -> None:
    out = run_bench("jobs.py", "--jobs", "10", "--warmup", "2")
    assert "RSS growth" in out
    assert "kept by the runner (tasks, active jobs, owned jobs): (0, 0, 0)" in out
