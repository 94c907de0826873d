"""Production entry point (``gunicorn wsgi:app``; do not use ``--preload``: threads don't fork).

Every process reconciles what an interrupted process left behind (B7) in the background.
The scheduler starts here, and only when ``SCHEDULER_ENABLED`` is true: run exactly one
process with it (README, "Production"); web workers run with it off.
"""

from portal import create_app
from portal.jobs.runner import get_runner
from portal.jobs.scheduler import start_if_enabled

app = create_app()
if not start_if_enabled(app):  # the scheduler's start-up does the same recovery
    get_runner(app).launch_recovery()
