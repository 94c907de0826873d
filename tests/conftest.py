"""Shared fixtures: an app per test session and worker, a clean database per test, no network.

``TEST_DATABASE_URL`` selects the database (SQLite file by default). On PostgreSQL every
xdist worker gets its own schema, dropped at the end.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from portal import create_app
from portal.config import Config
from portal.extensions import db
from tests import factories

SHARED_DIR = Path(__file__).resolve().parent.parent.parent / "shared"


# -- no network ---------------------------------------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str):
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


# -- database -----------------------------------------------------------------------------------


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def database_url(tmp_root: Path) -> str:
    """The per-worker database URL for this test run."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_root / f'test-{_worker()}.db'}"
    return base


def is_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def _pg_schema() -> str:
    return f"test_{_worker()}_{os.getpid()}"


def run_sql(url: str, *statements: str) -> None:
    """Run ``statements`` in one transaction on the database at ``url``."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


def schema_of_its_own(url: str, schema: str) -> dict[str, object]:
    """Drop and create ``schema`` (PostgreSQL); the engine options that work inside it."""
    run_sql(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"')
    return {"connect_args": {"options": f"-csearch_path={schema}"}}


# A throwaway key of the tests' encrypted settings.
ENCRYPTION_KEY = "x0QyUg2xV2I3zWJ7k0kQ3HG5Jp2b8G0C7Cq3cO1Nf3k="


def app_config(
    instance: Path,
    *,
    database_url: str = "",
    engine_options: dict[str, object] | None = None,
    **options: Any,
) -> Config:
    """A test app's configuration: ``instance`` as its folder, throwaway keys, its database (a
    SQLite file in ``instance`` unless ``database_url``); ``options`` as ``Config`` names them."""
    extra: dict[str, Any] = {"INSTANCE_PATH": str(instance)}
    if engine_options is not None:
        extra["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    return Config(
        instance_path=instance,
        database_url=database_url or f"sqlite:///{instance / 'portal.db'}",
        secret_key="test-secret",
        encryption_key=ENCRYPTION_KEY,
        extra=extra,
        **options,
    )


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    root = tmp_path_factory.mktemp("instance")
    url = database_url(root)
    engine_options: dict[str, object] = {}
    if url.startswith("postgresql"):
        engine_options = schema_of_its_own(url, _pg_schema())
    config = app_config(
        root,
        database_url=url,
        engine_options=engine_options,
        testing=True,
        upload_max_bytes=1024 * 1024,
        job_sweep_seconds=0,  # tests sweep on purpose (``get_runner(app).sweep()``)
        # Tests travel in time with logged-in clients: no session timeouts (tests/auth sets them).
        session_idle_minutes=0,
        session_max_hours=0,
    )
    application = create_app(config)
    with application.app_context():
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if url.startswith("postgresql"):
        run_sql(url, f'DROP SCHEMA IF EXISTS "{_pg_schema()}" CASCADE')


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with empty tables (only for tests that use the app)."""
    if "app" not in request.fixturenames:
        yield
        return
    flask_app: Flask = request.getfixturevalue("app")
    with flask_app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


def fresh_runner(app: Flask) -> None:
    """Stop the app's job runner (once idle): the next use starts a new one."""
    runner = app.extensions.pop("portal.job_runner", None)
    if runner is not None:
        runner.wait_idle(timeout=60)
        runner.shutdown()


@pytest.fixture
def single_attempt(app: Flask) -> None:
    """Transient Chorus failures end the document at once: no automatic retry (issue 11)."""
    from portal.jobs import retries
    from portal.settings import store

    store.put(retries.ATTEMPTS, "1")
    db.session.commit()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf_app(app: Flask) -> Iterator[Flask]:
    """The app with CSRF checks on (they are on by default; this documents the intent)."""
    assert app.config.get("WTF_CSRF_ENABLED", True)
    yield app


# -- users --------------------------------------------------------------------------------------

PASSWORD = "motdepasse-test"


@pytest.fixture
def admin(app: Flask):
    return factories.make_user("admin", role="admin", password=PASSWORD)


@pytest.fixture
def gestionnaire(app: Flask):
    return factories.make_user("gestionnaire", role="gestionnaire", password=PASSWORD)


@pytest.fixture
def lecteur(app: Flask):
    return factories.make_user("lecture", role="lecture", password=PASSWORD)


def example_url(rule: Rule) -> str:
    """``rule``'s path with 1 for every id and « quittances » for a ``<doctype:kind>``."""
    values = {name: "receipt" if name == "kind" else 1 for name in rule.arguments}
    return rule.build(values)[1]


# Pages anyone may open: the login form and the static files.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "bootstrap.static", "vendor.htmx"})


def page_urls(app: Flask, *, also_open: Iterable[str] = ()) -> list[str]:
    """An example URL of every page (GET rule) but the public ones and ``also_open``."""
    open_endpoints = PUBLIC_ENDPOINTS | set(also_open)
    return [
        example_url(rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in open_endpoints and "GET" in rule.methods
    ]


def login(client: FlaskClient, user) -> FlaskClient:
    """Log ``user`` in through the real login form (CSRF token included)."""
    page = client.get("/connexion")
    token = factories.csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/connexion",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def reset_password(as_admin: FlaskClient, user, password: str = "nouveau-mdp-2026"):
    """An administrator sets ``user``'s password on the user's page (typed twice)."""
    url = f"/administration/utilisateurs/{user.id}"
    token = factories.csrf_token_from(as_admin.get(url).get_data(as_text=True))
    return as_admin.post(
        f"{url}/mot-de-passe",
        data={"csrf_token": token, "password": password, "password_confirm": password},
    )


@pytest.fixture
def as_admin(client: FlaskClient, admin) -> FlaskClient:
    return login(client, admin)


@pytest.fixture
def as_gestionnaire(client: FlaskClient, gestionnaire) -> FlaskClient:
    return login(client, gestionnaire)


@pytest.fixture
def as_lecteur(client: FlaskClient, lecteur) -> FlaskClient:
    return login(client, lecteur)


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (reference material); tests that need it skip when it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared is absent (reference material not available on this checkout)")
    return SHARED_DIR
