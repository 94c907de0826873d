"""The APScheduler instance. Started by ``wsgi.py`` / the demo run command, never by create_app."""

from __future__ import annotations

from flask import Flask


def start_if_enabled(app: Flask) -> bool:
    """Start the background scheduler when ``SCHEDULER_ENABLED`` is set; returns whether it did."""
    # The recurring jobs (daily run, status follow-up) are registered by later issues.
    return bool(app.config.get("SCHEDULER_ENABLED"))
