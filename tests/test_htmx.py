"""Page-or-fragment and fragment-only answers (issue 13, item 7): ``portal.htmx``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, flash
from jinja2 import ChoiceLoader, DictLoader

from portal.htmx import fragment, render

TEMPLATES = {
    "t/page.html": "<main>page {% include 't/part.html' %}</main>",
    "t/part.html": "<p>part {{ word }}</p>",
}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def templates(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])  # type: ignore[list-item]
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    yield


def answer(app: Flask, headers: dict[str, str], build: object) -> tuple[str, int, str]:
    with app.test_request_context("/", headers=headers):
        flash("Enregistré.", "success")
        response = build()  # type: ignore[operator]
        return response.get_data(as_text=True), response.status_code, response.headers["Vary"]


def test_render_gives_the_page_and_to_htmx_the_fragment_with_the_flashes(
    app: Flask, templates: None
) -> None:
    page, status, vary = answer(app, {}, lambda: render("t/page.html", "t/part.html", word="a"))
    assert page.startswith("<main>page <p>part a</p>") and "Enregistré." not in page
    assert (status, vary) == (200, "HX-Request")
    swap, _, _ = answer(app, HTMX, lambda: render("t/page.html", "t/part.html", word="a"))
    assert swap.startswith("<p>part a</p>")
    assert 'id="flashes" hx-swap-oob="true"' in swap and "Enregistré." in swap


def test_render_of_a_page_alone_keeps_its_status(app: Flask, templates: None) -> None:
    body, status, _ = answer(app, HTMX, lambda: render("t/page.html", status=422, word="b"))
    assert body.startswith("<main>page") and status == 422


def test_fragment_is_the_fragment_whatever_the_request(app: Flask, templates: None) -> None:
    for headers in ({}, HTMX):
        body, status, vary = answer(app, headers, lambda: fragment("t/part.html", word="c"))
        assert (body, status, vary) == ("<p>part c</p>", 200, "HX-Request")


def test_fragment_with_flashes_adds_them_out_of_band_to_htmx_only(
    app: Flask, templates: None
) -> None:
    swap, _, _ = answer(app, HTMX, lambda: fragment("t/part.html", flashes=True, word="d"))
    assert swap.startswith("<p>part d</p>") and "Enregistré." in swap
    plain, _, _ = answer(app, {}, lambda: fragment("t/part.html", flashes=True, word="d"))
    assert plain == "<p>part d</p>"
