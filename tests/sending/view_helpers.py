"""Helpers of the dematerialization screen tests: S1 on/off, CSRF posts, GED files, jobs."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal import storage
from portal.chorus.emulator.operations import ATTACHMENT_TYPES
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.pool import get_runner
from portal.portfolio.models import ClientDocument
from portal.settings import chorus as keys
from portal.settings import reference_lists, store
from tests import factories
from tests.chorus.emulator_fixtures import VAT_EXEMPTION_CODE

MB = 1024 * 1024


def enable_chorus(enabled: bool = True) -> None:
    """S1 and a VAT exemption code (no connection settings): enough for panels, badges and
    screens."""
    store.put_bool(keys.CHORUS_ENABLED, enabled)
    store.put(keys.VAT_EXEMPTION_CODE, VAT_EXEMPTION_CODE)
    db.session.commit()


def load_attachment_types() -> None:
    """The emulator's attachment types as if read from Chorus for the current settings."""
    api_url = keys.load().api_url
    reference_lists.save(reference_lists.ATTACHMENT_TYPES, ATTACHMENT_TYPES, api_url=api_url)
    db.session.commit()


def token(client: FlaskClient, url: str = "/") -> str:
    return factories.csrf_token_from(client.get(url).get_data(as_text=True))


def post(client: FlaskClient, url: str, data: Any = None, **kw: Any) -> Any:
    """POST with a valid CSRF token; ``data`` may be a dict or a list of pairs."""
    pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
    return client.post(url, data=MultiDict([("csrf_token", token(client)), *pairs]), **kw)


def ged_file(client_row, name: str, content: bytes = b"%PDF-1.4 piece", *, size: int | None = None):
    """A GED document; ``size`` fakes a large file (the file on disk stays small)."""
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    stored = storage.save_bytes(storage.GED, content, suffix)
    document = ClientDocument(
        client=client_row,
        original_name=name,
        stored_name=stored.stored_name,
        mime_type="application/pdf",
        size_bytes=size if size is not None else stored.size,
        sha256=stored.sha256,
    )
    db.session.add(document)
    db.session.commit()
    return document


def job_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Job)) or 0


def wait_all(app: Flask, timeout: float = 120) -> None:
    """Wait until every job in the database has finished."""
    for job_id in db.session.scalars(select(Job.id)).all():
        get_runner(app).wait(job_id, timeout=timeout)
    db.session.expire_all()
