"""A second client with the same SIRET (issue 12, item 8): saved, with a warning and a link."""

from __future__ import annotations

from html import unescape

from sqlalchemy import func, select

from portal.extensions import db
from portal.portfolio.models import Client
from tests import factories
from tests.factories import OTHER_VALID_SIRET, VALID_SIRET
from tests.portfolio.conftest import client_form, text


def _client_data(**overrides: str) -> dict[str, str]:
    """The Ville de Paris typed again under another name, with no e-mail."""
    return client_form(
        **{"name": "Ville de Paris (doublon)", "address": "Place de l'Hôtel de Ville"}
        | {"postal_code": "75004", "city": "Paris", "email": ""}
        | overrides
    )


def test_a_second_client_with_the_same_siret_is_saved_with_a_warning_and_a_link(
    as_gestionnaire, post
) -> None:
    first = factories.make_client(name="Ville de Paris", siret=VALID_SIRET)
    db.session.commit()

    response = post("/clients/nouveau", _client_data(), follow_redirects=True)

    page = unescape(text(response))
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Client)) == 2
    assert f"Le SIRET {VALID_SIRET} est aussi celui du client « Ville de Paris »" in page
    assert "Doublon possible" in page
    assert f'href="/clients/{first.id}"' in page


def test_editing_a_client_to_another_clients_siret_warns_too(as_gestionnaire, post) -> None:
    first = factories.make_client(name="Ville de Paris", siret=VALID_SIRET)
    second = factories.make_client(name="Autre", siret=OTHER_VALID_SIRET)
    db.session.commit()

    response = post(
        f"/clients/{second.id}/modifier",
        _client_data(name="Autre"),
        follow_redirects=True,
    )

    page = unescape(text(response))
    db.session.refresh(second)
    assert second.siret == VALID_SIRET
    assert "est aussi celui du client « Ville de Paris »" in page
    assert f'href="/clients/{first.id}"' in page


def test_the_first_client_links_to_the_later_ones_and_a_unique_siret_says_nothing(
    as_lecteur,
) -> None:
    first = factories.make_client(name="Ville de Paris", siret=VALID_SIRET)
    second = factories.make_client(name="Ville de Paris bis", siret=VALID_SIRET)
    alone = factories.make_client(name="Seule", siret=OTHER_VALID_SIRET)
    without = factories.make_client(name="Particulier", siret=None, kind="particulier")
    db.session.commit()

    assert f'href="/clients/{second.id}"' in text(as_lecteur.get(f"/clients/{first.id}"))
    for client in (alone, without):
        assert "Doublon possible" not in text(as_lecteur.get(f"/clients/{client.id}"))
