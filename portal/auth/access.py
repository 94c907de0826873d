"""Server-side access control: login everywhere, roles per view, read-only users never write.

Two layers so a forgotten decorator cannot open a hole:
- ``enforce_access`` runs before every request: anonymous users are sent to the login page,
  and any state-changing method from a ``lecture`` user is a 403 unless the view is marked
  ``@personal_action`` (log out, mark one's own notification read).
- ``@requires(Role.X)`` on a view demands at least that role.

Before both, a revoked, idle or too old session is ended (``portal.auth.sessions``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from portal.auth import sessions
from portal.auth.models import Role

F = TypeVar("F", bound=Callable[..., Any])

STATIC_ENDPOINTS = {"static", "bootstrap.static", "vendor.htmx"}
PUBLIC_ENDPOINTS = {"auth.login", *STATIC_ENDPOINTS}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def requires(minimum: Role) -> Callable[[F], F]:
    """Demand at least ``minimum`` for this view (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.has_role(minimum):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = minimum  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def personal_action(view: F) -> F:
    """Mark a POST view any logged-in user may call (it only touches their own data)."""
    view.personal_action = True  # type: ignore[attr-defined]
    return view


def enforce_access() -> Any:
    """``before_request`` hook: login required, read-only users cannot change anything."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in STATIC_ENDPOINTS:
        return None
    sessions.check_current()
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if request.headers.get("HX-Request") == "true":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if request.method not in SAFE_METHODS and not current_user.can_edit:
        view = current_app.view_functions.get(endpoint)
        if not getattr(view, "personal_action", False):
            abort(403)
    return None
