"""Two users at once (PostgreSQL): another user's transaction runs in a thread while this
test's session holds its locks, and must wait until this session commits."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

from portal.extensions import db
from portal.validators import ValidationFailed


def while_this_session_holds_its_locks(
    app: Flask, other_user: Callable[[], object], who: str
) -> object:
    """Run ``other_user`` in its own session and thread; check that it waits for this
    session, commit this session, and return what ``other_user`` returned (or the
    ``ValidationFailed`` it raised, its transaction rolled back)."""
    outcome: dict[str, object] = {}
    started = threading.Event()

    def run() -> None:
        with app.app_context():
            try:
                started.set()
                outcome["result"] = other_user()
                db.session.commit()
            except ValidationFailed as error:
                db.session.rollback()
                outcome["result"] = error
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    started.wait(5)
    thread.join(0.5)
    assert thread.is_alive(), f"{who} should wait for this session's transaction"
    db.session.commit()
    thread.join(10)
    return outcome["result"]
