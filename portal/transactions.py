"""The request owns the transaction: one commit or one rollback per request, decided here.

Every view function is wrapped at app creation (``init_app``). A response below 400 commits
the request's work; an error status (a form answering 422 with its field errors, a 404) or an
exception rolls it back. Domain code only adds and flushes. The commit happens before the
response leaves the view, so a failing commit is a plain 500 page, never a half-sent answer.

Work that must start only once the data is committed (launching a job thread) is handed to
``after_commit``: it runs right after the commit, and never if the request rolls back.

``commit`` and ``rollback`` are the two ways to end a transaction outside that rule: the CLI
and the job threads, which have no request, and the rare view that must keep some work
whatever its answer (a claim held before a Chorus call, a failed attempt counted on a 422).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from werkzeug.wrappers import Response

from portal.extensions import db

# Pending callbacks live on the session: they belong to its open transaction.
_AFTER_COMMIT = "portal.after_commit"
_WRAPPED = "__portal_transactional__"


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current transaction is committed (dropped on rollback)."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def commit() -> None:
    """Commit the session now, then run the ``after_commit`` callbacks in order."""
    db.session.commit()
    callbacks: list[Callable[[], object]] = db.session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        callback()


def rollback() -> None:
    """Roll the session back and forget the ``after_commit`` callbacks."""
    db.session.info.pop(_AFTER_COMMIT, None)
    db.session.rollback()


def transactional(view: Callable[..., Any]) -> Callable[..., Response]:
    """``view`` committing its work when it answers below 400, rolling back otherwise."""
    if getattr(view, _WRAPPED, False):
        return view

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            rollback()
            raise
        if response.status_code >= 400:
            rollback()
            return response
        try:
            commit()
        except BaseException:
            rollback()
            raise
        return response

    setattr(wrapper, _WRAPPED, True)
    return wrapper


def init_app(app: Flask) -> None:
    """Wrap every view function registered so far (call after the blueprints)."""
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = transactional(view)
