"""Paths of portal pages, from a request or from a background thread.

Job workers and scheduled tasks build links for notifications outside any request, where
``url_for`` needs a request context of its own.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for


def path_for(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)``, also outside a request."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)
