"""The Chorus HTTP session reads the environment once per origin, and still honours it."""

from __future__ import annotations

import pytest
import responses

from portal.chorus.http import ChorusSession

API = "https://api.piste.gouv.fr/cpro/factures/v1/soumettre"


def _proxies(session: ChorusSession, url: str = API) -> dict[str, str]:
    return session.merge_environment_settings(url, {}, None, None, None)["proxies"]


def test_proxy_variables_are_honoured_and_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.cabinet.local:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = ChorusSession()
    assert _proxies(session)["https"] == "http://proxy.cabinet.local:3128"

    monkeypatch.setenv("HTTPS_PROXY", "http://other.cabinet.local:3128")
    assert _proxies(session)["https"] == "http://proxy.cabinet.local:3128"  # read once
    assert _proxies(ChorusSession())["https"] == "http://other.cabinet.local:3128"


def test_no_proxy_and_ca_bundle_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.cabinet.local:3128")
    monkeypatch.setenv("NO_PROXY", "piste.gouv.fr")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/cabinet.pem")
    settings = ChorusSession().merge_environment_settings(API, {}, None, None, None)
    assert "https" not in settings["proxies"]
    assert settings["verify"] == "/etc/ssl/cabinet.pem"


def test_changing_a_returned_setting_does_not_change_the_next_one() -> None:
    session = ChorusSession()
    _proxies(session)["https"] = "http://tampered:1"
    assert _proxies(session).get("https") != "http://tampered:1"


@responses.activate
def test_requests_go_through_the_session() -> None:
    responses.post(API, json={"codeRetour": 0})
    session = ChorusSession()
    for _ in range(3):
        assert session.post(API, json={}).json() == {"codeRetour": 0}
    assert len(responses.calls) == 3
