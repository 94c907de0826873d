"""Wiring called by ``create_app``: extensions, blueprints, template helpers, job handlers,
schedule, CLI."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, abort, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import Engine, event
from werkzeug.routing import IntegerConverter

from portal import crypto, formatting, private_files
from portal.extensions import bootstrap, csrf, db, htmx, login_manager, migrate
from portal.models_base import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every route: an id past the database's integer range is a 404, not a
    database error (PostgreSQL refuses it; SQLite would merely find nothing)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def init_extensions(app: Flask) -> None:
    from portal.dematerialization.documents import DocumentTypeConverter

    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["doctype"] = DocumentTypeConverter  # <doctype:kind>: quittances…
    instance = Path(app.config["INSTANCE_PATH"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    app.extensions["portal.encryption_key"] = crypto.load_or_create_key(
        instance, app.config.get("ENCRYPTION_KEY")
    )
    db.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine)
        _tune_postgresql(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "warning"
    csrf.init_app(app)
    bootstrap.init_app(app)
    htmx.init_app(app)

    from portal import models  # noqa: F401  (every model registered on the metadata)
    from portal.auth import sessions

    # Checked on every request: disabling a user, a password reset, a role change or logging
    # out ends their open sessions at once (``portal.auth.sessions``).
    login_manager.user_loader(sessions.load_user)

    app.jinja_env.filters.update(formatting.FILTERS)
    app.context_processor(_layout_context)
    _register_error_pages(app)


def _tune_sqlite(engine: Engine) -> None:
    """SQLite behaves like the production database where it matters.

    WAL lets the job threads read while another writes; a busy timeout makes concurrent
    writers wait instead of failing; foreign keys are enforced as on PostgreSQL. A new
    database file is created 0600 first: SQLite gives its -wal and -shm files the same mode.
    """
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if path.parent.is_dir():
            private_files.create_empty(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


# A session idle inside a transaction this long belongs to a frozen or vanished process (the
# portal never keeps a transaction open across a Chorus call or a page): PostgreSQL ends it
# and frees its row locks. No statement waits longer than ``LOCK_TIMEOUT`` for a lock, so
# one stuck process never stalls the sweeps of the others (issue 11).
IDLE_IN_TRANSACTION_TIMEOUT = "120s"
LOCK_TIMEOUT = "30s"


def _tune_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                f"SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'"
            )
            cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        dbapi_connection.commit()  # a SET rolled back would be undone


def _instance_secret(instance: Path) -> str:
    """A stable SECRET_KEY for the demo when none is configured (production sets one)."""
    path = instance / "secret_key"
    if not path.exists():
        private_files.make_dir(instance)
        with contextlib.suppress(FileExistsError):  # another process wrote it first
            private_files.write_new(path, secrets.token_hex(32).encode("ascii"))
    return path.read_text().strip()


def _layout_context() -> dict[str, Any]:
    """Values every page's layout needs (menu, S1 visibility, environment badge)."""
    from portal.settings import chorus

    if not current_user.is_authenticated:
        return {"chorus_enabled": False, "chorus_environment_badge": None}
    settings = chorus.load()
    badge = None
    if settings.enabled and not settings.is_production:
        badge = settings.environment.label
    return {"chorus_enabled": settings.enabled, "chorus_environment_badge": badge}


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: ("Requête invalide", "La requête n'a pas pu être traitée."),
        401: ("Connexion requise", "Votre session a expiré : reconnectez-vous."),
        403: ("Accès refusé", "Vos droits ne permettent pas cette action."),
        404: ("Page introuvable", "Cette page n'existe pas ou plus."),
        405: ("Méthode non autorisée", "Cette action n'est pas possible ainsi."),
        413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée."),
        500: ("Erreur interne", "Une erreur inattendue est survenue ; réessayez plus tard."),
    }

    def handler(code: int) -> Any:
        title, text = messages[code]

        def render(_error: Exception) -> Any:
            return render_template("error.html", code=code, title=title, text=text), code

        return render

    for code in messages:
        app.register_error_handler(code, handler(code))

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> Any:
        text = "Le formulaire a expiré ou n'est pas authentique : rechargez la page et recommencez."
        return render_template("error.html", code=400, title="Formulaire expiré", text=text), 400


def refuse_nul_characters() -> None:
    """A NUL character anywhere in the request's input is a 400 « Requête invalide ».

    No one types it, and PostgreSQL refuses it in any text (a 500 otherwise): checked once
    here for the path, the query string, the form and the names of uploaded files.
    """
    texts = [request.path, *(upload.filename or "" for upload in request.files.values())]
    for fields in (request.args, request.form):
        for name, values in fields.lists():
            texts += [name, *values]
    if any("\x00" in text for text in texts):
        abort(400)


def register_blueprints(app: Flask) -> None:
    from portal.auth.access import enforce_access
    from portal.auth.account_views import bp as account_bp
    from portal.auth.views import bp as auth_bp
    from portal.billing.views import bp as billing_bp
    from portal.connection.golive_views import bp as golive_bp
    from portal.connection.views import bp as chorus_bp
    from portal.daily.views import bp as daily_bp
    from portal.dashboard import bp as dashboard_bp
    from portal.followup.views import bp as followup_bp
    from portal.jobs.views import bp as jobs_bp
    from portal.notifications.views import bp as notifications_bp
    from portal.portfolio.views import bp as portfolio_bp
    from portal.sending.views import bp as sending_bp
    from portal.settings.views import bp as settings_bp
    from portal.vendor import bp as vendor_bp

    app.before_request(refuse_nul_characters)
    app.before_request(enforce_access)
    for blueprint in (
        vendor_bp,
        auth_bp,
        account_bp,
        dashboard_bp,
        portfolio_bp,
        billing_bp,
        notifications_bp,
        settings_bp,
        chorus_bp,
        golive_bp,
        jobs_bp,
        daily_bp,
        followup_bp,
        sending_bp,
    ):
        app.register_blueprint(blueprint)


def register_jobs(app: Flask) -> None:
    """The job handler of each kind, for the runner, and the schedule, for the scheduler."""
    from portal import schedule
    from portal.followup.handler import StatusSyncHandler
    from portal.jobs import runner, scheduler
    from portal.jobs.models import JobKind
    from portal.sending.handler import SENDING_KINDS, SendHandler

    runner.register_handlers(
        app, {**dict.fromkeys(SENDING_KINDS, SendHandler), JobKind.STATUS_SYNC: StatusSyncHandler}
    )
    scheduler.install(app, schedule.TASKS)


def register_cli(app: Flask) -> None:
    from portal.cli import register

    register(app)
