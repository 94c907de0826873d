"""ChorusClient against mocked HTTP (responses): headers, token, errors, retries, pagination."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from portal.chorus.client import ChorusClient, Exchange, RetryPolicy, parse_retry_after
from portal.chorus.errors import (
    ChorusAuthenticationError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.chorus.tokens import TokenCache

OAUTH = "https://oauth.test/api/oauth/token"
API = "https://api.test"
SECRET = "s3cr3t-PISTE"
PASSWORD = "pässwörd-Tech!"
LOGIN = "TECH_1_80283822726464@cpro.fr"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(clock: FakeClock, sleeps: list[float]) -> Iterator[Any]:
    clients: list[ChorusClient] = []

    def make(**overrides: Any) -> ChorusClient:
        values: dict[str, Any] = {
            "oauth_url": OAUTH,
            "api_url": API,
            "client_id": "app-id",
            "client_secret": SECRET,
            "tech_login": LOGIN,
            "tech_password": PASSWORD,
            "connect_timeout": 3.0,
            "read_timeout": 20.0,
            "token_cache": TokenCache(clock=clock),
            "retry": RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=8.0),
            "sleep": sleeps.append,
        }
        values.update(overrides)
        client = ChorusClient(**values)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def token_ok(rsps: responses.RequestsMock, value: str = "tok-1", expires_in: int = 3600) -> None:
    rsps.add(
        responses.POST,
        OAUTH,
        json={"access_token": value, "token_type": "Bearer", "expires_in": expires_in},
    )


def lookup_answers(rsps: responses.RequestsMock, url: str, **answer: Any) -> None:
    """A token, then ``url`` answering a lookup with success and the fields of ``answer``."""
    token_ok(rsps)
    rsps.add(responses.POST, url, json={"codeRetour": 0, "libelle": "TRA_MSG_00.000", **answer})


def api(path: str) -> str:
    return f"{API}/cpro{path}"


STRUCTURE = api("/structures/v1/consulter")
SERVICES = api("/structures/v1/rechercher/services")
SUBMIT = api("/factures/v1/soumettre")
ADD_FILE = api("/transverses/v1/ajouter/fichier")
SEARCH = api("/factures/v1/rechercher/fournisseur")
STRUCTURE_OK = {"codeRetour": 0, "libelle": "GCU_MSG_01_000", "informationGenerales": {}}


def api_calls(rsps: responses.RequestsMock) -> list[Any]:
    return [call for call in rsps.calls if not call.request.url.startswith(OAUTH)]


def token_calls(rsps: responses.RequestsMock) -> list[Any]:
    return [call for call in rsps.calls if call.request.url.startswith(OAUTH)]


# -- headers and token ---------------------------------------------------------------------------


def test_every_call_sends_bearer_token_cpro_account_and_json_headers(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    mocked.add(responses.GET, api("/transverses/v1/health-check"), json={"codeRetour": 0})
    client = make_client()
    client.get_structure(25000001)
    client.health_check()
    expected_account = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    for call in api_calls(mocked):
        headers = call.request.headers
        assert headers["Authorization"] == "Bearer tok-1"
        assert headers["cpro-account"] == expected_account
        assert headers["Content-Type"] == "application/json;charset=utf-8"
        assert headers["Accept"] == "application/json;charset=utf-8"
    assert json.loads(api_calls(mocked)[0].request.body) == {
        "idStructureCPP": 25000001,
        "codeLangue": "FR",
    }
    assert api_calls(mocked)[1].request.method == "GET"


def test_the_token_request_is_a_client_credentials_form(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    make_client().get_structure(1)
    form = dict(pair.split("=", 1) for pair in token_calls(mocked)[0].request.body.split("&"))
    assert form == {
        "grant_type": "client_credentials",
        "client_id": "app-id",
        "client_secret": SECRET,
        "scope": "openid",
    }


def test_the_token_is_cached_and_shared_by_clients_with_the_same_credentials(
    mocked, make_client, clock
):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    cache = TokenCache(clock=clock)
    first = make_client(token_cache=cache)
    first.get_structure(1)
    first.get_structure(2)
    make_client(token_cache=cache).get_structure(3)
    assert len(token_calls(mocked)) == 1
    make_client(token_cache=cache, client_secret="another").get_structure(4)
    assert len(token_calls(mocked)) == 2


@pytest.mark.parametrize(
    ("lifetime", "still_reused_after"),
    [
        # Still more than 5 minutes left, then less: renewed before it expires.
        pytest.param(3600, 3600 - 301, id="the_token_is_renewed_ahead_of_its_expiry"),
        pytest.param(60, 29, id="a_short_lived_token_is_still_reused_for_half_its_life"),
    ],
)
def test_a_token_is_reused_then_renewed_ahead_of_its_expiry(
    mocked, make_client, clock, lifetime, still_reused_after
):
    token_ok(mocked, "tok-1", lifetime)
    token_ok(mocked, "tok-2", lifetime)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    client = make_client()
    client.get_structure(1)
    clock.now += still_reused_after
    client.get_structure(1)
    assert len(token_calls(mocked)) == 1
    clock.now += 2
    client.get_structure(1)
    assert len(token_calls(mocked)) == 2
    assert api_calls(mocked)[-1].request.headers["Authorization"] == "Bearer tok-2"


def test_a_401_renews_the_token_once_and_retries_the_call_once(mocked, make_client):
    token_ok(mocked, "tok-1")
    token_ok(mocked, "tok-2")
    mocked.add(responses.POST, SUBMIT, status=401, json={"codeRetour": 401, "libelle": "x"})
    mocked.add(
        responses.POST,
        SUBMIT,
        json={"codeRetour": 0, "libelle": "ok", "identifiantFactureCPP": 42},
    )
    result = make_client().submit_invoice({"numeroFactureSaisi": "Q1"})
    assert result.identifiant_facture_cpp == 42
    calls = api_calls(mocked)
    assert [c.request.headers["Authorization"] for c in calls] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(token_calls(mocked)) == 2


def test_a_second_401_is_an_authentication_error(mocked, make_client):
    token_ok(mocked, "tok-1")
    token_ok(mocked, "tok-2")
    mocked.add(responses.POST, STRUCTURE, status=401, json={"codeRetour": 401, "libelle": "x"})
    with pytest.raises(ChorusAuthenticationError) as caught:
        make_client().get_structure(1)
    assert caught.value.http_status == 401
    assert caught.value.stage == "api"
    assert "compte technique" in str(caught.value)
    assert len(api_calls(mocked)) == 2
    assert len(token_calls(mocked)) == 2


def test_a_403_after_renewal_is_an_authentication_error_too(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, status=403)
    with pytest.raises(ChorusAuthenticationError) as caught:
        make_client().get_structure(1)
    assert caught.value.http_status == 403
    assert "HTTP 403" in str(caught.value)


def test_refused_piste_credentials_are_an_authentication_error_without_retry(mocked, make_client):
    mocked.add(
        responses.POST,
        OAUTH,
        status=401,
        json={"error": "invalid_client", "error_description": "Bad credentials"},
    )
    with pytest.raises(ChorusAuthenticationError) as caught:
        make_client().get_structure(1)
    assert caught.value.stage == "token"
    assert "invalid_client" in str(caught.value)
    assert len(mocked.calls) == 1


def test_an_unavailable_token_server_is_retried_with_backoff(mocked, make_client, sleeps):
    mocked.add(responses.POST, OAUTH, status=503)
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    make_client().get_structure(1)
    assert sleeps == [0.5]


def test_obtain_token_force_asks_for_a_new_token(mocked, make_client):
    token_ok(mocked, "tok-1")
    token_ok(mocked, "tok-2")
    client = make_client()
    assert client.obtain_token().expires_in == 3600
    assert client.obtain_token().expires_in == 3600
    assert len(token_calls(mocked)) == 1
    client.obtain_token(force=True)
    assert len(token_calls(mocked)) == 2


# -- errors ---------------------------------------------------------------------------------------


def test_a_non_zero_code_retour_on_http_200_is_a_refusal_with_code_and_libelle(mocked, make_client):
    token_ok(mocked)
    mocked.add(
        responses.POST,
        SUBMIT,
        json={"codeRetour": 20104, "libelle": "Le code service est obligatoire."},
    )
    with pytest.raises(ChorusRefused) as caught:
        make_client().submit_invoice({})
    assert caught.value.code_retour == 20104
    assert caught.value.libelle == "Le code service est obligatoire."
    assert caught.value.http_status == 200
    assert str(caught.value) == (
        "Chorus Pro a refusé la demande (code 20104) : Le code service est obligatoire."
    )


def test_a_4xx_is_a_refusal_carrying_the_envelope_when_there_is_one(mocked, make_client):
    token_ok(mocked)
    mocked.add(
        responses.POST, STRUCTURE, status=400, json={"codeRetour": 20001, "libelle": "Champ X"}
    )
    mocked.add(responses.POST, SERVICES, status=404, body="not found")
    client = make_client()
    with pytest.raises(ChorusRefused) as caught:
        client.get_structure(1)
    assert (caught.value.code_retour, caught.value.http_status) == (20001, 400)
    with pytest.raises(ChorusRefused) as caught:
        client.list_services(1)
    assert caught.value.code_retour is None
    assert caught.value.http_status == 404
    assert "HTTP 404" in str(caught.value)


def test_code_20000_on_a_search_is_an_empty_result(mocked, make_client):
    token_ok(mocked)
    empty = {"codeRetour": 20000, "libelle": "Aucun résultat"}
    mocked.add(responses.POST, SEARCH, json=empty)
    mocked.add(responses.POST, api("/structures/v1/rechercher"), json=empty)
    mocked.add(responses.POST, SERVICES, json=empty)
    client = make_client()
    assert client.search_supplier_invoices(numero_facture="Q1") == []
    assert client.search_structures("21588139298698") == []
    assert client.list_services(1) == []


def test_code_20000_on_a_consultation_is_a_refusal(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json={"codeRetour": 20000, "libelle": "Aucun"})
    with pytest.raises(ChorusRefused):
        make_client().get_structure(1)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_5xx_and_429_are_unavailable(mocked, make_client, status):
    token_ok(mocked)
    mocked.add(responses.POST, SUBMIT, status=status)
    with pytest.raises(ChorusUnavailable) as caught:
        make_client().submit_invoice({})
    assert caught.value.http_status == status
    assert caught.value.outcome_unknown is (status not in (429, 503))


def test_an_unreadable_answer_is_unavailable_with_unknown_outcome(mocked, make_client):
    token_ok(mocked)
    mocked.add(
        responses.POST, SUBMIT, body='{"codeRetour": 0, "lib', content_type="application/json"
    )
    with pytest.raises(ChorusUnavailable) as caught:
        make_client().submit_invoice({})
    assert caught.value.outcome_unknown


def test_a_success_without_the_expected_id_is_unavailable_with_unknown_outcome(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, SUBMIT, json={"codeRetour": 0, "libelle": "ok"})
    with pytest.raises(ChorusUnavailable) as caught:
        make_client().submit_invoice({})
    assert caught.value.outcome_unknown


@pytest.mark.parametrize(
    ("exception", "unknown"),
    [
        (requests.ConnectTimeout("connect timeout"), False),
        (requests.ReadTimeout("read timeout"), True),
        (requests.ConnectionError("Connection aborted: reset by peer"), True),
    ],
)
def test_network_failures_are_unavailable(mocked, make_client, exception, unknown):
    token_ok(mocked)
    mocked.add(responses.POST, SUBMIT, body=exception)
    with pytest.raises(ChorusUnavailable) as caught:
        make_client().submit_invoice({})
    assert caught.value.outcome_unknown is unknown
    assert "injoignable" in str(caught.value)


# -- retries --------------------------------------------------------------------------------------


def test_lookups_are_retried_with_exponential_backoff_then_give_up(mocked, make_client, sleeps):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, status=500)
    with pytest.raises(ChorusUnavailable):
        make_client().get_structure(1)
    assert len(api_calls(mocked)) == 3
    assert sleeps == [0.5, 1.0]


def test_a_429_retry_after_is_honoured_on_lookups(mocked, make_client, sleeps):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, status=429, headers={"Retry-After": "7"})
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    make_client().get_structure(1)
    assert sleeps == [7.0]
    assert len(api_calls(mocked)) == 2


def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_for(mocked, make_client, sleeps):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, status=503, headers={"Retry-After": "600"})
    with pytest.raises(ChorusUnavailable) as caught:
        make_client().get_structure(1)
    assert caught.value.retry_after == 600
    assert sleeps == []


def test_attachment_upload_is_retried(mocked, make_client, sleeps):
    token_ok(mocked)
    mocked.add(responses.POST, ADD_FILE, status=503)
    mocked.add(responses.POST, ADD_FILE, body=requests.ConnectionError("reset"))
    mocked.add(responses.POST, ADD_FILE, json={"codeRetour": 0, "pieceJointeId": 77})
    result = make_client().upload_attachment(b"%PDF", "a.pdf", "application/pdf")
    assert result.piece_jointe_id == 77
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "headers": {"Retry-After": "1"}},
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"status": 500},
        {"body": requests.ReadTimeout("read timeout")},
        {"body": requests.ConnectionError("refused")},
    ],
)
def test_soumettre_is_never_retried(mocked, make_client, sleeps, failure):
    token_ok(mocked)
    mocked.add(responses.POST, SUBMIT, **failure)
    mocked.add(responses.POST, SUBMIT, json={"codeRetour": 0, "identifiantFactureCPP": 1})
    with pytest.raises(ChorusUnavailable):
        make_client().submit_invoice({"numeroFactureSaisi": "Q1"})
    assert len(api_calls(mocked)) == 1
    assert sleeps == []


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("bientôt") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


# -- pagination and results -----------------------------------------------------------------------


def test_services_are_fetched_page_by_page(mocked, make_client):
    token_ok(mocked)
    for page in (1, 2, 3):
        mocked.add(
            responses.POST,
            SERVICES,
            json={
                "codeRetour": 0,
                "libelle": "ok",
                "listeServices": [
                    {"idService": page * 10 + i, "codeService": f"S{page}{i}", "estActif": True}
                    for i in range(2)
                ],
                "parametresRetour": {"pageCourante": page, "pages": 3, "total": 6},
            },
        )
    services = make_client().list_services(26000100, page_size=2)
    assert [s.id_service for s in services] == [10, 11, 20, 21, 30, 31]
    bodies = [json.loads(c.request.body) for c in api_calls(mocked)]
    assert [b["parametresRechercherServicesStructure"] for b in bodies] == [
        {"nbResultatsParPage": 2, "pageResultatDemandee": page} for page in (1, 2, 3)
    ]


def test_invoice_search_sends_the_number_and_supplier_and_reads_every_page(mocked, make_client):
    token_ok(mocked)
    mocked.add(
        responses.POST,
        SEARCH,
        json={
            "codeRetour": 0,
            "listeFactures": [
                {"identifiantFactureCPP": 5, "numeroFacture": "Q1", "statut": "REJETEE"},
                {"identifiantFactureCPP": 6, "numeroFacture": "Q10", "statut": "DEPOSEE"},
            ],
            "parametresRetour": {"pageCourante": 1, "pages": 1},
        },
    )
    found = make_client().find_invoices("Q1", 25000001)
    assert [(i.identifiant_facture_cpp, i.statut) for i in found] == [(5, "REJETEE")]
    body = json.loads(api_calls(mocked)[0].request.body)
    assert body == {
        "numeroFacture": "Q1",
        "idFournisseur": 25000001,
        "rechercheFactureParFournisseur": {"pageResultatDemandee": 1, "nbResultatsParPage": 100},
    }


def test_history_is_typed_and_sorted_oldest_first(mocked, make_client):
    token_ok(mocked)
    mocked.add(
        responses.POST,
        api("/factures/v1/consulter/historique"),
        json={
            "codeRetour": 0,
            "idFacture": 7,
            "statutCourantCode": "REJETEE",
            "historiquesDesStatuts": {
                "histoStatut": [
                    {
                        "histoStatutCode": "REJETEE",
                        "histoStatutDatePassage": "2026-03-03T10:00:00.000+01:00",
                        "histoStatutCommentaire": "Montant faux",
                    },
                    {"histoStatutCode": "DEPOSEE", "histoStatutDatePassage": 1767225600000},
                ]
            },
        },
    )
    history = make_client().get_invoice_history(7)
    assert [e.code for e in history.entries] == ["DEPOSEE", "REJETEE"]
    assert history.current_status == "REJETEE"
    assert history.latest_comment == "Montant faux"
    assert all(e.passed_at is not None and e.passed_at.tzinfo for e in history.entries)


def test_the_upload_body_carries_the_file_in_base64_and_the_user_id_when_set(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, ADD_FILE, json={"codeRetour": 0, "pieceJointeId": 3})
    make_client(user_id=1234).upload_attachment(b"abc", "Piece.PDF", "application/pdf")
    body = json.loads(api_calls(mocked)[0].request.body)
    assert body == {
        "pieceJointeFichier": "YWJj",
        "pieceJointeNom": "Piece.PDF",
        "pieceJointeTypeMime": "application/pdf",
        "pieceJointeExtension": "pdf",
        "idUtilisateurCourant": 1234,
    }


# -- secrets and observation ----------------------------------------------------------------------


def test_secrets_never_appear_in_reprs_errors_or_logs(mocked, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    token_ok(mocked, "tok-secret-value")
    mocked.add(responses.POST, STRUCTURE, status=401)
    mocked.add(responses.POST, SUBMIT, status=500)
    client = make_client()
    errors: list[Exception] = []
    for call in (lambda: client.get_structure(1), lambda: client.submit_invoice({})):
        with pytest.raises((ChorusAuthenticationError, ChorusUnavailable)) as caught:
            call()
        errors.append(caught.value)
    account = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    texts = [repr(client), caplog.text, *(str(e) for e in errors), *(repr(e) for e in errors)]
    texts += [repr(client._tokens)]
    for text in texts:
        for secret in (SECRET, PASSWORD, account, "tok-secret-value"):
            assert secret not in text


def test_the_observer_hears_about_every_finished_operation(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)
    mocked.add(responses.POST, SUBMIT, json={"codeRetour": 20117, "libelle": "Doublon"})
    heard: list[Exchange] = []
    client = make_client(observer=heard.append)
    client.get_structure(1)
    with pytest.raises(ChorusRefused):
        client.submit_invoice({})
    assert [(e.operation, e.ok, e.http_status, e.code_retour) for e in heard] == [
        ("structures/consulter", True, 200, 0),
        ("factures/soumettre", False, 200, 20117),
    ]
    assert heard[1].message is not None and "Doublon" in heard[1].message


def test_a_failing_observer_does_not_break_the_call(mocked, make_client):
    token_ok(mocked)
    mocked.add(responses.POST, STRUCTURE, json=STRUCTURE_OK)

    def explode(_exchange: Exchange) -> None:
        raise RuntimeError("observer bug")

    make_client(observer=explode).get_structure(1)


# -- VAT exemption reasons -----------------------------------------------------------------------

VAT_REASONS = api("/transverses/v1/recuperer/motifs/exonerationtva")


def test_the_vat_exemption_reasons_are_read_in_french(mocked, make_client):
    lookup_answers(
        mocked,
        VAT_REASONS,
        listeMotifsExonerationTva=[
            {"codeMotifExonerationTva": "C1", "libelleMotifExonerationTva": "Motif un"},
            {"codeMotifExonerationTva": "", "libelleMotifExonerationTva": "sans code"},
        ],
    )
    reasons = make_client().list_vat_exemption_reasons()
    assert [(r.code, r.label) for r in reasons] == [("C1", "Motif un")]
    assert json.loads(api_calls(mocked)[0].request.body) == {"codeLangue": "FR"}


def test_the_vat_exemption_reasons_accept_the_short_field_names_and_an_empty_list(
    mocked, make_client
):
    token_ok(mocked)
    short = {"codeRetour": 0, "listeMotifs": [{"code": "EXPT", "libelle": "Exportation"}]}
    mocked.add(responses.POST, VAT_REASONS, json=short)
    mocked.add(responses.POST, VAT_REASONS, json={"codeRetour": 20000, "libelle": "Aucun"})
    client = make_client()
    assert [(r.code, r.label) for r in client.list_vat_exemption_reasons()] == [
        ("EXPT", "Exportation")
    ]
    assert client.list_vat_exemption_reasons() == []


# -- lookup answers as the real API gives them (EVIDENCE.md § 3) ----------------------------------

SUPPLIERS = api("/transverses/v1/recuperer/structures/actives/fournisseur")
BANKS = api("/transverses/v1/recuperer/coordbanc/valides")


def test_b4_the_supplier_structures_read_the_siret_from_identifiant(mocked, make_client):
    lookup_answers(
        mocked,
        SUPPLIERS,
        listeStructures=[
            {
                "idStructureCPP": 25000001,
                "identifiant": "80283822726464",
                "designationStructure": "Cabinet Dupont",
            }
        ],
    )
    [structure] = make_client().list_supplier_structures()
    assert (structure.id_structure_cpp, structure.identifiant) == (25000001, "80283822726464")
    assert structure.label == "25000001 — Cabinet Dupont (SIRET 80283822726464)"
    assert json.loads(api_calls(mocked)[0].request.body) == {}


def test_b4_bank_details_are_ids_and_names_only_an_iban_in_the_name_is_a_hint(mocked, make_client):
    lookup_answers(
        mocked,
        BANKS,
        listeCoordonneeBancaire=[
            {"idCoordonneeBancaire": 1, "nomCoordonneeBancaire": "Compte courant"},
            {
                "idCoordonneeBancaire": 2,
                "nomCoordonneeBancaire": "Honoraires fr60 3000 3035 4000 0500 0012 345",
            },
        ],
    )
    first, second = make_client().list_bank_details(25000001)
    assert json.loads(api_calls(mocked)[0].request.body) == {"idStructure": 25000001}
    assert (first.id_coordonnee_bancaire, first.label) == (1, "1 — Compte courant")
    assert not hasattr(first, "iban")
    assert second.name_mentions_iban("FR6030003035400005000012345")
    assert not first.name_mentions_iban("FR6030003035400005000012345")
    assert not second.name_mentions_iban("FR76")  # too short to say anything


@pytest.mark.parametrize("http_status", [200, 400])
def test_a_business_refusal_is_the_same_refusal_on_http_200_and_on_http_400(
    mocked, make_client, http_status
):
    token_ok(mocked)
    body = {"codeRetour": 20203, "libelle": "La structure n'est pas rattachée au compte."}
    mocked.add(responses.POST, BANKS, status=http_status, json=body)
    mocked.add(responses.POST, SUBMIT, status=http_status, json={**body, "codeRetour": 20104})
    client = make_client()
    with pytest.raises(ChorusRefused) as caught:
        client.list_bank_details(26000100)
    assert (caught.value.code_retour, caught.value.http_status) == (20203, http_status)
    assert caught.value.libelle == body["libelle"]
    with pytest.raises(ChorusRefused) as submitted:
        client.submit_invoice({})
    assert submitted.value.code_retour == 20104
    assert len(api_calls(mocked)) == 2  # a refusal is never retried


@pytest.mark.parametrize("http_status", [200, 400])
def test_no_result_is_an_empty_list_on_http_200_and_on_http_400(mocked, make_client, http_status):
    token_ok(mocked)
    empty = {"codeRetour": 20000, "libelle": "Aucun résultat"}
    for url in (SUPPLIERS, BANKS, SEARCH, SERVICES):
        mocked.add(responses.POST, url, status=http_status, json=empty)
    mocked.add(responses.POST, STRUCTURE, status=http_status, json=empty)
    client = make_client()
    assert client.list_supplier_structures() == []
    assert client.list_bank_details(25000001) == []
    assert client.search_supplier_invoices(numero_facture="Q1") == []
    assert client.list_services(1) == []
    with pytest.raises(ChorusRefused):
        client.get_structure(1)  # not a search: "no result" is a refusal there


# -- secondary attachment types (EVIDENCE.md § 2) --------------------------------------------------

ATTACHMENT_TYPES = api("/transverses/v1/recuperer/typespj")


def test_the_attachment_types_are_asked_for_invoices_in_french_and_read_by_code(
    mocked, make_client
):
    lookup_answers(
        mocked,
        ATTACHMENT_TYPES,
        listeTypePieceJointe=[
            {
                "codeTypePieceJointe": "AUT",
                "idTypePieceJointe": 54062,
                "libelleTypePieceJointe": "Autre",
                "typeObjet": "FACTURE",
            },
            {"codeTypePieceJointe": "BDC", "libelleTypePieceJointe": "Bon de commande"},
            {"codeTypePieceJointe": "", "libelleTypePieceJointe": "sans code"},
        ],
    )
    types = make_client().list_attachment_types()
    assert json.loads(api_calls(mocked)[0].request.body) == {
        "codeLangue": "FR",
        "typeObjet": "FACTURE",
    }
    assert [(t.code, t.label) for t in types] == [("AUT", "Autre")]  # the FACTURE rows only


def test_attachment_types_of_other_objects_alone_are_kept_and_none_is_an_empty_list(
    mocked, make_client
):
    token_ok(mocked)
    other = {
        "codeTypePieceJointe": "APS",
        "libelleTypePieceJointe": "Attestation",
        "typeObjet": "MEMOIRE",
    }
    mocked.add(
        responses.POST, ATTACHMENT_TYPES, json={"codeRetour": 0, "listeTypePieceJointe": [other]}
    )
    mocked.add(responses.POST, ATTACHMENT_TYPES, json={"codeRetour": 20000, "libelle": "Aucun"})
    client = make_client()
    assert [t.code for t in client.list_attachment_types()] == ["APS"]
    assert client.list_attachment_types() == []
