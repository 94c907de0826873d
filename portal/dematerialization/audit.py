"""Audit trail of Chorus exchanges per document (B9).

An exchange is either written at once in its own short transaction (``record``: it stays
even if the work around it is rolled back) or noted on the scope (``note``) and saved with
the outcome it led to, in the same transaction (``save_pending``) — the common path costs
no extra commit. The client's observer only ever sees operation names, codes and timings:
no secrets, no bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from portal.chorus.client import Exchange
from portal.chorus.errors import ChorusAuthenticationError, ChorusError, ChorusRefused
from portal.clock import utcnow
from portal.dematerialization.models import ChorusExchange, DocumentType, ExchangeOutcome
from portal.extensions import db

# Rows are inserted without the ORM, with one statement built once (they come with every
# document sent).
_INSERT = insert(ChorusExchange.__table__)


@dataclass
class AuditScope:
    """Who and what the exchanges of one piece of work are about, and those not yet saved."""

    document_type: DocumentType
    document_id: int
    job_id: int | None = None
    user_id: int | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)


def _row(
    scope: AuditScope,
    operation: str,
    outcome: ExchangeOutcome,
    *,
    duration_ms: int | None = None,
    code_retour: str | int | None = None,
    message: str | None = None,
    chorus_invoice_id: int | None = None,
    attachment_id: int | None = None,
) -> dict[str, Any]:
    """Column values of one ``ChorusExchange`` row (inserted in bulk, without the ORM)."""
    return {
        "document_type": scope.document_type,
        "document_id": scope.document_id,
        "job_id": scope.job_id,
        "user_id": scope.user_id,
        "operation": operation,
        "occurred_at": utcnow(),
        "outcome": outcome,
        "duration_ms": duration_ms,
        "code_retour": None if code_retour is None else str(code_retour),
        "message": (message or None) and message[:2000],
        "chorus_invoice_id": chorus_invoice_id,
        "attachment_id": attachment_id,
    }


def record(scope: AuditScope, operation: str, outcome: ExchangeOutcome, **details: Any) -> None:
    """Write one exchange row now, in its own transaction."""
    _write([_row(scope, operation, outcome, **details)])


def note(scope: AuditScope, operation: str, outcome: ExchangeOutcome, **details: Any) -> None:
    """Keep an exchange to be saved with the outcome (see ``save_pending``)."""
    scope.pending.append(_row(scope, operation, outcome, **details))


def save_pending(scope: AuditScope) -> None:
    """Insert the noted exchanges in the caller's transaction (the scope forgets them)."""
    rows, scope.pending = scope.pending, []
    if rows:
        db.session.execute(_INSERT, rows)


def write_pending(scope: AuditScope) -> None:
    """Save the noted exchanges now, in their own transaction (before an uncertain end)."""
    rows, scope.pending = scope.pending, []
    _write(rows)


def _write(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with Session(db.engine) as session:
        session.execute(_INSERT, rows)
        session.commit()


def outcome_of(error: ChorusError | None) -> ExchangeOutcome:
    """What the audit says of a failed exchange, from the kind of its failure: anything but
    a refusal or an authentication failure (outage, throttling, unreadable answer) is
    ``UNAVAILABLE``."""
    if isinstance(error, ChorusAuthenticationError):
        return ExchangeOutcome.AUTHENTICATION
    if isinstance(error, ChorusRefused):
        return ExchangeOutcome.REFUSED
    return ExchangeOutcome.UNAVAILABLE


def observer_for(scope: AuditScope) -> Callable[[Exchange], None]:
    """A Chorus client observer that records failed calls of this scope.

    Successful calls are recorded by the caller, which knows the ids they returned.
    """

    def observe(exchange: Exchange) -> None:
        if exchange.ok:
            return
        record(
            scope,
            exchange.operation,
            outcome_of(exchange.error),
            duration_ms=exchange.duration_ms,
            code_retour=exchange.code_retour or exchange.http_status,
            message=exchange.message,
        )

    return observe
