"""The three ways a Chorus Pro call fails, plus missing settings.

Every message is French (it reaches reports and the settings screen as is) and never holds a
secret: no credentials, tokens, headers or request bodies are ever put in an exception.

Every failure carries its ``code``: the one code stored for it (job items, reports) and
explained by the refusal playbook (``portal/dematerialization/playbook.py``).
"""

from __future__ import annotations


class ChorusError(Exception):
    """Base class of every Chorus Pro failure; ``str()`` is a French sentence."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation

    def __str__(self) -> str:
        return self.message

    @property
    def code(self) -> str:
        """The stored code of this failure (job items, reports, the playbook)."""
        return "ERREUR_CHORUS"


class ChorusConfigurationError(ChorusError):
    """The connection settings are incomplete: nothing was sent."""

    @property
    def code(self) -> str:
        return "CONFIGURATION"


class ChorusUnavailable(ChorusError):
    """Transient: network error, timeout, HTTP 5xx or 429, unreadable answer.

    ``outcome_unknown`` is True when the request may have reached Chorus Pro and been
    processed (read timeout, connection dropped after sending, 5xx, unreadable answer): a
    ``soumettre`` in that state must be reconciled with a lookup, never resent blindly.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, operation=operation)
        self.http_status = http_status
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown

    @property
    def code(self) -> str:
        return "INDISPONIBLE"


class ChorusRefused(ChorusError):
    """Permanent: Chorus answered with a non-zero ``codeRetour`` or an HTTP 4xx."""

    def __init__(
        self,
        code_retour: int | None,
        libelle: str,
        *,
        operation: str | None = None,
        http_status: int | None = None,
    ) -> None:
        code = f"code {code_retour}" if code_retour is not None else f"HTTP {http_status}"
        text = libelle or "aucun motif fourni"
        super().__init__(f"Chorus Pro a refusé la demande ({code}) : {text}", operation=operation)
        self.code_retour = code_retour
        self.libelle = libelle
        self.http_status = http_status

    @property
    def code(self) -> str:
        """Chorus's ``codeRetour`` (``"20104"``), else the HTTP status (``"HTTP_413"``)."""
        if self.code_retour is not None:
            return str(self.code_retour)
        return f"HTTP_{self.http_status}" if self.http_status is not None else "REFUS"


class ChorusAuthenticationError(ChorusError):
    """Permanent until the settings change: PISTE credentials or technical account refused.

    ``stage`` is ``"token"`` when the OAuth server refused the PISTE application, ``"api"``
    when the API answered 401/403 even with a freshly renewed token.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        http_status: int | None = None,
        stage: str = "api",
    ) -> None:
        super().__init__(message, operation=operation)
        self.http_status = http_status
        self.stage = stage

    @property
    def code(self) -> str:
        return "AUTHENTIFICATION"
