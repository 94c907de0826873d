"""Job page (issue 11): a document waiting for its automatic retry says when, which attempt,
and the last error; the document table stays live while the job runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.jobs import retries
from portal.jobs.models import ItemState, Job, JobItem, JobKind, JobState
from portal.settings import store

# 18:42 UTC in December is 19:42 in Paris.
RETRY_AT = datetime(2026, 12, 4, 18, 42, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


def _job_with_items(state: str = JobState.RUNNING) -> tuple[Job, JobItem, JobItem]:
    job = Job(kind=JobKind.MASS_SEND, state=state, total=2, succeeded=1)
    waiting = JobItem(
        document_type="receipt",
        document_id=1,
        document_number="Q-0001",
        state=ItemState.PENDING,
        retry_at=RETRY_AT,
        tries=1,
        error_code="INDISPONIBLE",
        error_message="Chorus Pro est momentanément indisponible (HTTP 503).",
    )
    sent = JobItem(
        document_type="receipt",
        document_id=2,
        document_number="Q-0002",
        state=ItemState.SUCCEEDED,
        chorus_invoice_id=123,
    )
    job.items = [waiting, sent]
    db.session.add(job)
    db.session.commit()
    return job, waiting, sent


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _row(html: str, item: JobItem) -> str:
    start = html.index(f'id="job-item-{item.id}"')
    return html[start : html.index("</tr>", start)]


def test_a_waiting_item_says_when_it_is_retried_which_attempt_and_its_last_error(
    as_lecteur: FlaskClient,
) -> None:
    job, waiting, sent = _job_with_items()
    row = _row(as_lecteur.get(f"/taches/{job.id}").get_data(as_text=True), waiting)
    assert 'text-bg-warning">Nouvel essai prévu</span>' in row
    text = _text(row)
    assert "Nouvel essai à 19:42 (2/5)" in text
    assert "En attente" not in text
    assert "Dernière erreur : INDISPONIBLE Chorus Pro est momentanément indisponible" in text
    assert 'data-testid="retry-last-error"' in row
    other = _text(_row(as_lecteur.get(f"/taches/{job.id}").get_data(as_text=True), sent))
    assert "Nouvel essai" not in other and "Dernière erreur" not in other


def test_the_attempt_count_follows_the_policy_set_by_the_admin(as_admin: FlaskClient) -> None:
    store.put(retries.ATTEMPTS, "8")
    db.session.commit()
    job, waiting, _ = _job_with_items()
    waiting.tries = 3
    db.session.commit()
    row = _row(as_admin.get(f"/taches/{job.id}").get_data(as_text=True), waiting)
    assert "Nouvel essai à 19:42 (4/8)" in _text(row)


def test_a_pending_item_without_a_planned_retry_is_simply_waiting(as_admin: FlaskClient) -> None:
    job, waiting, _ = _job_with_items()
    waiting.retry_at = None
    waiting.tries = 0
    waiting.error_code = waiting.error_message = None
    db.session.commit()
    text = _text(_row(as_admin.get(f"/taches/{job.id}").get_data(as_text=True), waiting))
    assert "En attente" in text and "Nouvel essai" not in text


@pytest.mark.parametrize(
    ("tries", "attempts", "note"),
    [
        (1, 5, "Nouvel essai à 19:42 (2/5)"),
        (4, 5, "Nouvel essai à 19:42 (5/5)"),
        (4, 3, "Nouvel essai à 19:42 (5/5)"),  # the policy was lowered meanwhile
    ],
)
def test_the_retry_note_is_in_paris_time_with_the_attempt_to_come(
    tries: int, attempts: int, note: str
) -> None:
    item = JobItem(state=ItemState.PENDING, retry_at=RETRY_AT, tries=tries)
    assert item.waits_for_retry
    assert item.retry_note(attempts) == note


def test_only_a_pending_item_with_a_retry_time_waits_for_a_retry() -> None:
    claimed = JobItem(state=ItemState.CLAIMED, retry_at=RETRY_AT, tries=1)
    pending = JobItem(state=ItemState.PENDING, retry_at=None, tries=0)
    assert not claimed.waits_for_retry and not pending.waits_for_retry
    assert claimed.retry_note(5) == pending.retry_note(5) == ""


def test_the_document_table_refreshes_itself_while_the_job_runs_keeping_its_filter(
    as_admin: FlaskClient,
) -> None:
    job, *_ = _job_with_items()
    html = as_admin.get(f"/taches/{job.id}?etat=pending", headers=HTMX).get_data(as_text=True)
    table = html[html.index('<div id="job-items"') :]
    opening = table[: table.index(">")]
    assert f'hx-get="/taches/{job.id}?etat=pending"' in opening
    assert 'hx-trigger="every 2s"' in opening
    assert "Nouvel essai à 19:42 (2/5)" in _text(table)


def test_the_document_table_stops_refreshing_once_the_job_is_done(as_admin: FlaskClient) -> None:
    job, *_ = _job_with_items(state=JobState.DONE)
    html = as_admin.get(f"/taches/{job.id}", headers=HTMX).get_data(as_text=True)
    opening = html[html.index('<div id="job-items"') :]
    assert "hx-trigger" not in opening[: opening.index(">")]


def test_the_progress_header_counts_the_documents_waiting_for_a_retry(
    as_admin: FlaskClient,
) -> None:
    job, *_ = _job_with_items()
    html = as_admin.get(f"/taches/{job.id}/progression", headers=HTMX).get_data(as_text=True)
    assert "1 document en attente d'un nouvel essai automatique." in _text(html)
