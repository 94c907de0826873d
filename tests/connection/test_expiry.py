"""B5 technical password expiry: read daily from Chorus, reminded once per date 15 days ahead."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import func, select

from portal.chorus.errors import ChorusUnavailable
from portal.chorus.results import StructureDetail
from portal.clock import PARIS
from portal.connection import health, password_expiry
from portal.extensions import db
from portal.jobs.scheduler import PortalScheduler
from portal.notifications.models import Notification
from portal.schedule import EXPIRY_CHECK_JOB
from portal.settings import chorus as keys
from portal.settings import store
from tests.conftest import login
from tests.connection.conftest import chorus_off, text

EXPIRY = date(2027, 6, 30)


class FakeClient:
    """Answers ``structures/consulter`` with a given expiry date (or fails)."""

    def __init__(self, expires_on: date | None, *, fail: bool = False) -> None:
        self.expires_on = expires_on
        self.fail = fail
        self.asked: list[int] = []

    def get_structure(self, id_structure_cpp: int) -> StructureDetail:
        self.asked.append(id_structure_cpp)
        if self.fail:
            raise ChorusUnavailable("Chorus Pro est injoignable (connexion impossible).")
        return StructureDetail(
            id_structure_cpp=id_structure_cpp,
            identifiant="80283822726464",
            designation="Cabinet Dupont",
            public_or_private="PRIVEE",
            service_code_required=False,
            engagement_required=False,
            engagement_or_service_required=False,
            payment_status_not_reported=False,
            password_expires_on=self.expires_on,
        )


def _on(day: date):
    """Freeze the clock (read through portal.clock) at 08:00 Paris on ``day``."""
    return time_machine.travel(
        datetime(day.year, day.month, day.day, 8, 0, tzinfo=PARIS), tick=False
    )


def _notifications() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def _check(expires_on: date | None = EXPIRY, on: date = date(2027, 6, 15), **kw):
    with _on(on):
        return password_expiry.check_password_expiry(client=FakeClient(expires_on, **kw))  # type: ignore[arg-type]


@pytest.fixture
def configured(chorus, chorus_admin):
    return chorus_admin


def test_b5_the_reminder_is_sent_to_the_chorus_admins_at_15_days(configured) -> None:
    result = _check(on=date(2027, 6, 15))
    assert result.reminded and result.read_from_chorus
    assert result.days_left == 15
    [notification] = _notifications()
    assert notification.user_id == configured.id
    assert notification.level == "warning"
    assert "30/06/2027" in notification.title
    assert "expire dans 15 jours, le 30/06/2027" in notification.body
    assert notification.link_url == "/administration/parametres/systeme"
    assert store.get_date(health.PASSWORD_EXPIRES_ON) == EXPIRY


def test_b5_no_reminder_at_16_days(configured) -> None:
    result = _check(on=date(2027, 6, 14))
    assert not result.reminded
    assert result.days_left == 16
    assert _notifications() == []
    assert store.get_date(health.PASSWORD_EXPIRES_ON) == EXPIRY


def test_b5_the_reminder_is_not_sent_twice_for_the_same_date(configured) -> None:
    assert _check(on=date(2027, 6, 15)).reminded
    assert not _check(on=date(2027, 6, 15)).reminded
    assert not _check(on=date(2027, 6, 16)).reminded
    assert not _check(on=date(2027, 7, 1)).reminded  # even once expired
    assert len(_notifications()) == 1


def test_b5_a_new_expiry_date_re_arms_the_reminder(configured) -> None:
    assert _check(EXPIRY, on=date(2027, 6, 20)).reminded
    renewed = date(2028, 8, 27)  # password changed: 424 days later
    assert not _check(renewed, on=date(2027, 6, 21)).reminded
    assert _check(renewed, on=date(2028, 8, 12)).reminded
    assert len(_notifications()) == 2


def test_b5_the_date_read_last_time_still_reminds_when_chorus_is_unreachable(configured) -> None:
    _check(on=date(2027, 6, 1))
    result = _check(None, on=date(2027, 6, 16), fail=True)
    assert result.error and "injoignable" in result.error
    assert result.reminded and not result.read_from_chorus
    assert len(_notifications()) == 1


def test_b5_an_expired_password_is_reminded_as_danger(configured) -> None:
    result = _check(on=date(2027, 7, 2))
    assert result.reminded and result.days_left == -2
    [notification] = _notifications()
    assert notification.level == "danger"
    assert "expiré le 30/06/2027" in notification.title


def test_b5_the_clock_decides_today_when_no_date_is_given(configured) -> None:
    with _on(date(2027, 6, 15)):
        assert password_expiry.check_password_expiry(client=FakeClient(EXPIRY)).days_left == 15  # type: ignore[arg-type]


def test_s1_off_the_expiry_check_asks_nothing_and_reminds_nobody(configured) -> None:
    chorus_off()
    client = FakeClient(EXPIRY)
    with _on(date(2027, 6, 20)):
        result = password_expiry.check_password_expiry(client=client)  # type: ignore[arg-type]
    assert not result.reminded and client.asked == []
    assert _notifications() == []


def test_b5_the_connection_test_stores_the_date_and_reminds_when_close(
    client, post, chorus, chorus_admin
) -> None:
    # Logged in after the jump: the test client drops a session cookie set in the "past".
    with time_machine.travel(datetime(2027, 6, 20, 9, 0, tzinfo=PARIS), tick=True):
        login(client, chorus_admin)
        html = text(post("/administration/chorus/tester-la-connexion"))
    assert "les Administrateurs Chorus ont été prévenus" in html
    assert 'data-warning="true"' in html
    assert len(_notifications()) == 1
    assert store.get_date(health.REMINDER_SENT_FOR) == EXPIRY


def test_b5_the_daily_check_reads_the_date_from_the_emulator(configured) -> None:
    result = password_expiry.check_password_expiry()
    assert result.read_from_chorus and result.expires_on == EXPIRY
    assert store.get(health.PASSWORD_CHECKED_AT)


def test_b5_without_supplier_id_the_daily_check_says_so(configured) -> None:
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    result = password_expiry.check_password_expiry()
    assert result.error == "L'identifiant fournisseur n'est pas renseigné."
    assert not result.read_from_chorus


# -- scheduler ------------------------------------------------------------------------------------


def test_b5_the_scheduler_runs_the_expiry_check_every_day_at_8(app, monkeypatch) -> None:
    scheduler = PortalScheduler(app)
    monkeypatch.setattr(scheduler.scheduler, "start", lambda *args, **kwargs: None)
    scheduler.start()
    job = scheduler.scheduler.get_job(EXPIRY_CHECK_JOB)
    assert job is not None
    trigger = str(job.trigger)
    assert "hour='8'" in trigger and "minute='0'" in trigger
    assert str(job.trigger.timezone) == "Europe/Paris"


def test_b5_the_scheduled_check_logs_failures_instead_of_raising(app, monkeypatch, caplog) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(password_expiry, "check_password_expiry", explode)
    with caplog.at_level(logging.ERROR, logger="portal.jobs.scheduler"):
        PortalScheduler(app).fire(EXPIRY_CHECK_JOB)
    assert "Chorus password expiry check failed" in caplog.text


def test_b5_the_scheduled_check_runs_in_its_own_application_context(configured) -> None:
    from flask import current_app

    PortalScheduler(current_app).fire(EXPIRY_CHECK_JOB)
    db.session.expire_all()
    assert store.get_date(health.PASSWORD_EXPIRES_ON) == EXPIRY
    count = db.session.scalar(select(func.count()).select_from(Notification))
    assert count == 0  # more than 15 days away today
