"""Portail courtier — Chorus Pro. ``create_app``: config → extensions → blueprints → CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from portal.config import Config


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the application. Never starts the scheduler (see ``wsgi.py``)."""
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    config = config or Config.from_env(instance_path)
    app.config.from_mapping(config.to_flask())
    app.config.update(overrides)
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)

    from portal import web

    web.init_extensions(app)
    web.register_blueprints(app)
    web.register_cli(app)
    return app
