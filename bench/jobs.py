"""Benchmark of the job runner's memory over a long life (not a test).

A process runs ``--jobs`` small jobs one after the other (``--items`` items each, a handler
that does no I/O), as a web worker would over weeks, with its sweeper on. After a warm-up of
``--warmup`` jobs (caches, connection pool, allocator), the resident set size is read; it is
read again after the last job. The runner must keep nothing of finished work (futures,
per-job counters, owned jobs), so the growth stays flat.

    .venv/bin/python bench/jobs.py                       # 2,000 jobs of 3 items, SQLite
    .venv/bin/python bench/jobs.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Target: ≤ 5 MB of RSS growth after 2,000 jobs.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from bench.harness import bench_app, current_rss_mb  # noqa: E402  (after the path tweak)
from portal.extensions import db  # noqa: E402
from portal.jobs import runner as jobs  # noqa: E402
from portal.jobs.models import ItemState, Job, JobItem, JobKind  # noqa: E402
from portal.jobs.pool import JobRunner  # noqa: E402

KIND = JobKind.MASS_SEND  # run by SmallHandler in this benchmark's own app
TARGET_MB = 5.0


class SmallHandler:
    """Succeeds at once: what is measured is the runner, not the work."""

    def process(self, job: Job, item: JobItem, context: jobs.WorkContext) -> jobs.ItemOutcome:
        return jobs.ItemOutcome(ItemState.SUCCEEDED, chorus_invoice_id=item.id)

    def reconcile(self, job: Job, item: JobItem) -> jobs.ItemOutcome | None:
        return None

    def release(self, job: Job, item: JobItem, outcome: jobs.ItemOutcome) -> None:
        """Nothing to release."""

    def finalize(self, job: Job) -> None:
        """Nothing to report."""


def run_jobs(app: Flask, runner: JobRunner, count: int, items: int) -> None:
    for _ in range(count):
        with app.app_context():
            job = Job(kind=KIND, total=items)
            job.items = [
                JobItem(document_type="receipt", document_id=i, document_number=f"B{i}")
                for i in range(items)
            ]
            db.session.add(job)
            db.session.commit()
            job_id = job.id
            db.session.remove()
        runner.launch(job_id)
        runner.wait(job_id, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with bench_app("jobs", args.database_url, JOB_SWEEP_SECONDS=1) as app:
        jobs.register_handlers(app, {KIND: SmallHandler})
        runner = JobRunner(app, workers=2)
        try:
            run_jobs(app, runner, args.warmup, args.items)
            gc.collect()
            before = current_rss_mb()
            started = time.perf_counter()
            run_jobs(app, runner, args.jobs, args.items)
            elapsed = time.perf_counter() - started
            runner.wait_idle(timeout=60)
            runner.sweep()
            gc.collect()
            after = current_rss_mb()
            kept = (len(runner._tasks), len(runner._active), len(runner.owned))
        finally:
            runner.shutdown()
    growth = after - before
    print(f"{args.jobs} jobs of {args.items} item(s) in {elapsed:.1f} s")
    print(f"RSS after warm-up {before:.1f} MB, after the jobs {after:.1f} MB")
    ratio = growth / TARGET_MB
    print(f"RSS growth: {growth:.2f} MB (target ≤ {TARGET_MB:g} MB, ratio {ratio:.2f})")
    print(f"kept by the runner (tasks, active jobs, owned jobs): {kept}")


if __name__ == "__main__":
    main()
