"""S5: the "Administrateurs Chorus" recipient list and the task-triggers section."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.settings import recipients
from tests.conftest import login
from tests.factories import csrf_token_from, make_user
from tests.settings.helpers import enable_chorus

PAGE = "/administration/destinataires"


def add_member(client: FlaskClient, user_id: object, *, htmx: bool = False) -> TestResponse:
    """POST « Ajouter » to the Administrateurs Chorus list (the CSRF token as a form field, or
    in the header as htmx sends it)."""
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    data = {"chorus_admins-user_id": str(user_id)}
    if htmx:
        headers = {"HX-Request": "true", "X-CSRFToken": token}
        return client.post(f"{PAGE}/chorus_admins/ajouter", data=data, headers=headers)
    return client.post(f"{PAGE}/chorus_admins/ajouter", data={"csrf_token": token, **data})


def test_members_returns_enabled_users_only(app) -> None:
    active = make_user("active", full_name="Alice")
    off = make_user("off", full_name="Bob", is_enabled=False)
    make_user("autre")
    recipients.add_member("chorus_admins", active)
    recipients.add_member("chorus_admins", off)
    db.session.commit()
    assert recipients.members("chorus_admins") == [active]
    assert recipients.all_members("chorus_admins") == [active, off]


def test_adding_twice_or_removing_an_absent_user_changes_nothing(app) -> None:
    user = make_user("alice")
    assert recipients.add_member("chorus_admins", user)
    assert not recipients.add_member("chorus_admins", user)
    assert recipients.remove_member("chorus_admins", user)
    assert not recipients.remove_member("chorus_admins", user)


def test_s5_the_page_lists_members_and_offers_the_others(as_admin: FlaskClient, admin) -> None:
    enable_chorus()
    member = make_user("membre", full_name="Claire Membre")
    make_user("candidat", full_name="Denis Candidat")
    make_user("inactif", full_name="Eve Inactive", is_enabled=False)
    recipients.add_member("chorus_admins", member)
    db.session.commit()
    html = as_admin.get(PAGE).get_data(as_text=True)
    assert "Administrateurs Chorus" in html
    assert 'id="task-triggers"' in html
    assert "bi-person-plus" in html
    select_html = html[html.index("<select") : html.index("</select>")]
    assert "Denis Candidat" in select_html
    assert "Claire Membre" not in select_html
    assert "Eve Inactive" not in select_html


def test_s5_an_admin_adds_then_removes_a_member(as_admin: FlaskClient) -> None:
    enable_chorus()
    user = make_user("claire", full_name="Claire")
    assert add_member(as_admin, user.id).status_code == 303
    assert recipients.members("chorus_admins") == [user]
    token = csrf_token_from(as_admin.get(PAGE).get_data(as_text=True))
    response = as_admin.post(f"{PAGE}/chorus_admins/{user.id}/retirer", data={"csrf_token": token})
    assert response.status_code == 303
    assert recipients.members("chorus_admins") == []


def test_s5_adding_over_htmx_returns_the_list_fragment(as_admin: FlaskClient) -> None:
    enable_chorus()
    user = make_user("claire", full_name="Claire Dupuis")
    response = add_member(as_admin, user.id, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="recipient-list-chorus_admins"')
    assert "Claire Dupuis" in html
    assert 'hx-swap-oob="true"' in html  # the flash message


def test_s5_a_user_outside_the_choices_is_refused(as_admin: FlaskClient) -> None:
    enable_chorus()
    add_member(as_admin, 999)
    assert recipients.all_members("chorus_admins") == []


def test_s1_off_hides_the_chorus_list(as_admin: FlaskClient) -> None:
    user = make_user("claire")
    html = as_admin.get(PAGE).get_data(as_text=True)
    assert "recipient-list-chorus_admins" not in html
    assert 'data-testid="chorus-lists-hidden"' in html
    assert add_member(as_admin, user.id).status_code == 404


def test_recipient_lists_are_for_admins_only(client: FlaskClient, gestionnaire) -> None:
    enable_chorus()
    login(client, gestionnaire)
    assert client.get(PAGE).status_code == 403
    assert add_member(client, gestionnaire.id).status_code == 403
    assert recipients.all_members("chorus_admins") == []
