"""Job states tell the truth (issue 11): one status, label and colour, in every list and badge."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.jobs.models import Job, JobKind, JobState, JobStatus, job_status
from portal.sending import handler

RUNNING, FINISHING, DONE, FAILED = JobState


@pytest.mark.parametrize(
    ("state", "succeeded", "failed", "resumed", "expected"),
    [
        (RUNNING, 0, 0, 0, JobStatus.RUNNING),
        (RUNNING, 2, 3, 1, JobStatus.RUNNING),
        (FINISHING, 2, 3, 0, JobStatus.FINISHING),
        (DONE, 5, 0, 0, JobStatus.DONE),
        (DONE, 0, 0, 0, JobStatus.DONE),  # nothing to do, or everything skipped
        (DONE, 4, 1, 0, JobStatus.DONE_WITH_ERRORS),
        (DONE, 4, 1, 2, JobStatus.DONE_WITH_ERRORS),  # errors matter more than the takeover
        (DONE, 0, 3, 0, JobStatus.FAILED),
        (DONE, 0, 3, 1, JobStatus.FAILED),
        (DONE, 5, 0, 1, JobStatus.RESUMED),
        (FAILED, 5, 0, 0, JobStatus.FAILED),  # the finalization failed
        (FAILED, 5, 0, 1, JobStatus.FAILED),
    ],
)
def test_a_jobs_status_follows_its_state_and_counts(
    state: JobState, succeeded: int, failed: int, resumed: int, expected: JobStatus
) -> None:
    assert job_status(state, succeeded=succeeded, failed=failed, resumed_count=resumed) is expected


def test_each_status_has_a_french_label_and_a_bootstrap_colour() -> None:
    assert {s: (s.label, s.colour) for s in JobStatus} == {
        JobStatus.RUNNING: ("En cours", "info"),
        JobStatus.FINISHING: ("Finalisation", "info"),
        JobStatus.DONE: ("Terminée", "success"),
        JobStatus.DONE_WITH_ERRORS: ("Terminée avec erreurs", "warning"),
        JobStatus.FAILED: ("En échec", "danger"),
        JobStatus.RESUMED: ("Interrompue puis reprise", "info"),
    }


def test_the_outcome_of_a_finishing_job_is_the_status_it_ends_with() -> None:
    job = Job(state=FINISHING, succeeded=0, failed=2, skipped=0, total=2, resumed_count=0)
    assert (job.status, job.outcome) == (JobStatus.FINISHING, JobStatus.FAILED)
    job.state = FAILED
    job.failed = 0
    job.succeeded = 2
    assert job.outcome is JobStatus.FAILED


# -- every list and page ------------------------------------------------------------------------

CASES = [
    # (state, succeeded, failed, skipped, resumed_count), label, colour
    ((RUNNING, 1, 0, 0, 0), "En cours", "info"),
    ((FINISHING, 3, 0, 0, 0), "Finalisation", "info"),
    ((DONE, 3, 0, 0, 0), "Terminée", "success"),
    ((DONE, 2, 1, 0, 0), "Terminée avec erreurs", "warning"),
    ((DONE, 0, 3, 0, 0), "En échec", "danger"),
    ((FAILED, 3, 0, 0, 0), "En échec", "danger"),
    ((DONE, 3, 0, 0, 1), "Interrompue puis reprise", "info"),
]


def _job(state: str, succeeded: int, failed: int, skipped: int, resumed: int) -> Job:
    job = Job(
        kind=JobKind.MASS_SEND,
        state=state,
        total=succeeded + failed + skipped,
        succeeded=succeeded,
        failed=failed,
        skipped=skipped,
        resumed_count=resumed,
    )
    db.session.add(job)
    db.session.commit()
    return job


def _badge(html: str) -> tuple[str, str]:
    found = re.search(
        r'<span class="badge text-bg-(\w+)" data-testid="job-status"[^>]*>([^<]+)</span>', html
    )
    assert found is not None, html
    return found.group(1), unescape(found.group(2))


@pytest.mark.parametrize(("counts", "label", "colour"), CASES)
def test_the_job_list_shows_each_status_with_its_label_and_colour(
    as_admin: FlaskClient, counts: tuple[str, int, int, int, int], label: str, colour: str
) -> None:
    job = _job(*counts)
    html = as_admin.get("/taches/").get_data(as_text=True)
    row = html[html.index(f'id="job-{job.id}"') :]
    assert _badge(row) == (colour, label)


@pytest.mark.parametrize(("counts", "label", "colour"), CASES)
def test_the_job_page_shows_each_status_with_its_label_and_colour(
    as_lecteur: FlaskClient, counts: tuple[str, int, int, int, int], label: str, colour: str
) -> None:
    job = _job(*counts)
    for url in (f"/taches/{job.id}", f"/taches/{job.id}/progression"):
        assert _badge(as_lecteur.get(url).get_data(as_text=True)) == (colour, label)
    row = as_lecteur.get(f"/taches/{job.id}/progression?vue=ligne").get_data(as_text=True)
    assert _badge(row) == (colour, label)


def test_a_failed_job_is_never_shown_as_a_green_terminee(as_admin: FlaskClient) -> None:
    job = _job(DONE, 0, 4, 0, 0)
    html = as_admin.get(f"/taches/{job.id}").get_data(as_text=True)
    assert "text-bg-success" not in html
    assert ">Terminée<" not in html


def test_the_job_page_says_when_a_job_was_interrupted_and_resumed(as_admin: FlaskClient) -> None:
    job = _job(DONE, 3, 0, 0, 2)
    job.owner = "serveur-b:4242"
    db.session.commit()
    html = unescape(as_admin.get(f"/taches/{job.id}").get_data(as_text=True))
    note = html[html.index('data-testid="job-resumed"') :]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", note[note.index(">") + 1 :]))
    assert text.strip().startswith(
        "Interrompue puis reprise par un autre processus (2 fois) : serveur-b:4242."
    )


def test_a_job_never_resumed_has_no_resumption_note(as_admin: FlaskClient) -> None:
    job = _job(DONE, 3, 0, 0, 0)
    assert 'data-testid="job-resumed"' not in as_admin.get(f"/taches/{job.id}").get_data(
        as_text=True
    )


# -- the end notification -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("succeeded", "failed", "resumed", "title", "level"),
    [
        (3, 0, 0, "Dématérialisation en masse terminée", "success"),
        (2, 1, 0, "Dématérialisation en masse terminée avec erreurs", "warning"),
        (0, 3, 0, "Dématérialisation en masse en échec", "danger"),
        (3, 0, 1, "Dématérialisation en masse interrompue puis reprise", "info"),
    ],
)
def test_the_end_notification_of_a_mass_send_says_how_it_ended(
    app, succeeded: int, failed: int, resumed: int, title: str, level: str
) -> None:
    job = Job(
        kind=JobKind.MASS_SEND,
        state=FINISHING,  # the notification is sent while finalizing
        total=succeeded + failed,
        succeeded=succeeded,
        failed=failed,
        skipped=0,
        resumed_count=resumed,
    )
    got_title, body, got_level = handler._summary(job)
    assert (got_title, got_level) == (title, level)
    assert ("Interrompue puis reprise par un autre processus." in body) is bool(resumed)
