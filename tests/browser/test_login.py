"""A user logs in through the browser and sees the French home page with htmx loaded."""

from __future__ import annotations

from tests.browser.conftest import log_in


def test_a_manager_logs_in_and_sees_the_home_page(page, gestionnaire) -> None:
    log_in(page, "gestionnaire")
    assert page.get_by_role("heading", name="Bonjour gestionnaire").is_visible()
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("window.htmx.version").startswith("2.")
