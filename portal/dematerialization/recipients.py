"""Recipient checks (B3): what Chorus knows about the public structure behind a SIRET.

The answer is cached in ``RecipientStructure`` with its services, shown on the contract
page, refreshed on demand and before sending (at most once per job per structure).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.chorus.client import ChorusClient
from portal.chorus.results import ServiceSummary
from portal.clock import utcnow
from portal.dematerialization.models import (
    PUBLIC_TO_PUBLIC_SERVICE,
    RecipientService,
    RecipientStructure,
)
from portal.extensions import db


def cached(siret: str | None) -> RecipientStructure | None:
    """The cached structure for a SIRET, if it was ever looked up."""
    if not siret:
        return None
    return db.session.scalar(
        select(RecipientStructure)
        .where(RecipientStructure.siret == siret)
        .options(selectinload(RecipientStructure.services))
    )


def is_fresh(structure: RecipientStructure | None, since: datetime) -> bool:
    """Was the structure refreshed at or after ``since``?"""
    return bool(structure and structure.refreshed_at and structure.refreshed_at >= since)


def refresh(siret: str, client: ChorusClient) -> RecipientStructure:
    """Look the structure up in Chorus and store what it says; commits.

    Chorus errors propagate (the caller decides); nothing is changed then.
    """
    found = [s for s in client.search_structures(siret) if s.identifiant in (None, siret)]
    detail = client.get_structure(found[0].id_structure_cpp) if found else None
    services = client.list_services(detail.id_structure_cpp) if detail else []
    engagement_by_service = {
        service.id_service: client.get_service(
            detail.id_structure_cpp, service.id_service
        ).engagement_required
        for service in services
        if detail and service.is_active and service.code != PUBLIC_TO_PUBLIC_SERVICE
    }
    structure = cached(siret) or _new_structure(siret)
    structure.is_found = detail is not None
    structure.chorus_structure_id = detail.id_structure_cpp if detail else None
    structure.designation = (detail.designation if detail else None) or (
        found[0].designation if found else None
    )
    structure.is_active = bool(found) and (found[0].statut or "ACTIVE") == "ACTIVE"
    structure.service_code_required = bool(detail and detail.service_code_required)
    structure.engagement_required = bool(detail and detail.engagement_required)
    structure.engagement_or_service = bool(detail and detail.engagement_or_service_required)
    structure.payment_not_reported = bool(detail and detail.payment_status_not_reported)
    _replace_services(structure, services, engagement_by_service)
    structure.refreshed_at = utcnow()
    structure.last_error = None
    db.session.commit()
    return structure


def record_failure(siret: str, message: str) -> None:
    """Remember why the last refresh failed (shown on the contract page); commits."""
    structure = cached(siret)
    if structure is not None:
        structure.last_error = message
        db.session.commit()


def _replace_services(
    structure: RecipientStructure, services: list[ServiceSummary], engagement: dict[int, bool]
) -> None:
    """Update the cached services in place, keyed by code (rows keep their identity)."""
    current = {row.code: row for row in structure.services}
    wanted = {service.code: service for service in services}
    for code, row in current.items():
        if code not in wanted:
            structure.services.remove(row)
    db.session.flush()
    for code, service in wanted.items():
        existing = current.get(code)
        row = existing if existing is not None else RecipientService(code=code)
        if existing is None:
            structure.services.append(row)
        row.chorus_service_id = service.id_service
        row.label = service.label or ""
        row.is_active = service.is_active
        row.engagement_required = engagement.get(service.id_service, False)


def _new_structure(siret: str) -> RecipientStructure:
    """Insert the cache row, tolerating a concurrent insert by another worker."""
    structure = RecipientStructure(siret=siret)
    db.session.add(structure)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        existing = cached(siret)
        if existing is None:
            raise
        return existing
    return structure
