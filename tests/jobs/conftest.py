"""Fixtures of the job tests: the emulator and Chorus settings of the sending tests, and a
test handler in place of a job kind's own."""

from collections.abc import Callable

import pytest
from flask import Flask

from portal.jobs.models import JobKind
from portal.jobs.runner import HANDLERS, HandlerFactory
from tests.sending.conftest import (  # noqa: F401  (fixtures used by name)
    chorus,
    chorus_admin,
    chorus_emulator,
    chorus_emulator_server,
)

UseHandler = Callable[[JobKind, HandlerFactory], None]


@pytest.fixture
def use_handler(app: Flask, monkeypatch: pytest.MonkeyPatch) -> UseHandler:
    """Run a job kind's items with a test handler; the kind's own comes back after the test."""

    def use(kind: JobKind, factory: HandlerFactory) -> None:
        monkeypatch.setitem(app.extensions[HANDLERS], kind, factory)

    return use
