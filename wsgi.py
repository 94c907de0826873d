"""Production entry point (gunicorn ``wsgi:app``).

The scheduler starts here, and only when ``SCHEDULER_ENABLED`` is true: run exactly one process
with it (see the README, "Production"); web workers run with it off.
"""

from portal import create_app
from portal.jobs.scheduler import start_if_enabled

app = create_app()
start_if_enabled(app)
