"""Recipient checks (B3): what Chorus knows about the public structure behind a SIRET.

The answer is cached in ``RecipientStructure`` with its services, shown on the contract
page, refreshed on demand (« Vérifier dans Chorus Pro ») and before sending. Calls are
bounded: a structure costs ``rechercher`` + ``consulter`` + ``rechercher/services`` (paged,
up to 1,000 services a page), and ``consulter/service`` is asked only for the service a
contract uses. A send job looks each structure and each (structure, service) up at most
once (``JobLookups``), and not at all while the cached answer is fresh (the Système
setting « Durée de validité d'une vérification de destinataire »).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.chorus.client import ChorusClient
from portal.chorus.errors import ChorusError, ChorusUnavailable
from portal.chorus.results import ServiceSummary
from portal.clock import utcnow
from portal.dematerialization.models import RecipientService, RecipientStructure
from portal.extensions import db
from portal.sending.rules import clean, service_needs_consulting


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


def refresh(
    siret: str, client: ChorusClient, *, service_code: str | None = None
) -> RecipientStructure:
    """« Vérifier dans Chorus Pro »: look the structure up again, then consult the service
    ``service_code`` (the contract's) when it may be invoiced; commits.

    Chorus errors propagate (the caller decides); what was stored before the error stays.
    """
    structure = refresh_structure(siret, client)
    consult_service(structure, service_code, client)
    return structure


def service_to_consult(
    structure: RecipientStructure | None, service_code: str | None
) -> RecipientService | None:
    """The cached service with this code whose engagement rule must still be asked for."""
    if structure is None or not structure.is_found or structure.chorus_structure_id is None:
        return None
    service = structure.service(clean(service_code))
    if service is None or service.chorus_service_id is None:
        return None
    return service if service_needs_consulting(service) else None


def consult_service(
    structure: RecipientStructure, service_code: str | None, client: ChorusClient
) -> bool:
    """``consulter/service`` for this one service if its rule is unknown; commits.

    Returns whether Chorus was called.
    """
    service = service_to_consult(structure, service_code)
    structure_id = structure.chorus_structure_id
    if service is None or structure_id is None or service.chorus_service_id is None:
        return False
    detail = client.get_service(structure_id, service.chorus_service_id)
    service.engagement_required = detail.engagement_required
    db.session.commit()
    return True


def refresh_structure(siret: str, client: ChorusClient) -> RecipientStructure:
    """Look the structure and its list of services up in Chorus and store them; commits.

    The services' engagement rules become unknown (``consult_service`` asks for them).
    Chorus errors propagate (the caller decides); nothing is changed then.
    """
    found = [s for s in client.search_structures(siret) if s.identifiant in (None, siret)]
    detail = client.get_structure(found[0].id_structure_cpp) if found else None
    services = client.list_services(detail.id_structure_cpp) if detail else []
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
    _replace_services(structure, services)
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


class JobLookups:
    """The recipient lookups of one send job, shared by all its workers in this process (B3).

    Each structure is looked up at most once per job, and not at all while its cached
    answer is fresh (refreshed at or after ``since``: the job's creation minus the freshness
    setting); each (structure, service) is consulted at most once per job. A failed lookup
    is remembered: the job's other documents of that structure or service fail with the
    same error instead of asking Chorus again — except a transient failure, which the
    documents' automatic retries ask again, once per round (``attempt``: the tries already
    made by the asking document).
    """

    def __init__(self, since: datetime) -> None:
        self.since = since
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._asked: set[tuple[str, str]] = set()
        # A failure and the round (document tries) it happened in.
        self._failures: dict[tuple[str, str], tuple[ChorusError, int]] = {}

    def trusts(self, structure: RecipientStructure | None, service_code: str | None) -> bool:
        """May the rules use this cached ``structure`` for this service code as it is?

        False sends the caller to ``check``, which only calls Chorus for what this job has
        not asked yet (another worker's answer is re-read from the database).
        """
        fresh = is_fresh(structure, self.since)
        return fresh and service_to_consult(structure, service_code) is None

    def check(
        self, siret: str, service_code: str | None, client: ChorusClient, attempt: int = 0
    ) -> RecipientStructure | None:
        """The structure of ``siret`` as cached after asking Chorus what is still needed.

        Ends the caller's transaction (re-reads what other workers stored); commits what
        Chorus answered. Raises the ``ChorusError`` of this lookup, or of the job's earlier
        failed one.
        """
        structure_key = (siret, "")
        with self._lock(structure_key):
            structure = _reload(siret)
            if self._may_ask(structure_key, attempt) and not is_fresh(structure, self.since):
                self._ask(structure_key, attempt, lambda: refresh_structure(siret, client))
                structure = _reload(siret)
            self._raise_failure(structure_key)
        code = clean(service_code)
        if service_to_consult(structure, code) is None:
            return structure
        service_key = (siret, code)
        with self._lock(service_key):
            structure = _reload(siret)  # another worker may have consulted it meanwhile
            if self._may_ask(service_key, attempt) and structure is not None:
                consulted = structure
                self._ask(service_key, attempt, lambda: consult_service(consulted, code, client))
                structure = _reload(siret)
            self._raise_failure(service_key)
        return structure

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _may_ask(self, key: tuple[str, str], attempt: int) -> bool:
        failure = self._failures.get(key)
        if failure is not None:  # asked again only by a later round of a transient failure
            error, round_ = failure
            return isinstance(error, ChorusUnavailable) and attempt > round_
        return key not in self._asked

    def _ask(self, key: tuple[str, str], attempt: int, call: Callable[[], object]) -> None:
        self._asked.add(key)
        try:
            call()
        except ChorusError as error:
            db.session.rollback()
            self._failures[key] = (error, attempt)
        except BaseException:
            self._asked.discard(key)  # not a Chorus answer (database, bug): may be retried
            raise
        else:
            self._failures.pop(key, None)

    def _raise_failure(self, key: tuple[str, str]) -> None:
        failure = self._failures.get(key)
        if failure is not None:
            raise failure[0]


def _reload(siret: str) -> RecipientStructure | None:
    """The cached structure as committed now (ends the session's transaction first)."""
    db.session.rollback()
    return cached(siret)


def _replace_services(structure: RecipientStructure, services: list[ServiceSummary]) -> None:
    """Update the cached services in place, keyed by code (rows keep their identity).

    ``rechercher/services`` does not tell the engagement rule: it is unknown again.
    """
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
        row.engagement_required = None


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
