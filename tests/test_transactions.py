"""The request owns the transaction (issue 13, item 5): ``portal.transactions``.

A view answering below 400 commits its work, an error status or an exception rolls it back,
and ``after_commit`` work starts only once the data is committed. What is committed is read
through a connection of its own, as another process would see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, abort, redirect
from sqlalchemy import event, func, select

from portal import transactions
from portal.extensions import db
from portal.portfolio.models import Company
from tests import factories


def committed_companies() -> int:
    """Companies another connection sees (committed rows only)."""
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Company)).scalar_one()


def call(app: Flask, view: Callable[[], Any]) -> Any:
    with app.test_request_context("/"):
        return transactions.transactional(view)()


@pytest.fixture
def failing_commit() -> Iterator[None]:
    """The database refuses the next commit."""
    session = db.session()

    def refuse(_session: Any) -> None:
        raise RuntimeError("commit refused")

    event.listen(session, "before_commit", refuse)
    yield
    event.remove(session, "before_commit", refuse)


def test_every_view_of_the_app_is_wrapped(app: Flask) -> None:
    assert app.view_functions
    for endpoint, view in app.view_functions.items():
        assert transactions.transactional(view) is view, endpoint


@pytest.mark.parametrize("answer", [lambda: "ok", lambda: redirect("/", code=303)])
def test_an_answer_below_400_commits_the_request(app: Flask, answer: Callable[[], Any]) -> None:
    def view() -> Any:
        factories.make_company()
        return answer()

    assert call(app, view).status_code < 400
    assert committed_companies() == 1


def test_a_form_answering_422_rolls_back_what_the_request_did(app: Flask) -> None:
    def view() -> Any:
        factories.make_company()
        return "Le formulaire contient des erreurs", 422

    assert call(app, view).status_code == 422
    assert committed_companies() == 0
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_an_exception_or_an_abort_rolls_back_and_propagates(app: Flask) -> None:
    def crashing() -> Any:
        factories.make_company()
        raise ValueError("boom")

    def not_found() -> Any:
        factories.make_company()
        abort(404)

    with pytest.raises(ValueError, match="boom"):
        call(app, crashing)
    with pytest.raises(Exception, match="404"):
        call(app, not_found)
    assert committed_companies() == 0


def test_after_commit_runs_once_the_data_is_committed_in_order(app: Flask) -> None:
    seen: list[tuple[str, int]] = []

    def view() -> Any:
        factories.make_company()
        transactions.after_commit(lambda: seen.append(("first", committed_companies())))
        transactions.after_commit(lambda: seen.append(("second", committed_companies())))
        assert seen == []
        return "ok"

    call(app, view)
    assert seen == [("first", 1), ("second", 1)]


@pytest.mark.parametrize("status", [404, 422])
def test_after_commit_never_runs_when_the_request_rolls_back(app: Flask, status: int) -> None:
    seen: list[str] = []

    def view() -> Any:
        transactions.after_commit(lambda: seen.append("launched"))
        return "refusé", status

    call(app, view)
    call(app, lambda: "ok")  # a later commit does not run a dropped callback
    assert seen == []


def test_a_failing_commit_raises_instead_of_answering(app: Flask, failing_commit: None) -> None:
    seen: list[str] = []

    def view() -> Any:
        factories.make_company()
        transactions.after_commit(lambda: seen.append("launched"))
        return "ok"

    with pytest.raises(RuntimeError, match="commit refused"):
        call(app, view)  # Flask turns it into the 500 page: no half-sent answer
    assert seen == []
    assert committed_companies() == 0


def test_commit_now_keeps_work_even_if_the_answer_is_an_error(app: Flask) -> None:
    def view() -> Any:
        factories.make_company()
        transactions.commit()  # e.g. a failed login attempt stays counted
        factories.make_company()
        return "refusé", 422

    call(app, view)
    assert committed_companies() == 1
