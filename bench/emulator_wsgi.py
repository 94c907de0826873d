"""The Chorus Pro emulator as a WSGI app for gunicorn, for benchmarks (not used by the portal).

Werkzeug's development server, which ``python -m portal.chorus.emulator`` uses, closes every
connection after one answer; the real PISTE gateway keeps connections alive. Served by
gunicorn's threaded worker with keep-alive, the emulator costs a benchmark what Chorus would.

    BENCH_EMULATOR_LATENCY_MS=50 gunicorn -k gthread --threads 32 --keep-alive 60 \\
        --bind 127.0.0.1:8099 bench.emulator_wsgi:app

``BENCH_EMULATOR_DIRECTORY`` names a directory file (``--directory`` of the emulator).
"""

from __future__ import annotations

import os

from portal.chorus.emulator.app import EmulatorApp
from portal.chorus.emulator.server import EmulatorOptions, build_state

app = EmulatorApp(
    build_state(
        EmulatorOptions(
            directory=os.environ.get("BENCH_EMULATOR_DIRECTORY") or None,
            latency_ms=int(os.environ.get("BENCH_EMULATOR_LATENCY_MS", "0")),
            speed=0,
        )
    )
)
