"""Production entry point (``gunicorn wsgi:app``; do not use ``--preload``: threads don't fork).

Every process sweeps in the background (``portal.jobs.sweeper``): it finishes what an
interrupted process left behind (B7) and retries what failed for a transient reason, from
its start and then every ``JOB_SWEEP_SECONDS``. The scheduler starts here, and only when
``SCHEDULER_ENABLED`` is true: run exactly one process with it (README, "Production"); web
workers run with it off.
"""

from portal import create_app
from portal.jobs.runner import get_runner
from portal.jobs.scheduler import start_if_enabled

app = create_app()
start_if_enabled(app)
get_runner(app).start_sweeping()
