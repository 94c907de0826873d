"""``flask --app portal chorus …``: the same code path as the screens and the scheduler."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal import storage
from portal.billing.models import FeeInvoice, Receipt
from portal.clock import today
from portal.daily import rules as daily_rules
from portal.daily import services as daily
from portal.dematerialization.documents import Document
from portal.extensions import db
from portal.jobs.links import job_url
from portal.jobs.models import COMMAND_LINE, ExecutionState, ItemState, Job, JobKind
from portal.jobs.pool import get_runner
from portal.sending import queries
from portal.sending import services as sending
from portal.settings import chorus as chorus_settings

chorus_cli = AppGroup("chorus", help="Dématérialisation Chorus Pro.")


def _find(numbers: tuple[str, ...]) -> tuple[list[Document], list[str]]:
    found: dict[str, Document] = {}
    found.update(
        (r.number, r)
        for r in db.session.scalars(select(Receipt).where(Receipt.number.in_(numbers)))
    )
    found.update(
        (f.number, f)
        for f in db.session.scalars(select(FeeInvoice).where(FeeInvoice.number.in_(numbers)))
    )
    return [found[n] for n in numbers if n in found], [n for n in numbers if n not in found]


def _all_eligible(limit: int | None) -> list[Document]:
    settings = chorus_settings.load()
    documents: list[Document] = []
    for model in (Receipt, FeeInvoice):
        eligible = queries.eligible_condition(
            model,
            chorus_enabled=settings.enabled,
            has_vat_exemption_code=settings.vat_exemption_code is not None,
        )
        ids = db.session.scalars(
            select(model.id)
            .select_from(queries.eligibility_joins(model))
            .where(eligible)
            .order_by(model.entered_on, model.id)
            .limit(limit)
        ).all()
        documents.extend(db.session.scalars(select(model).where(model.id.in_(ids))))
    return documents[:limit] if limit else documents


def _wait_and_report(job: Job) -> None:
    click.echo(f"Tâche n° {job.id} lancée ({job.total} document(s))…")
    get_runner(current_app._get_current_object()).wait(job.id)  # type: ignore[attr-defined]
    db.session.expire_all()
    job = db.session.get(Job, job.id) or job
    click.echo(
        f"{job.status.label} : {job.succeeded} envoyé(s), {job.skipped} ignoré(s), "
        f"{job.failed} refusé(s) ou en échec."
    )
    if job.report is not None:
        click.echo(f"Rapport : {storage.path_of(storage.REPORTS, job.report.stored_name)}")
    click.echo(f"Détail : {job_url(job.id)}")


@chorus_cli.command("send")
@click.argument("numbers", nargs=-1)
@click.option("--all-eligible", is_flag=True, help="Envoyer tous les documents éligibles.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Au plus N documents.")
def send(numbers: tuple[str, ...], all_eligible: bool, limit: int | None) -> None:
    """Send receipts / fee invoices by number, or every eligible one."""
    if bool(numbers) == all_eligible:
        raise click.UsageError("Donnez des numéros, ou --all-eligible (pas les deux).")
    unknown: list[str] = []
    if all_eligible:
        documents = _all_eligible(limit)
    else:
        documents, unknown = _find(numbers)
    for number in unknown:
        click.echo(f"Numéro inconnu : {number}", err=True)
    if not documents:
        raise click.ClickException("Aucun document à envoyer.")
    job = sending.start_send(documents, kind=JobKind.MASS_SEND, user=None)
    job.options = {**(job.options or {}), "trigger": COMMAND_LINE}  # who ran it (B9)
    db.session.commit()
    sending.launch(job)
    _wait_and_report(job)


REASON_MAX = 200


def forced_note(day: date, today_is: date, force: bool, reason: str | None) -> str | None:
    """What ``--force --reason`` writes to the history; refuses a future day without them.

    Running a day consumes it (its 19:00 run will not happen), and a future day sends its
    documents early: it takes ``--force`` and a reason (raises ``click.UsageError``).
    """
    reason = (reason or "").strip() or None
    if force and reason is None:
        raise click.UsageError(
            '--force exige une raison : --reason "…" (écrite dans l\'historique).'
        )
    if reason is not None and not force:
        raise click.UsageError("--reason ne s'emploie qu'avec --force.")
    if reason is not None and len(reason) > REASON_MAX:
        raise click.UsageError(f"La raison ne doit pas dépasser {REASON_MAX} caractères.")
    if day > today_is and not force:
        raise click.UsageError(
            f"Le {day:%d/%m/%Y} est dans le futur (nous sommes le {today_is:%d/%m/%Y}) : "
            "l'exécuter maintenant enverrait ses documents en avance et son envoi de 19 h "
            "n'aurait plus lieu. Si c'est voulu, ajoutez --force --reason \"…\"."
        )
    if reason is None:
        return None
    return f"Lancée en avance avec --force : {reason}" if day > today_is else f"--force : {reason}"


@chorus_cli.command("run-daily")
@click.option("--date", "run_on", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--force", is_flag=True, help="Exécuter un jour futur (avec --reason).")
@click.option(
    "--reason",
    default=None,
    help=f"Pourquoi forcer ({REASON_MAX} caractères au plus), écrit dans l'historique.",
)
def run_daily(run_on: date | None, force: bool, reason: str | None) -> None:
    """Run the automatic daily dematerialization now (date: today in Europe/Paris).

    The day is then done: its 19:00 run does not happen again. A future date is refused
    unless ``--force --reason "…"`` is given.
    """
    today_is = today()
    day = run_on.date() if run_on else today_is  # type: ignore[attr-defined]
    note = forced_note(day, today_is, force, reason)
    execution = daily.run_daily(day, trigger=daily_rules.COMMAND, note=note)
    if execution.state == ExecutionState.SKIPPED:
        click.echo(f"Ignoré (envoi du {day:%d/%m/%Y}) : {execution.message}")
        return
    if execution.state == ExecutionState.FAILED:
        raise click.ClickException(f"Échec : {execution.message}")
    if day > today_is:
        click.echo(f"Attention : l'envoi de 19 h du {day:%d/%m/%Y} n'aura pas lieu (jour exécuté).")
    if execution.job is not None:
        _wait_and_report(execution.job)


@chorus_cli.command("sync-statuses")
def sync_statuses() -> None:
    """Read now the Chorus status of every sent document that is not final (B1)."""
    from portal.followup import services as followup

    execution = followup.run_status_sync(trigger=followup.COMMAND)
    if execution.state == ExecutionState.FAILED:
        raise click.ClickException(f"Échec : {execution.message}")
    if execution.job is None:
        click.echo(execution.message or "Rien à faire.")
        return
    job = execution.job
    click.echo(f"Tâche n° {job.id} lancée ({job.total} document(s) à consulter)…")
    get_runner(current_app._get_current_object()).wait(job.id)  # type: ignore[attr-defined]
    db.session.expire_all()
    job = db.session.get(Job, job.id) or job
    for item in job.items:
        detail = item.explanation if item.state == ItemState.SUCCEEDED else item.error_message
        click.echo(f"  {item.document_number} : {detail or item.state}")
    click.echo(
        f"{job.status.label} : {job.succeeded} consulté(s), {job.failed} en échec, "
        f"{job.skipped} ignoré(s)."
    )
    click.echo(f"Détail : {job_url(job.id)}")
