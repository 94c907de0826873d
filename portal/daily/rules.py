"""The daily run's rules, as pure functions: what is due tonight, when the run happens, and
how it is told (S3, S4, S14, B9).

- **Due date** (S3, S4, S14): is it the automatic run's turn to send a document?
  ``is_due()`` with ``effective_date()`` and ``due_from()``; ``today`` is always an argument.
  ``portal.daily.queries`` says the same in SQL (``due_condition``), and
  ``tests/sending/test_agreement.py`` checks that both agree.
- **The day's claim** (B9): one run per day (``claim_key``), and the sentences saying who ran
  it and why a second run did nothing (``skip_reason``).
- **The settings screen's example** of what the delays mean (``delay_examples``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from portal.billing.models import FeeInvoice, Receipt
from portal.clock import to_paris
from portal.jobs.models import BY_HAND, COMMAND_LINE, TaskExecution
from portal.models_base import ChorusState
from portal.portfolio.models import Term

if TYPE_CHECKING:
    from portal.dematerialization.documents import Document
    from portal.settings.chorus import ChorusSettings

DAILY_TASK = "envoi_quotidien"
RUN_AT = time(19, 0)
# If the portal was down at 19:00 it still runs when it comes back between these hours (the
# first minute belongs to the regular firing, so the two never race).
CATCH_UP_FROM = time(19, 1)
CATCH_UP_UNTIL = time(23, 30)
NO_CUTOFF = "date de coupure non renseignée"

# Execution triggers (``TaskExecution.trigger``, at most 20 characters).
SCHEDULED = "planifiée"  # the 19:00 cron firing
CATCH_UP = "rattrapage"  # the portal came back after 19:00 the same evening
MANUAL = BY_HAND  # "Lancer maintenant" on the administration page (records the person)
COMMAND = COMMAND_LINE  # flask chorus run-daily
AUTOMATIC_TRIGGERS = (SCHEDULED, CATCH_UP)
TRIGGER_LABELS = {
    SCHEDULED: "Planifiée (19 h)",
    CATCH_UP: "Rattrapage",
    MANUAL: "Manuelle",
    COMMAND: "Ligne de commande",
}


# A claim taken less than this before a firing was taken at the same moment (two processes or
# servers firing at 19:00), not earlier in the day.
SAME_MOMENT = timedelta(minutes=1)


def claim_key(run_on: date) -> str:
    return f"{DAILY_TASK}:{run_on.isoformat()}"


def ran_when_by(execution: TaskExecution, moment: datetime) -> str:
    """« aujourd'hui à 19:00 par l'automate », « le 03/12/2026 à 15:02 par Alice Martin »."""
    started = to_paris(execution.started_at)
    when = "aujourd'hui" if started.date() == to_paris(moment).date() else f"le {_fr(started)}"
    return f"{when} à {started:%H:%M} par {execution.launched_by}"


def skip_reason(holder: TaskExecution | None, moment: datetime, *, same_process: bool) -> str:
    """Why a run of an already claimed day did nothing, said from the execution holding it.

    « par un autre processus » only when it is true: another process claimed the day at the
    same moment. Otherwise when and by whom the day was run (B9).
    """
    if holder is None:  # the holder failed and gave the day back while this run looked
        return (
            "Une autre exécution de ce jour, lancée au même moment, a échoué entre-temps "
            "(voir l'historique) : rien n'a été relancé."
        )
    text = ran_when_by(holder, moment)
    if holder.job_id is not None:
        text += f" (tâche n° {holder.job_id})"
    if not same_process and moment - holder.started_at < SAME_MOMENT:
        return f"Exécutée au même moment par un autre processus : lancée {text}."
    return f"Déjà exécutée {text}."


def trigger_problems(settings: ChorusSettings) -> list[str]:
    """Why the daily trigger does not exist (empty: it is active)."""
    problems = settings.task_blockers()
    if not settings.auto_send_enabled:
        problems.insert(
            0 if settings.enabled else 1, "l'envoi automatique est désactivé (onglet Système)"
        )
    return problems


# -- due date (S3, S4, S14) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Delays:
    """S3 advance delays in days (empty setting = 0)."""

    receipts_days: int = 0
    fee_invoices_days: int = 0

    @classmethod
    def from_settings(cls, settings: ChorusSettings) -> Delays:
        return cls(settings.delay_receipts_days, settings.delay_fee_invoices_days)


def effective_date(document: Document) -> date:
    """S14 date d'effet: à échoir → period start; échu → period end; fee invoice → saisie."""
    if isinstance(document, FeeInvoice):
        return document.entered_on
    if document.contract.term == Term.ARREARS:
        return document.period_end_on
    return document.period_start_on


def due_from(document: Document, delay_days: int) -> date:
    """S3: the first day the automatic run may send it (effective date − advance delay)."""
    return effective_date(document) - timedelta(days=delay_days)


def is_due(
    document: Document,
    *,
    today: date,
    delay_receipts_days: int,
    delay_fee_invoices_days: int,
    cutoff: date,
) -> bool:
    """S14: does tonight's automatic run pick this document?

    Not sent and not in progress, on a Chorus-enabled contract, due (``due_from <= today``)
    and entered strictly after the S4 cut-off. The S9 conditions are checked separately:
    a due document that is not eligible is reported as skipped.
    """
    if document.chorus_state != ChorusState.NOT_SENT:
        return False
    contract = document.contract
    if contract is None or not contract.is_chorus_enabled:
        return False
    if document.entered_on <= cutoff:
        return False
    delay = delay_receipts_days if isinstance(document, Receipt) else delay_fee_invoices_days
    return due_from(document, delay) <= today


# -- the delay example of the settings screen (S3) -------------------------------------------------


def delay_examples(
    *,
    receipts_days: int | None,
    fee_invoices_days: int | None,
    cutoff: date | None,
    today: date,
) -> list[str]:
    """French sentences showing what the entered S3 delays (and S4 cut-off) mean.

    Pure. ``None`` for a delay means "not usable" (invalid input): no sentence for it; an
    empty field is 0 and must be passed as 0. The worked dates are next year's, so the
    example reads like a real upcoming case.
    """
    sentences: list[str] = []
    start = date(today.year + 1, 1, 1)
    if receipts_days is not None:
        sent = start - timedelta(days=receipts_days)
        sentences.append(
            f"Avec un délai de {_days(receipts_days)}, une quittance à échoir dont la période "
            f"commence le {_fr(start)} sera envoyée dès le {_fr(sent)} "
            "(à échoir : date de début de période ; échue : date de fin de période)."
        )
    if fee_invoices_days is not None:
        entered = date(today.year + 1, 1, 15)
        sent = entered - timedelta(days=fee_invoices_days)
        sentences.append(
            f"Avec un délai de {_days(fee_invoices_days)}, une facture d'honoraires dont la date "
            f"de saisie est le {_fr(entered)} sera envoyée dès le {_fr(sent)}"
            + (" (au plus tôt le soir de sa saisie)." if fee_invoices_days else ".")
        )
    if cutoff is not None:
        sentences.append(
            f"Seuls les documents saisis après le {_fr(cutoff)} (date de coupure) sont "
            "envoyés automatiquement."
        )
    return sentences


def _days(count: int) -> str:
    return f"{count} jour" if count <= 1 else f"{count} jours"


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")
