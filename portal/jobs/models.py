"""Background jobs as database rows: one ``Job`` and one ``JobItem`` per document processed."""

from __future__ import annotations

import enum
import os
import socket
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.clock import to_paris, utcnow
from portal.db_types import AwareDateTime, EnumText
from portal.dematerialization.models import DocumentType
from portal.extensions import db
from portal.notifications.models import StoredReport


def process_name() -> str:
    """This process as jobs name their owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobKind(enum.StrEnum):
    SINGLE_SEND = "envoi_unitaire"
    MASS_SEND = "envoi_masse"
    DAILY_SEND = "automatique"
    STATUS_SYNC = "suivi_statuts"

    @property
    def label(self) -> str:
        return JOB_KIND_LABELS[self]

    @property
    def succeeded_label(self) -> str:
        """What a succeeded item is called for this kind (a send, or a status read)."""
        return "Statut lu" if self is JobKind.STATUS_SYNC else "Envoyée"

    @property
    def succeeded_count_label(self) -> str:
        return "consulté(s)" if self is JobKind.STATUS_SYNC else "envoyé(s)"


JOB_KIND_LABELS = {
    JobKind.SINGLE_SEND: "Dématérialisation unitaire",
    JobKind.MASS_SEND: "Dématérialisation en masse",
    JobKind.DAILY_SEND: "Dématérialisation automatique",
    JobKind.STATUS_SYNC: "Suivi des statuts Chorus",
}


class JobState(enum.StrEnum):
    """Where the job is in its life; what it means to a user is its ``JobStatus``."""

    RUNNING = "running"
    FINISHING = "finishing"
    DONE = "done"
    FAILED = "failed"  # its finalization failed (``Job.error``)


class JobStatus(enum.StrEnum):
    """A job as users see it, in every list and badge: its state and what its counts say."""

    RUNNING = "running"
    FINISHING = "finishing"
    DONE = "done"
    DONE_WITH_ERRORS = "done_with_errors"
    FAILED = "failed"
    RESUMED = "resumed"

    @property
    def label(self) -> str:
        return JOB_STATUS_LOOKS[self][0]

    @property
    def colour(self) -> str:
        """Bootstrap colour of its badge, also the level of a notification about it."""
        return JOB_STATUS_LOOKS[self][1]


JOB_STATUS_LOOKS = {
    JobStatus.RUNNING: ("En cours", "info"),
    JobStatus.FINISHING: ("Finalisation", "info"),
    JobStatus.DONE: ("Terminée", "success"),
    JobStatus.DONE_WITH_ERRORS: ("Terminée avec erreurs", "warning"),
    JobStatus.FAILED: ("En échec", "danger"),
    JobStatus.RESUMED: ("Interrompue puis reprise", "info"),
}


def job_status(state: JobState, *, succeeded: int, failed: int, resumed_count: int) -> JobStatus:
    """What a job in ``state`` with these counts is to a user.

    A failed finalization, or failures without a single success, is « En échec »; failures
    beside successes are « Terminée avec erreurs »; a clean job whose process died and that
    another process took over is « Interrompue puis reprise ». Skipped documents are no errors.
    """
    if state == JobState.RUNNING:
        return JobStatus.RUNNING
    if state == JobState.FINISHING:
        return JobStatus.FINISHING
    if state == JobState.FAILED or (failed and not succeeded):
        return JobStatus.FAILED
    if failed:
        return JobStatus.DONE_WITH_ERRORS
    if resumed_count:
        return JobStatus.RESUMED
    return JobStatus.DONE


class ItemState(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker
    CLAIMED = "claimed"  # a worker owns it; nothing irreversible sent yet
    SUBMITTING = "submitting"  # attempt recorded, the irreversible call may have happened
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_final(self) -> bool:
        return self in (ItemState.SUCCEEDED, ItemState.FAILED, ItemState.SKIPPED)

    @property
    def label(self) -> str:
        return ITEM_STATE_LABELS[self]


ITEM_STATE_LABELS = {
    ItemState.PENDING: "En attente",
    ItemState.CLAIMED: "En cours",
    ItemState.SUBMITTING: "Envoi en cours",
    ItemState.SUCCEEDED: "Envoyée",
    ItemState.FAILED: "Refusée / en échec",
    ItemState.SKIPPED: "Ignorée",
}
# A pending item waiting for its automatic retry (``JobItem.waits_for_retry``).
RETRY_PLANNED_LABEL = "Nouvel essai prévu"

UNFINISHED_ITEM_STATES = (ItemState.PENDING, ItemState.CLAIMED, ItemState.SUBMITTING)

# Triggers with a meaning for attribution (``TaskExecution.trigger``, ``Job.options["trigger"]``).
COMMAND_LINE = "commande"  # flask chorus …
BY_HAND = "manuelle"  # a button of the portal


def launcher(user: User | None, trigger: str | None) -> str:
    """Who started a job or an execution, for « lancée par … » (B9).

    The person when there is one; otherwise the command line, or the scheduler
    (« l'automate »). A run by hand recorded before attribution existed has no person.
    """
    if user is not None:
        return user.display_name
    if trigger == COMMAND_LINE:
        return "la ligne de commande"
    if trigger == BY_HAND:
        return "un utilisateur"
    return "l'automate"


class Job(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(EnumText(JobKind, 30), index=True)
    state: Mapped[JobState] = mapped_column(
        EnumText(JobState, 20), default=JobState.RUNNING, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    total: Mapped[int] = mapped_column(default=0)
    succeeded: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    # Kind-specific parameters (e.g. chosen secondary attachments of a single send).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("stored_reports.id"))
    # The process working on the job renews ``heartbeat_at`` while it runs; a job whose
    # heartbeat is older than the lease lost its process and is adopted by another one
    # (``portal.jobs.sweeper``), which counts it in ``resumed_count``.
    owner: Mapped[str | None] = mapped_column(String(120), default=lambda: process_name())
    heartbeat_at: Mapped[datetime | None] = mapped_column(AwareDateTime, default=utcnow)
    resumed_count: Mapped[int] = mapped_column(default=0, server_default="0")

    created_by: Mapped[User | None] = relationship()
    report: Mapped[StoredReport | None] = relationship()
    items: Mapped[list[JobItem]] = relationship(
        back_populates="job", order_by="JobItem.id", cascade="all, delete-orphan"
    )

    @property
    def done_count(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def launched_by(self) -> str:
        return launcher(self.created_by, (self.options or {}).get("trigger"))

    @property
    def is_running(self) -> bool:
        return self.state in (JobState.RUNNING, JobState.FINISHING)

    @property
    def status(self) -> JobStatus:
        return job_status(
            self.state,
            succeeded=self.succeeded,
            failed=self.failed,
            resumed_count=self.resumed_count or 0,
        )

    @property
    def outcome(self) -> JobStatus:
        """The status the job ends with once finalized (for the end notification)."""
        state = JobState.DONE if self.is_running else self.state
        return job_status(
            state,
            succeeded=self.succeeded,
            failed=self.failed,
            resumed_count=self.resumed_count or 0,
        )

    @property
    def item_state_labels(self) -> dict[ItemState, str]:
        """Item state labels in this job's words (a status read is not a send)."""
        return {**ITEM_STATE_LABELS, ItemState.SUCCEEDED: self.kind.succeeded_label}

    def item_state_label(self, item: JobItem) -> str:
        if item.waits_for_retry:
            return RETRY_PLANNED_LABEL
        return self.item_state_labels[item.state]

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done_count / self.total)


