"""Job page (issue 13, item 7): its documents come page by page, and the progress poll reads
only the documents in flight, never every document of the job."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy import event

from portal.extensions import db
from portal.jobs import queries
from portal.jobs.models import ItemState, Job, JobItem, JobKind, JobState

HTMX = {"HX-Request": "true"}


def _running_job(finished: int) -> Job:
    """A running mass send: ``finished`` documents sent, one at a step, one waiting a retry."""
    job = Job(kind=JobKind.MASS_SEND, state=JobState.RUNNING, total=finished + 2)
    job.items = [
        JobItem(
            document_type="receipt",
            document_id=n,
            document_number=f"Q-{n:04d}",
            state=ItemState.SUCCEEDED,
        )
        for n in range(1, finished + 1)
    ]
    job.items += [
        JobItem(
            document_type="receipt",
            document_id=finished + 1,
            document_number="Q-EN-COURS",
            state=ItemState.SUBMITTING,
            step="Soumission de la facture",
        ),
        JobItem(
            document_type="receipt",
            document_id=finished + 2,
            document_number="Q-ATTENTE",
            state=ItemState.PENDING,
            retry_at=datetime(2026, 12, 4, 18, 42, tzinfo=UTC),
        ),
    ]
    db.session.add(job)
    db.session.commit()
    return job


def test_the_progress_poll_reads_only_the_documents_in_flight(
    as_lecteur: FlaskClient,
) -> None:
    job = _running_job(finished=120)
    statements: list[str] = []
    engine = db.engine

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        html = as_lecteur.get(f"/taches/{job.id}/progression", headers=HTMX).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert "Q-EN-COURS : Soumission de la facture" in html
    assert "1 document en attente d'un nouvel essai automatique." in html
    assert [item.document_number for item in queries.items_in_flight(job)] == [
        "Q-EN-COURS",
        "Q-ATTENTE",
    ]
    item_reads = [s for s in statements if "FROM job_items" in s and "count(" not in s]
    assert item_reads and all("step IS NOT NULL" in s for s in item_reads)


def test_the_job_page_shows_its_documents_page_by_page_and_keeps_the_page_while_live(
    as_lecteur: FlaskClient,
) -> None:
    job = _running_job(finished=queries.ITEMS_PAGE_SIZE + 8)
    page = as_lecteur.get(f"/taches/{job.id}").get_data(as_text=True)
    first = page[page.index('<div id="job-items"') :]  # the table, after the progress header
    assert "Q-0001" in first and "Q-EN-COURS" not in first
    assert f"1–{queries.ITEMS_PAGE_SIZE} sur {queries.ITEMS_PAGE_SIZE + 10}" in first
    assert "Suivante ›" in first
    second = as_lecteur.get(f"/taches/{job.id}?page=2", headers=HTMX).get_data(as_text=True)
    assert second.lstrip().startswith('<div id="job-items"')
    assert "Q-EN-COURS" in second and "Q-0001" not in second
    assert f"/taches/{job.id}?page=2" in second  # the live refresh stays on this page
    past_the_end = as_lecteur.get(f"/taches/{job.id}?page=99").get_data(as_text=True)
    assert "Q-ATTENTE" in past_the_end


def test_the_state_filter_pages_within_the_filtered_documents(as_lecteur: FlaskClient) -> None:
    job = _running_job(finished=3)
    html = as_lecteur.get(f"/taches/{job.id}?etat=pending", headers=HTMX).get_data(as_text=True)
    assert "Q-ATTENTE" in html and "Q-0001" not in html
    unknown = as_lecteur.get(f"/taches/{job.id}?etat=inconnu", headers=HTMX)
    assert "Aucun document." in unknown.get_data(as_text=True)
