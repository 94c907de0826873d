"""Fixtures of the follow-up tests (B1, B2, B10, S16, S17): the emulator, sending, syncing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import delete

from portal.clock import PARIS
from portal.dematerialization.documents import Document
from portal.extensions import db
from portal.followup import services as followup
from portal.jobs.models import Job, JobKind
from portal.jobs.pool import get_runner
from portal.notifications.models import Notification
from portal.sending import services as sending
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.sending.conftest import (  # noqa: F401  (fixtures used by name)
    chorus,
    chorus_admin,
    chorus_emulator,
    chorus_emulator_server,
    sendable_contract,
    sendable_receipt,
)

HX = {"HX-Request": "true"}

# Public structures of the emulator's default directory, by scenario.
SIRET_PAID = "21588139298698"
SIRET_MANDATED_ONLY = "22731778148647"  # statutMiseEnPaiementNestPasRemonte
SIRET_REJECTED = "29787534677876"
SIRET_SUSPENDED = "26804571378475"
SIRET_RECYCLE = "22671475613628"
COMMENTS = {
    SIRET_REJECTED: "Facture rejetée : le montant ne correspond pas au bon de commande.",
    SIRET_SUSPENDED: "Pièce justificative manquante : merci de joindre l'attestation d'assurance.",
    SIRET_RECYCLE: "Code service erroné : le service FINANCES est à utiliser.",
}
HOUR = 3600.0


def frozen(moment: datetime) -> Any:
    """Time travel for the portal's clock (ticking, so worker threads and leases behave)."""
    return time_machine.travel(moment, tick=True)


def paris(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def receipt_for(siret: str, **kw: Any) -> Any:
    """A sendable receipt of a public client of the emulator with the given scenario."""
    client = factories.make_client(siret=siret, name=f"Structure {siret}")
    return sendable_receipt(sendable_contract(client=client), **kw)


def wait(app: Flask, job: Job) -> Job:
    get_runner(app).wait(job.id, timeout=120)
    db.session.expire_all()
    fresh = db.session.get(Job, job.id)
    assert fresh is not None
    return fresh


def send(app: Flask, *documents: Document) -> Job:
    """Send documents to the emulator (a mass send) and wait for the job."""
    job = sending.start_send(list(documents), kind=JobKind.MASS_SEND, user=None)
    db.session.commit()
    sending.launch(job)
    done = wait(app, job)
    assert done.succeeded == len(documents), [i.error_message for i in done.items]
    # The send's own end notification is not what these tests look at.
    db.session.execute(delete(Notification))
    db.session.commit()
    return done


def sync(app: Flask, *, only: Sequence[Document] | None = None, trigger: str = "manuelle") -> Job:
    """Run a status follow-up job now (every non-final document, or ``only``) and wait."""
    job = followup.start_status_sync(trigger=trigger, only=only)
    assert job is not None, "nothing to sync"
    db.session.commit()
    followup.launch(job)
    return wait(app, job)


def advance(emulator: Any, hours: float) -> None:
    """Move the emulator's simulated clock (statuses follow their scenario)."""
    emulator.state.clock.advance(hours * HOUR)


def auto_settle(on: bool) -> None:
    store.put_bool(keys.AUTO_SETTLE, on)
    db.session.commit()
