"""In-app notifications: notify(), the bell, the list, marking read, attached reports."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal import storage
from portal.extensions import db
from portal.notifications import services
from portal.notifications.models import Notification
from portal.settings import recipients
from tests.factories import csrf_token_from, make_user


def _token(client: FlaskClient) -> str:
    return csrf_token_from(client.get("/notifications/").get_data(as_text=True))


def test_notify_creates_one_notification_per_distinct_user(app, admin, gestionnaire) -> None:
    created = services.notify([admin, gestionnaire, admin], "Envoi terminé", "3 quittances")
    db.session.commit()
    assert sorted(n.user_id for n in created) == sorted([admin.id, gestionnaire.id])
    assert all(n.level == "info" and n.read_at is None for n in created)


def test_notify_with_a_list_key_reaches_its_enabled_members_only(app, admin) -> None:
    off = make_user("ancien", role="gestionnaire", is_enabled=False)
    recipients.add_member(recipients.CHORUS_ADMINS, admin)
    recipients.add_member(recipients.CHORUS_ADMINS, off)
    db.session.commit()
    created = services.notify("chorus_admins", "Dématérialisation terminée", level="success")
    assert [n.user_id for n in created] == [admin.id]


def test_notify_refuses_an_unknown_level(app, admin) -> None:
    import pytest

    with pytest.raises(ValueError):
        services.notify([admin], "x", level="fatal")


def test_store_report_keeps_the_file_under_the_reports_area(app) -> None:
    report = services.store_report("rapport-envoi.csv", b"numero;resultat\nQ1;envoye\n")
    db.session.commit()
    assert report.filename == "rapport-envoi.csv"
    assert report.size_bytes == 26
    assert report.mime_type == "text/csv; charset=utf-8"
    assert storage.read_bytes(storage.REPORTS, report.stored_name).startswith(b"numero;")


def test_the_bell_is_the_span_itself_with_the_unread_count(as_gestionnaire, gestionnaire) -> None:
    for index in range(7):
        services.notify([gestionnaire], f"Notification {index}")
    db.session.commit()
    html = as_gestionnaire.get("/notifications/cloche").get_data(as_text=True)
    assert html.lstrip().startswith('<span id="notification-bell"')
    assert 'hx-trigger="every 30s' in html
    assert 'data-testid="unread-count">7<' in html
    # the dropdown shows the 5 latest only
    assert "Notification 6" in html and "Notification 2" in html
    assert "Notification 1<" not in html and "Notification 0<" not in html


def test_the_bell_without_notifications_has_no_badge(as_lecteur) -> None:
    html = as_lecteur.get("/notifications/cloche").get_data(as_text=True)
    assert "unread-count" not in html
    assert "Aucune notification." in html


def test_the_list_shows_unread_first_and_is_paginated(as_gestionnaire, gestionnaire) -> None:
    created = [services.notify([gestionnaire], f"Message {i:02d}")[0] for i in range(25)]
    services.mark_read(created[24])  # the newest is read: it goes after the unread ones
    db.session.commit()
    first = as_gestionnaire.get("/notifications/").get_data(as_text=True)
    assert first.index("Message 23") < first.index("Message 22")
    assert "Message 24" not in first  # read → page 2
    second = as_gestionnaire.get("/notifications/?page=2").get_data(as_text=True)
    assert "Message 24" in second
    assert "Message 23" not in second


def test_a_user_marks_one_of_his_notifications_read(as_lecteur, lecteur) -> None:
    notification = services.notify([lecteur], "Bonjour")[0]
    db.session.commit()
    token = _token(as_lecteur)
    response = as_lecteur.post(
        f"/notifications/{notification.id}/lue", data={"csrf_token": token, "next": "/"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert db.session.get(Notification, notification.id).read_at is not None


def test_marking_read_over_htmx_returns_the_item_and_the_bell(as_lecteur, lecteur) -> None:
    notification = services.notify([lecteur], "Bonjour")[0]
    services.notify([lecteur], "Autre")
    db.session.commit()
    token = _token(as_lecteur)
    response = as_lecteur.post(
        f"/notifications/{notification.id}/lue",
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="notification-{notification.id}"' in html
    assert 'hx-swap-oob="true"' in html
    assert 'data-testid="unread-count">1<' in html


def test_marking_read_never_follows_an_external_next(as_lecteur, lecteur) -> None:
    notification = services.notify([lecteur], "Bonjour")[0]
    db.session.commit()
    token = _token(as_lecteur)
    response = as_lecteur.post(
        f"/notifications/{notification.id}/lue",
        data={"csrf_token": token, "next": "//evil.example/"},
    )
    assert response.headers["Location"] == "/notifications/"


def test_someone_elses_notification_is_a_404(as_lecteur, gestionnaire) -> None:
    other = services.notify([gestionnaire], "Privé")[0]
    db.session.commit()
    token = _token(as_lecteur)
    response = as_lecteur.post(f"/notifications/{other.id}/lue", data={"csrf_token": token})
    assert response.status_code == 404
    assert db.session.get(Notification, other.id).read_at is None


def test_mark_all_read_touches_only_my_notifications(as_lecteur, lecteur, gestionnaire) -> None:
    services.notify([lecteur], "Un")
    services.notify([lecteur], "Deux")
    theirs = services.notify([gestionnaire], "Trois")[0]
    db.session.commit()
    token = _token(as_lecteur)
    response = as_lecteur.post("/notifications/tout-lire", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    mine = db.session.query(Notification).filter_by(user_id=lecteur.id).all()
    assert all(n.read_at is not None for n in mine)
    assert db.session.get(Notification, theirs.id).read_at is None


def test_the_recipient_downloads_the_attached_report(as_lecteur, lecteur) -> None:
    report = services.store_report("rapport.csv", "numéro;résultat\n".encode())
    services.notify([lecteur], "Rapport", report=report)
    db.session.commit()
    response = as_lecteur.get(f"/notifications/rapports/{report.id}")
    assert response.status_code == 200
    assert response.data == "numéro;résultat\n".encode()
    assert "filename=rapport.csv" in response.headers["Content-Disposition"]
    assert response.mimetype == "text/csv"


def test_a_report_of_someone_else_is_a_404(as_lecteur, gestionnaire) -> None:
    report = services.store_report("rapport.csv", b"x")
    services.notify([gestionnaire], "Rapport", report=report)
    orphan = services.store_report("orphelin.csv", b"y")
    db.session.commit()
    assert as_lecteur.get(f"/notifications/rapports/{report.id}").status_code == 404
    assert as_lecteur.get(f"/notifications/rapports/{orphan.id}").status_code == 404


def test_notification_text_is_escaped(as_lecteur, lecteur) -> None:
    services.notify([lecteur], "<script>alert(1)</script>", "<b>gras</b>")
    db.session.commit()
    html = as_lecteur.get("/notifications/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;b&gt;gras&lt;/b&gt;" in html


def test_an_external_link_url_is_not_rendered(as_lecteur, lecteur) -> None:
    services.notify([lecteur], "Lien", link_url="javascript:alert(1)")
    db.session.commit()
    html = as_lecteur.get("/notifications/").get_data(as_text=True)
    assert "javascript:alert(1)" not in html
