"""Server-side access control: login everywhere, roles per view, read-only users never write.

Two layers so a forgotten decorator cannot open a hole:
- ``enforce_access`` runs before every request: anonymous users are sent to the login page,
  and any state-changing method from a ``lecture`` user is a 403 unless the view is marked
  ``@personal_action`` (log out, mark one's own notification read).
- ``@requires(Role.X)`` on a view demands at least that role.

Before both, a revoked, idle or too old session is ended (``portal.auth.sessions``), and an
administrator who must have a second factor and has none is sent to enrol it, with nothing
else open to them but logging out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth import second_factor, sessions
from portal.auth.models import Role

F = TypeVar("F", bound=Callable[..., Any])

STATIC_ENDPOINTS = {"static", "bootstrap.static", "vendor.htmx"}
PUBLIC_ENDPOINTS = {"auth.login", "auth.second_factor", *STATIC_ENDPOINTS}
# All an administrator who must enrol a second factor can reach until it is done.
ENROLMENT_ENDPOINTS = {"account.second_factor_enrol", "auth.logout"}
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
    if endpoint not in ENROLMENT_ENDPOINTS and second_factor.must_enrol(current_user):
        if request.headers.get("HX-Request") == "true":
            return Response(status=204)  # a fragment (the bell): nothing to show, no error
        return redirect(url_for("account.second_factor_enrol"))
    if request.method not in SAFE_METHODS and not current_user.can_edit:
        view = current_app.view_functions.get(endpoint)
        if not getattr(view, "personal_action", False):
            abort(403)
    return None
