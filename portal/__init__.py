"""Portail courtier — Chorus Pro. ``create_app``: config → extensions → blueprints → CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import private_files
from portal.config import Config


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the application. Never starts the scheduler (see ``wsgi.py``)."""
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    config = config or Config.from_env(instance_path)
    app.config.from_mapping(config.to_flask())
    app.config.update(overrides)
    private_files.make_dir(Path(app.config["INSTANCE_PATH"]))

    from portal import security_headers, transactions, web

    web.init_extensions(app)
    web.register_blueprints(app)
    web.register_jobs(app)
    transactions.init_app(app)  # every view: commit below 400, roll back otherwise
    web.register_cli(app)
    security_headers.init_app(app)
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        # Behind ``hops`` reverse proxies: trust their X-Forwarded-For/-Proto/-Host/-Port only.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app
