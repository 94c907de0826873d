"""PISTE access tokens, cached per credentials and renewed ahead of expiry.

The cache is keyed by a digest of (token URL, client id, client secret), so the secret is
never kept as a key, and a settings change naturally uses a new entry. One lock per key
makes concurrent threads wait for a single token request instead of each asking for one.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Renew this long before the announced expiry (but never earlier than half the lifetime,
# so short-lived tokens are still reused).
RENEWAL_MARGIN_SECONDS = 300.0


def credentials_key(oauth_url: str, client_id: str, client_secret: str) -> str:
    """Cache key for one set of PISTE credentials (a digest: the secret is not kept)."""
    raw = "\x1f".join((oauth_url, client_id, client_secret)).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class CachedToken:
    value: str = field(repr=False)
    renew_at: float
    expires_at: float


class TokenCache:
    """Thread-safe map credentials key → token, with a clock that tests may replace."""

    def __init__(
        self,
        *,
        margin_seconds: float = RENEWAL_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._margin = margin_seconds
        self._clock = clock
        self._tokens: dict[str, CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"<TokenCache entries={len(self._tokens)}>"

    def lock_for(self, key: str) -> threading.Lock:
        """The lock serializing token requests for these credentials."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: str) -> str | None:
        """A token still comfortably valid, or None when one must be requested."""
        token = self._tokens.get(key)
        if token is None or self._clock() >= token.renew_at:
            return None
        return token.value

    def put(self, key: str, value: str, expires_in: float) -> None:
        """Remember a token announced valid for ``expires_in`` seconds from now."""
        now = self._clock()
        lifetime = max(float(expires_in), 0.0)
        renew_after = max(lifetime - self._margin, lifetime / 2)
        self._tokens[key] = CachedToken(value, now + renew_after, now + lifetime)

    def remaining_seconds(self, key: str) -> int:
        """Seconds before the cached token expires (0 when there is none)."""
        token = self._tokens.get(key)
        return max(int(token.expires_at - self._clock()), 0) if token is not None else 0

    def invalidate(self, key: str, value: str | None = None) -> None:
        """Forget the token (only if it is still ``value``, when given: a newer one stays)."""
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and (value is None or current.value == value):
                del self._tokens[key]

    def clear(self) -> None:
        with self._guard:
            self._tokens.clear()


DEFAULT_CACHE = TokenCache()
