"""Issue 12 (10): one access rule for a report, whichever of its two URLs is used.

A job's report is read by whoever may see the job — every signed-in role, as the Tâches pages
are — at ``/taches/<job>/rapport`` and ``/notifications/rapports/<report>`` alike; a report
attached to no job only by the recipients of its notification.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from portal import storage
from portal.extensions import db
from portal.jobs.models import Job, JobKind
from portal.notifications import reports, services
from tests.conftest import login

CSV = "Type de document;Numéro\nQuittance;Q-2026-001\n".encode()


@pytest.fixture
def job_report(app, admin, gestionnaire):
    """A mass send by the gestionnaire whose report was notified to the admin only."""
    report = services.store_report("rapport-envoi.csv", CSV)
    job = Job(kind=JobKind.MASS_SEND, total=1, created_by_id=gestionnaire.id, report=report)
    db.session.add(job)
    services.notify([admin], "Dématérialisation terminée", report=report)
    db.session.commit()
    return job


def _both_urls(job: Job) -> list[str]:
    return [f"/taches/{job.id}/rapport", f"/notifications/rapports/{job.report_id}"]


@pytest.mark.parametrize("role", ["admin", "gestionnaire", "lecture"])
def test_every_role_reads_a_job_report_at_both_urls(
    client: FlaskClient, job_report: Job, request: pytest.FixtureRequest, role: str
) -> None:
    fixture = {"admin": "admin", "gestionnaire": "gestionnaire", "lecture": "lecteur"}[role]
    login(client, request.getfixturevalue(fixture))
    for url in _both_urls(job_report):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.data == CSV
        assert "filename=rapport-envoi.csv" in response.headers["Content-Disposition"]
        assert response.mimetype == "text/csv"


def test_anonymous_visitors_are_sent_to_the_login_page_at_both_urls(
    client: FlaskClient, job_report: Job
) -> None:
    for url in _both_urls(job_report):
        response = client.get(url)
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]


def test_a_report_attached_to_no_job_is_for_its_recipients_only(
    client: FlaskClient, admin, gestionnaire, lecteur
) -> None:
    report = services.store_report("rapport.csv", CSV)
    services.notify([lecteur], "Rapport", report=report)
    db.session.commit()
    login(client, lecteur)
    assert client.get(f"/notifications/rapports/{report.id}").status_code == 200
    for user in (admin, gestionnaire):
        assert not reports.may_read(user, report)
    assert reports.may_read(lecteur, report)


def test_a_missing_file_or_report_is_a_404_at_both_urls(
    as_lecteur: FlaskClient, job_report: Job, gestionnaire
) -> None:
    storage.delete(storage.REPORTS, job_report.report.stored_name)
    for url in _both_urls(job_report):
        assert as_lecteur.get(url).status_code == 404
    without = Job(kind=JobKind.MASS_SEND, total=1, created_by_id=gestionnaire.id)
    db.session.add(without)
    db.session.commit()
    assert as_lecteur.get(f"/taches/{without.id}/rapport").status_code == 404
    assert as_lecteur.get("/notifications/rapports/999999").status_code == 404