class JobItem(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "job_items"
    __table_args__ = (
        Index("ix_job_items_job_state", "job_id", "state"),
        Index("ix_job_items_document", "document_type", "document_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    document_type: Mapped[DocumentType] = mapped_column(EnumText(DocumentType, 20))
    document_id: Mapped[int] = mapped_column()
    document_number: Mapped[str] = mapped_column(String(40))
    state: Mapped[ItemState] = mapped_column(EnumText(ItemState, 20), default=ItemState.PENDING)
    # Human progress of the current item ("Dépôt de la pièce principale", …).
    step: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime)
    started_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    chorus_invoice_id: Mapped[int | None] = mapped_column(BigInteger)
    chorus_status: Mapped[str | None] = mapped_column(String(60))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str | None] = mapped_column(Text)
    # Transient failures (Chorus unavailable, 429) put the item back to ``pending`` until
    # ``retry_at``; ``tries`` counts the attempts that ended that way.
    retry_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    tries: Mapped[int] = mapped_column(default=0, server_default="0")

    job: Mapped[Job] = relationship(back_populates="items")

    @property
    def waits_for_retry(self) -> bool:
        return self.state == ItemState.PENDING and self.retry_at is not None

    def retry_note(self, attempts: int) -> str:
        """« Nouvel essai à 19:42 (2/5) » (Paris time; attempt number / ``attempts`` of the
        policy) for an item waiting for its automatic retry, else ``""``."""
        if not self.waits_for_retry or self.retry_at is None:
            return ""
        attempt = (self.tries or 0) + 1
        at = to_paris(self.retry_at)
        # A policy lowered meanwhile still lets the planned attempt happen: never « 5/3 ».
        return f"Nouvel essai à {at:%H:%M} ({attempt}/{max(attempts, attempt)})"


class ExecutionState(enum.StrEnum):
    STARTED = "started"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return {
            ExecutionState.STARTED: "Lancée",
            ExecutionState.FAILED: "En échec",
            ExecutionState.SKIPPED: "Ignorée",  # why: the execution's message
        }[self]


class TaskExecution(db.Model):  # type: ignore[name-defined,misc]
    """One firing of a scheduled task (daily run, status follow-up), whatever its outcome.

    ``claim_key`` (e.g. ``daily:2026-11-27``) is unique: the process that inserts it runs the
    task; any other process firing for the same key records a skipped execution instead.
    """

    __tablename__ = "task_executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(40), index=True)
    run_on: Mapped[date] = mapped_column(index=True)
    claim_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    trigger: Mapped[str] = mapped_column(String(20))  # "planifiée" | "manuelle" | "commande"
    state: Mapped[ExecutionState] = mapped_column(EnumText(ExecutionState, 20))
    started_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    worker: Mapped[str | None] = mapped_column(String(120))
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    # The person who started a run by hand (B9); None for the scheduler and the command line.
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    job: Mapped[Job | None] = relationship()
    started_by: Mapped[User | None] = relationship()

    @property
    def launched_by(self) -> str:
        return launcher(self.started_by, self.trigger)
