"""Audit trail of Chorus exchanges per document (B9).

Rows are written in their own short transaction, so an exchange stays recorded even when
the work around it is rolled back. The client's observer only ever sees operation names,
codes and timings: no secrets, no bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal.chorus.client import Exchange
from portal.dematerialization.models import ChorusExchange, ExchangeOutcome
from portal.extensions import db


@dataclass(frozen=True)
class AuditScope:
    """Who and what the exchanges of one piece of work are about."""

    document_type: str
    document_id: int
    job_id: int | None = None
    user_id: int | None = None


def record(
    scope: AuditScope,
    operation: str,
    outcome: ExchangeOutcome,
    *,
    duration_ms: int | None = None,
    code_retour: str | int | None = None,
    message: str | None = None,
    chorus_invoice_id: int | None = None,
    attachment_id: int | None = None,
) -> None:
    """Write one exchange row now, in its own transaction."""
    with Session(db.engine) as session:
        session.add(
            ChorusExchange(
                document_type=scope.document_type,
                document_id=scope.document_id,
                job_id=scope.job_id,
                user_id=scope.user_id,
                operation=operation,
                outcome=outcome.value,
                duration_ms=duration_ms,
                code_retour=None if code_retour is None else str(code_retour),
                message=(message or None) and message[:2000],
                chorus_invoice_id=chorus_invoice_id,
                attachment_id=attachment_id,
            )
        )
        session.commit()


def observer_for(scope: AuditScope) -> Callable[[Exchange], None]:
    """A Chorus client observer that records failed calls of this scope.

    Successful calls are recorded by the caller, which knows the ids they returned.
    """

    def observe(exchange: Exchange) -> None:
        if exchange.ok:
            return
        if exchange.http_status in (401, 403):
            outcome = ExchangeOutcome.AUTHENTICATION
        elif exchange.code_retour not in (None, 0) or (
            exchange.http_status is not None and 400 <= exchange.http_status < 500
        ):
            outcome = ExchangeOutcome.REFUSED
        else:
            outcome = ExchangeOutcome.UNAVAILABLE
        record(
            scope,
            exchange.operation,
            outcome,
            duration_ms=exchange.duration_ms,
            code_retour=exchange.code_retour or exchange.http_status,
            message=exchange.message,
        )

    return observe
