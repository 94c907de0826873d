"""Build the Chorus Pro client from the portal's settings (environment variables win, S2)."""

from __future__ import annotations

import requests
from flask import current_app, has_app_context

from portal.chorus.client import ChorusClient, Observer, RetryPolicy
from portal.chorus.errors import ChorusConfigurationError
from portal.chorus.tokens import TokenCache
from portal.connection import health
from portal.settings import chorus as chorus_settings
from portal.settings.chorus import ChorusSettings

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 60.0


def client_from_settings(
    settings: ChorusSettings | None = None,
    *,
    session: requests.Session | None = None,
    token_cache: TokenCache | None = None,
    retry: RetryPolicy | None = None,
    observer: Observer | None = None,
) -> ChorusClient:
    """A client for the current settings (read with ``portal.settings.chorus.load()``).

    Timeouts come from the Flask config keys ``CHORUS_CONNECT_TIMEOUT`` and
    ``CHORUS_READ_TIMEOUT``. Raises :class:`ChorusConfigurationError` (French message
    listing the missing fields) when credentials are missing. The supplier id is not needed
    to build a client (it is only needed to submit). Every client records the connection
    health (B5) before calling ``observer``: see :func:`portal.connection.health.chain`.
    """
    settings = settings or chorus_settings.load()
    connect_timeout, read_timeout = _timeouts()
    if not (
        settings.client_id
        and settings.client_secret
        and settings.tech_login
        and settings.tech_password
    ):
        missing = [
            label
            for label in settings.missing_connection_fields
            if label != "Identifiant fournisseur"
        ]
        raise ChorusConfigurationError(
            "Paramètres de connexion Chorus Pro incomplets : " + ", ".join(missing) + "."
        )
    return ChorusClient(
        oauth_url=settings.oauth_url,
        api_url=settings.api_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        tech_login=settings.tech_login,
        tech_password=settings.tech_password,
        user_id=settings.user_id,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        session=session,
        token_cache=token_cache,
        retry=retry,
        observer=health.chain(observer),
    )


def _timeouts() -> tuple[float, float]:
    if not has_app_context():
        return DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
    config = current_app.config
    return (
        float(config.get("CHORUS_CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT),
        float(config.get("CHORUS_READ_TIMEOUT") or DEFAULT_READ_TIMEOUT),
    )
