"""Browser tests: Playwright driving the system Chromium against the app on a local port.

Skipped (with the reason) when Chromium is missing or ``SKIP_BROWSER_TESTS`` is set;
``dev.py test`` installs Chromium with apt when it can.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def browser_unavailable_reason() -> str | None:
    if os.environ.get("SKIP_BROWSER_TESTS"):
        return "SKIP_BROWSER_TESTS is set"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (dev.py test installs it with apt)"
    return None


# ``pytestmark = BROWSER_TESTS`` in a browser test module outside tests/browser/.
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        browser_unavailable_reason() is not None, reason=browser_unavailable_reason() or ""
    ),
]


def artifacts_dir() -> Path:
    """Where browser tests leave screenshots (``TEST_ARTIFACTS``, default test-artifacts)."""
    artifacts = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(exist_ok=True)
    return artifacts


def screenshot(tab, name: str) -> None:
    """A full-page screenshot of ``tab`` as ``<artifacts>/<name>.png``."""
    tab.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = browser_unavailable_reason()
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The test app served by a threaded Werkzeug server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


# One Playwright driver and browser per process, however many test directories import the
# fixture (each import is a separate fixture definition for pytest, and a second sync
# Playwright in the same thread fails).
_shared: dict[str, object] = {}


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Iterator[object]:
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    if "browser" not in _shared:
        from playwright.sync_api import sync_playwright

        driver = sync_playwright().start()
        _shared["driver"] = driver
        _shared["browser"] = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )

        def close() -> None:
            _shared.pop("browser").close()  # type: ignore[attr-defined]
            _shared.pop("driver").stop()  # type: ignore[attr-defined]

        request.addfinalizer(close)
    yield _shared["browser"]


# Every Content-Security-Policy violation is logged to the console (issue 12): the page
# fixture fails on any, whatever the test was checking.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.effectiveDirective + " " + (event.blockedURI || "")
                + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


def watch_csp(tab) -> list[str]:
    """The CSP violations of ``tab`` (filled as they happen)."""
    violations: list[str] = []
    tab.add_init_script(CSP_WATCH)

    def record(message) -> None:
        text = message.text
        if message.type == "error" and ("CSP violation" in text or "Content Security" in text):
            violations.append(text)

    tab.on("console", record)
    return violations


@pytest.fixture
def page(browser, live_server: str, tmp_path: Path) -> Iterator[object]:
    context = browser.new_context(base_url=live_server, accept_downloads=True, locale="fr-FR")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    violations = watch_csp(tab)
    yield tab
    if errors or violations:
        tab.screenshot(path=str(artifacts_dir() / f"{tmp_path.name}.png"))
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"


def wait_until(tab, expression: str, timeout: float = 10.0) -> None:
    """Wait until a JavaScript expression is true in ``tab``.

    ``page.wait_for_function`` compiles its predicate with eval inside the page, which the
    Content-Security-Policy refuses; ``evaluate`` goes through the DevTools protocol instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if tab.evaluate(expression):
                return
            problem = "still false"
        except Exception as error:  # a navigation or a missing element: retry
            problem = str(error)
        if time.monotonic() > deadline:
            raise AssertionError(f"{problem} after {timeout} s: {expression}")
        tab.wait_for_timeout(50)


def log_in(page, username: str, password: str = "motdepasse-test") -> None:
    """Fill the real login form."""
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")
