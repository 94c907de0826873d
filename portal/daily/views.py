"""Screens of the automatic daily run: preview (B6), trigger panel (S5, S14), delay example (S3).

The preview and the run read the same selection (``queries.due_select``); the trigger panel is
the fragment ``jobs/_task_triggers.html`` of the administration page "Destinataires et
déclencheurs des tâches", rendered there through the ``daily_task_triggers`` template global.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.access import requires
from portal.auth.models import Role
from portal.clock import now, today
from portal.daily import queries as daily_queries
from portal.daily import rules as daily_rules
from portal.daily import services as daily
from portal.dematerialization.models import DocumentType
from portal.htmx import fragment, hx_redirect, is_htmx, render
from portal.jobs import scheduler
from portal.jobs.models import ExecutionState
from portal.pagination import requested_page
from portal.settings import chorus
from portal.settings.services import parse_date, parse_delay

bp = Blueprint("daily", __name__, url_prefix="/envoi-automatique")

PAGE_SIZE = 50


# -- Prochain envoi automatique (B6) -------------------------------------------------------------


@bp.route("/apercu")
def preview() -> Response:
    """What the next automatic run would send and skip, grouped by type (every role)."""
    settings = chorus.load()
    if not settings.enabled:
        abort(404)
    run_on = daily.next_run_on()
    wanted = DocumentType.from_slug(request.args.get("type", ""))  # ?type=quittances&page=2
    page = requested_page(request.args.get("page"))
    context: dict[str, Any] = {
        "run_on": run_on,
        "run_at": daily.next_run_at(),
        **_today_run(),
        "problems": daily_rules.trigger_problems(settings),
        "cutoff": settings.cutoff_date,
        "delays": settings,
    }
    if settings.cutoff_date is None:
        return render("daily/preview.html", sections=[], counts=None, **context)
    counts = daily_queries.preview_counts(run_on, settings)
    if is_htmx() and wanted is not None:  # one section's pagination
        section = daily_queries.preview(
            run_on, settings, wanted, page=page, size=PAGE_SIZE, total=counts.total(wanted)
        )
        return render(
            "daily/preview.html",
            "daily/_preview_section.html",
            section=section,
            counts=counts,
            **context,
        )
    sections = [
        daily_queries.preview(
            run_on,
            settings,
            document_type,
            page=page if document_type is wanted else 1,
            size=PAGE_SIZE,
            total=counts.total(document_type),
        )
        for document_type in DocumentType
    ]
    return render("daily/preview.html", sections=sections, counts=counts, **context)


def _today_run() -> dict[str, Any]:
    """Today's run if it already happened: the execution holding the day, and when/by whom."""
    execution = daily_queries.day_run(today())
    return {
        "today_run": execution,
        "today_run_text": daily_rules.ran_when_by(execution, now()) if execution else None,
    }


# -- Déclencheurs des tâches (administration) ----------------------------------------------------


def triggers_context(page: int = 1) -> dict[str, Any]:
    """Everything the trigger panel shows: state, next run, where the scheduler runs, history."""
    settings = chorus.load()
    problems = daily_rules.trigger_problems(settings)
    running_here = scheduler.current(current_app._get_current_object())  # type: ignore[attr-defined]
    next_run = None
    if not problems:
        in_process = (
            running_here.next_run(daily_rules.DAILY_TASK) if running_here is not None else None
        )
        next_run = in_process or daily.next_run_at()
    return {
        "chorus_on": settings.enabled,
        "problems": problems,
        "cutoff_missing": settings.cutoff_date is None,
        "next_run": next_run,
        "scheduler_here": running_here is not None,
        "history": daily_queries.history(page),
        "trigger_labels": daily_rules.TRIGGER_LABELS,
        "now": now(),
        **_today_run(),
    }


@bp.app_template_global("daily_task_triggers")
def _daily_task_triggers() -> dict[str, Any]:
    """The panel's context when another page includes ``jobs/_task_triggers.html``."""
    return triggers_context()


@bp.route("/declencheurs")
@requires(Role.ADMIN)
def triggers() -> Response:
    """The trigger panel alone (history pagination); the full page is the recipients page."""
    if not is_htmx():
        return hx_redirect(url_for("settings.recipients_page"))
    page = requested_page(request.args.get("page"))
    return fragment("jobs/_task_triggers.html", flashes=True, triggers=triggers_context(page))


@bp.route("/lancer", methods=["POST"])
@requires(Role.ADMIN)
def run_now() -> Response:
    """ "Lancer maintenant": today's run through the same entry point as the schedule."""
    if not chorus.is_chorus_enabled():
        abort(404)
    execution = daily.run_daily(today(), trigger=daily_rules.MANUAL, user=current_user)
    if execution.state == ExecutionState.STARTED and execution.job_id is not None:
        flash("Envoi automatique du jour lancé.", "success")
        return hx_redirect(url_for("jobs.detail", job_id=execution.job_id))
    if execution.state == ExecutionState.SKIPPED:
        flash(f"L'envoi automatique du jour n'a pas été relancé. {execution.message}", "warning")
    else:
        flash(f"Échec de l'envoi automatique : {execution.message}", "danger")
    return hx_redirect(url_for("settings.recipients_page"))


# -- the worked example of the Système tab (S3, S4) ----------------------------------------------


def _delay_or_none(raw: str | None) -> tuple[int | None, str | None]:
    try:
        return parse_delay(raw or "") or 0, None
    except ValueError as error:
        return None, str(error)


def _cutoff_or_none(raw: str | None) -> date | None:
    try:
        return parse_date(raw or "")
    except ValueError:
        return None


@bp.app_template_global("daily_delay_examples")
def _daily_delay_examples(form: Any) -> list[str]:
    """Sentences for the Système form as rendered (a field in error gets none: its error shows)."""
    receipts = None if form.delay_receipts.errors else _delay_or_none(form.delay_receipts.data)[0]
    fees = (
        None if form.delay_fee_invoices.errors else _delay_or_none(form.delay_fee_invoices.data)[0]
    )
    cutoff = None if form.cutoff_date.errors else _cutoff_or_none(form.cutoff_date.data)
    return daily_rules.delay_examples(
        receipts_days=receipts, fee_invoices_days=fees, cutoff=cutoff, today=today()
    )


@bp.route("/exemple-delais")
@requires(Role.ADMIN)
def delay_example() -> Response:
    """The example line, recomputed while the administrator types (HTMX)."""
    receipts, receipts_error = _delay_or_none(request.args.get("delay_receipts"))
    fees, fees_error = _delay_or_none(request.args.get("delay_fee_invoices"))
    examples = daily_rules.delay_examples(
        receipts_days=receipts,
        fee_invoices_days=fees,
        cutoff=_cutoff_or_none(request.args.get("cutoff_date")),
        today=today(),
    )
    errors = [
        f"{label} : {error}"
        for label, error in (
            ("Délai des primes d'assurance", receipts_error),
            ("Délai des factures d'honoraires", fees_error),
        )
        if error
    ]
    return fragment(
        "daily/_delay_example_lines.html",
        flashes=True,
        examples=examples,
        example_errors=errors,
    )
