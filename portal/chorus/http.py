"""HTTP sessions for talking to Chorus Pro.

requests reads the environment (proxy variables, CA bundle) again on every request of a
session that trusts it: two scans of ``os.environ`` per call, about half a millisecond, for
settings that do not change while the process runs. ``ChorusSession`` reads them once per
origin. A job worker keeps one session (on its job handler, made for that worker alone), so
connections stay open across documents, as the PISTE gateway allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

if TYPE_CHECKING:
    from requests.sessions import _Settings


class ChorusSession(requests.Session):
    """A pooled session that reads the environment's proxy and CA settings once per origin.

    A change to those variables is seen by new sessions (in practice, after a restart).
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], _Settings] = {}

    def merge_environment_settings(
        self,
        url: Any,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> _Settings:
        parts = urlsplit(str(url))
        key = (
            parts.scheme,
            parts.netloc,
            tuple(sorted((proxies or {}).items())),
            stream,
            verify,
            cert,
        )
        settings = self._environment.get(key)
        if settings is None:
            # The parent adds environment proxies to the dict it is given: give it a copy.
            settings = super().merge_environment_settings(
                url, dict(proxies or {}), stream, verify, cert
            )
            self._environment[key] = settings
        fresh = settings.copy()
        fresh["proxies"] = dict(settings["proxies"])
        return fresh
