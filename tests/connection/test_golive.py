"""The go-live checklist's pieces without a server: answers shown, verdicts, advice, throttle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses

from portal.chorus.client import ChorusClient, Exchange, RetryPolicy
from portal.chorus.errors import (
    ChorusAuthenticationError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.chorus.results import (
    AttachmentType,
    BankDetails,
    ServiceSummary,
    StructureDetail,
    VatExemptionReason,
)
from portal.chorus.tokens import TokenCache
from portal.connection import diagnostics, golive, throttle
from portal.connection.diagnostics import StepStatus
from portal.extensions import db

API = "https://api.test"
OAUTH = "https://oauth.test/api/oauth/token"
SECRET = "s3cr3t-PISTE"
PASSWORD = "pässwörd-Tech!"


def _exchange(**values: object) -> Exchange:
    defaults: dict[str, object] = {
        "operation": "structures/consulter",
        "ok": True,
        "http_status": 200,
        "code_retour": 0,
        "attempts": 1,
        "duration_ms": 12,
    }
    defaults.update(values)
    return Exchange(**defaults)  # type: ignore[arg-type]


def _structure(**rules: bool) -> StructureDetail:
    values = {
        "service_code_required": False,
        "engagement_required": False,
        "engagement_or_service_required": False,
        "payment_status_not_reported": False,
    }
    values.update(rules)
    return StructureDetail(
        26000100, "21588139298698", "Commune", "PUBLIQUE", **values, password_expires_on=None
    )


def _service(code: str = "FINANCES", *, active: bool = True, engagement: bool | None = False):
    found = ServiceSummary(30000001, code, "Finances", active) if code else None
    return golive.ContractService(code, found, engagement)


# -- Chorus's answer ------------------------------------------------------------------------------


def test_an_answer_shows_the_http_status_the_code_and_the_libelle() -> None:
    line = golive.describe(_exchange(libelle="GCU_MSG_01_000"))
    assert line == "structures/consulter → HTTP 200 · codeRetour 0 · « GCU_MSG_01_000 »"


def test_an_answer_without_response_says_why_and_counts_attempts() -> None:
    line = golive.describe(
        _exchange(
            ok=False,
            http_status=None,
            code_retour=None,
            attempts=2,
            message="Chorus Pro est injoignable (connexion impossible).",
        )
    )
    assert line == (
        "structures/consulter → Chorus Pro est injoignable (connexion impossible). · 2 tentatives"
    )


def test_a_very_long_libelle_is_cut() -> None:
    line = golive.describe(_exchange(libelle="x" * 1000))
    assert len(line) < 400 and line.endswith("… »")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_a_refusal_as_http_400_is_shown_with_its_code_and_libelle_and_no_secret(mocked) -> None:
    mocked.post(OAUTH, json={"access_token": "jeton-secret", "expires_in": 3600})
    mocked.post(
        f"{API}/cpro/transverses/v1/recuperer/structures/actives/fournisseur",
        status=400,
        json={"codeRetour": 20001, "libelle": "GCU_MSG_05_001 Requête invalide"},
    )
    log = golive.ExchangeLog()
    client = ChorusClient(
        oauth_url=OAUTH,
        api_url=API,
        client_id="app",
        client_secret=SECRET,
        tech_login="TECH_1_x@cpro.fr",
        tech_password=PASSWORD,
        token_cache=TokenCache(),
        retry=RetryPolicy(max_attempts=1),
        observer=log,
    )
    with client:
        report = golive.run(client, golive.Inputs(25000001, "CODE", None), log)
    token, account, *rest = report.steps
    assert token.ok and token.answer == ("token → HTTP 200",)
    assert account.status is StepStatus.FAILED
    assert account.answer == (
        "transverses/recuperer/structures/actives/fournisseur → HTTP 400 · codeRetour 20001 · "
        "« GCU_MSG_05_001 Requête invalide »",
    )
    assert account.advice == golive.REFUSED_ADVICE
    assert all(step.status is StepStatus.SKIPPED for step in rest)
    shown = repr(report)
    assert "jeton-secret" not in shown and SECRET not in shown and PASSWORD not in shown


# -- what to do -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (ChorusAuthenticationError("x", stage="token", http_status=401), golive.PISTE_ADVICE),
        (ChorusAuthenticationError("x", stage="api", http_status=401), golive.ACCOUNT_ADVICE),
        (ChorusAuthenticationError("x", stage="api", http_status=403), golive.FORBIDDEN_ADVICE),
        (ChorusUnavailable("x", http_status=503), golive.UNAVAILABLE_ADVICE),
        (ChorusRefused(20001, "libellé", http_status=400), "propre conseil"),
        (ChorusRefused(None, "", http_status=403), golive.FORBIDDEN_ADVICE),
    ],
)
def test_each_kind_of_failure_says_what_to_do(error, advice) -> None:
    assert golive.advice_for(error, "propre conseil") == advice


# -- verdicts -------------------------------------------------------------------------------------

VALID = [BankDetails(45000001, "Compte courant"), BankDetails(45000002, "Honoraires")]


def test_no_bank_coordinates_in_chorus_fails() -> None:
    outcome = golive.bank_verdict([], [golive.BankAccountCode("Cabinet — Compte", 45000001)])
    assert outcome.status is StepStatus.FAILED
    assert "aucune coordonnée bancaire valide" in outcome.message


def test_bank_codes_known_to_chorus_pass_and_uncoded_unused_accounts_are_mentioned() -> None:
    outcome = golive.bank_verdict(
        VALID,
        [
            golive.BankAccountCode("A — Courant", 45000001, used_for_chorus=True),
            golive.BankAccountCode("B — Épargne", None),
        ],
    )
    assert outcome.status is StepStatus.OK
    assert "45000001 « Compte courant »" in outcome.message
    assert "Sans code (aucun contrat Chorus Pro ne les utilise) : B — Épargne." in outcome.message


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (golive.BankAccountCode("A — X", 45009999), "A — X : code 45009999 inconnu de Chorus Pro"),
        (golive.BankAccountCode("A — X", None, used_for_chorus=True), "A — X : aucun code"),
    ],
)
def test_an_unknown_code_or_a_chorus_account_without_one_fails(account, expected) -> None:
    outcome = golive.bank_verdict(VALID, [account])
    assert outcome.status is StepStatus.FAILED
    assert expected in outcome.message
    assert outcome.advice and "Récupérer depuis Chorus Pro" in outcome.advice


def test_the_vat_code_must_be_set_and_listed_by_chorus() -> None:
    reasons = [VatExemptionReason("ASSURANCE_261C", "Opérations d'assurance")]
    verdict = diagnostics.vat_exemption_verdict
    assert verdict(reasons, None).status is StepStatus.FAILED
    assert verdict(reasons, "AUTRE").status is StepStatus.FAILED
    assert verdict(reasons, "AUTRE").advice == diagnostics.CHOOSE_VAT_REASON
    assert verdict([], "ASSURANCE_261C").status is StepStatus.FAILED
    passed = verdict(reasons, "ASSURANCE_261C")
    assert passed.status is StepStatus.OK
    assert "« ASSURANCE_261C » (Opérations d'assurance)" in passed.message


def test_attachment_types_must_be_listed_and_contain_the_default() -> None:
    types = [AttachmentType("PJ_BON_COMMANDE", "Bon de commande")]
    assert golive.attachment_verdict([], None).status is StepStatus.FAILED
    assert golive.attachment_verdict(types, "AUTRE").status is StepStatus.FAILED
    assert golive.attachment_verdict(types, None).status is StepStatus.OK
    assert "Aucun type par défaut" in golive.attachment_verdict(types, None).message
    assert golive.attachment_verdict(types, "PJ_BON_COMMANDE").status is StepStatus.OK


@pytest.mark.parametrize(
    ("structure", "service", "engagement", "codes"),
    [
        (_structure(), _service(), "", []),
        (_structure(), _service("", engagement=None), "EJ", ["S9_NO_SERVICE_CODE"]),
        (
            _structure(service_code_required=True),
            _service("", engagement=None),
            "EJ",
            ["S9_NO_SERVICE_CODE", "B3_SERVICE_CODE_REQUIRED"],
        ),
        (_structure(), golive.ContractService("INCONNU", None, None), "EJ", ["B3_SERVICE_UNKNOWN"]),
        (_structure(), _service(active=False, engagement=None), "EJ", ["B3_SERVICE_INACTIVE"]),
        (_structure(), _service("FACTURES_PUBLIQUES"), "EJ", ["B3_SERVICE_PUBLIC_TO_PUBLIC"]),
        (_structure(engagement_required=True), _service(), "", ["B3_ENGAGEMENT_REQUIRED"]),
        (_structure(engagement_required=True), _service(), "EJ-1", []),
        (_structure(), _service(engagement=True), "", ["B3_SERVICE_ENGAGEMENT_REQUIRED"]),
        (
            _structure(engagement_or_service_required=True),
            _service("", engagement=None),
            "",
            ["S9_NO_SERVICE_CODE", "B3_ENGAGEMENT_OR_SERVICE_REQUIRED"],
        ),
    ],
)
def test_the_contracts_service_is_held_to_the_b3_rules(structure, service, engagement, codes):
    assert golive.service_problems(structure, service, engagement) == codes


def test_a_failed_service_lists_the_usable_services_to_choose_from() -> None:
    outcome = golive.service_verdict(
        _structure(), golive.ContractService("INCONNU", None, None), "", usable=["FINANCES", "RH"]
    )
    assert outcome.status is StepStatus.FAILED
    assert outcome.advice and "Services actifs de la structure : FINANCES, RH." in outcome.advice


# -- throttle -------------------------------------------------------------------------------------

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=30)


def test_a_run_is_claimed_once_per_interval(app) -> None:
    assert throttle.claim("essai", INTERVAL, now=NOW) is None
    db.session.commit()
    assert throttle.claim("essai", INTERVAL, now=NOW + timedelta(seconds=10)) == 20
    assert throttle.claim("essai", INTERVAL, now=NOW + timedelta(seconds=29, microseconds=1)) == 1
    assert throttle.claim("essai", INTERVAL, now=NOW + timedelta(seconds=30)) is None
    db.session.commit()
    assert throttle.claim("essai", INTERVAL, now=NOW + timedelta(seconds=31)) == 29


def test_each_action_has_its_own_interval(app) -> None:
    assert throttle.claim("une", INTERVAL, now=NOW) is None
    assert throttle.claim("autre", INTERVAL, now=NOW) is None
