"""Recipient checks with bounded calls (B3): one service consulted, each lookup once per job,
a configurable freshness across jobs, unknown engagement rules never taken for "not required".
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from portal.chorus.client import RetryPolicy
from portal.clock import utcnow
from portal.dematerialization import recipients
from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobKind
from portal.jobs.pool import get_runner
from portal.sending import rules
from portal.sending import services as sending
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.chorus.emulator_fixtures import emulator_client
from tests.sending.conftest import SIRET_PAID, sendable_contract, sendable_receipt

LOOKUPS = (
    "structures/rechercher",
    "structures/consulter",
    "structures/rechercher/services",
    "structures/consulter/service",
)


def lookup_calls(chorus) -> dict[str, int]:
    calls = chorus.state.stats_snapshot()["calls"]
    return {operation: calls.get(operation, 0) for operation in LOOKUPS}


def run(app: Flask, documents) -> Job:
    job = sending.start_send(documents, kind=JobKind.MASS_SEND, user=None)
    db.session.commit()
    sending.launch(job)
    get_runner(app).wait(job.id, timeout=120)
    db.session.expire_all()
    return db.session.get(Job, job.id)


def reset_calls(chorus) -> None:
    chorus.state.reset()


# -- one structure, one service -----------------------------------------------------------------


def test_b3_a_check_reads_the_services_in_one_page_and_consults_only_the_contract_service(
    chorus,
) -> None:
    with emulator_client(chorus) as client:
        structure = recipients.refresh(SIRET_PAID, client, service_code=" FINANCES ")

    assert lookup_calls(chorus) == dict.fromkeys(LOOKUPS, 1)
    by_code = {service.code: service for service in recipients.cached(SIRET_PAID).services}
    assert structure.is_found and by_code["FINANCES"].engagement_required is False
    # Listed but never consulted: unknown, not "no engagement number required".
    assert by_code["TECHNIQUE"].engagement_required is None
    assert by_code["FACTURES_PUBLIQUES"].engagement_required is None


def test_b3_reserved_inactive_or_unknown_services_are_never_consulted(chorus) -> None:
    with emulator_client(chorus) as client:
        for code in ("FACTURES_PUBLIQUES", "ANCIEN-SVC", "INCONNU", None):
            recipients.refresh(SIRET_PAID, client, service_code=code)

    assert lookup_calls(chorus)["structures/consulter/service"] == 0


def test_b3_looking_a_structure_up_again_forgets_the_engagement_rules(chorus) -> None:
    with emulator_client(chorus) as client:
        recipients.refresh(SIRET_PAID, client, service_code="TECHNIQUE")
        assert recipients.cached(SIRET_PAID).service("TECHNIQUE").engagement_required is True
        recipients.refresh_structure(SIRET_PAID, client)

    assert recipients.cached(SIRET_PAID).service("TECHNIQUE").engagement_required is None


def test_b3_an_unconsulted_service_is_a_note_until_consulted_never_a_pass(app: Flask) -> None:
    contract = factories.make_contract(chorus_service_code="NOUVEAU")
    factories.make_recipient(
        contract.client.siret,
        services=[{"code": "NOUVEAU", "engagement_required": None}],
    )
    receipt = factories.make_receipt(contract=contract, pdf_stored_name="avis.pdf")
    structure = recipients.cached(contract.client.siret)

    verdict = rules.eligibility(
        receipt, chorus_enabled=True, has_vat_exemption_code=True, recipient=structure
    )

    assert verdict.eligible
    assert [r.code for r in verdict.reasons] == ["B3_SERVICE_NOT_CHECKED"]
    contract.chorus_engagement_number = "EJ-1"  # the rule no longer matters
    verdict = rules.eligibility(
        receipt, chorus_enabled=True, has_vat_exemption_code=True, recipient=structure
    )
    assert verdict.reasons == ()


# -- within a job and across jobs ---------------------------------------------------------------


def test_b3_a_send_job_looks_each_structure_and_service_up_once(
    app: Flask, chorus, chorus_admin
) -> None:
    finances = sendable_contract()
    technique = sendable_contract(
        client=finances.client, chorus_service_code="TECHNIQUE", chorus_engagement_number="EJ-7"
    )
    receipts = [sendable_receipt(contract) for contract in (finances, technique) * 4]

    job = run(app, receipts)

    assert [item.state for item in job.items] == [ItemState.SUCCEEDED] * 8
    assert lookup_calls(chorus) == {
        "structures/rechercher": 1,
        "structures/consulter": 1,
        "structures/rechercher/services": 1,
        "structures/consulter/service": 2,
    }


def test_b3_a_later_job_trusts_a_recipient_checked_within_the_freshness(
    app: Flask, chorus, chorus_admin
) -> None:
    contract = sendable_contract()
    run(app, [sendable_receipt(contract)])
    reset_calls(chorus)

    job = run(app, [sendable_receipt(contract)])

    assert job.items[0].state == ItemState.SUCCEEDED
    assert lookup_calls(chorus) == dict.fromkeys(LOOKUPS, 0)


def test_b3_an_outdated_check_is_made_again_by_the_next_job(
    app: Flask, chorus, chorus_admin
) -> None:
    contract = sendable_contract()
    run(app, [sendable_receipt(contract)])
    structure = recipients.cached(SIRET_PAID)
    structure.refreshed_at = utcnow() - timedelta(hours=25)  # default freshness: 24 h
    db.session.commit()
    reset_calls(chorus)

    run(app, [sendable_receipt(contract)])

    assert lookup_calls(chorus) == dict.fromkeys(LOOKUPS, 1)


def test_b3_a_freshness_of_zero_checks_at_every_job(app: Flask, chorus, chorus_admin) -> None:
    store.put(keys.RECIPIENT_FRESHNESS_HOURS, "0")
    db.session.commit()
    contract = sendable_contract()
    run(app, [sendable_receipt(contract)])
    reset_calls(chorus)

    run(app, [sendable_receipt(contract), sendable_receipt(contract)])

    assert lookup_calls(chorus) == dict.fromkeys(LOOKUPS, 1)


def test_b3_a_service_requiring_an_engagement_is_consulted_at_send_time_and_blocks(
    app: Flask, chorus, chorus_admin
) -> None:
    # Cached from an earlier check of the FINANCES contract: TECHNIQUE is listed, unknown.
    with emulator_client(chorus) as client:
        recipients.refresh(SIRET_PAID, client, service_code="FINANCES")
    contract = sendable_contract(chorus_service_code="TECHNIQUE", chorus_engagement_number=None)
    reset_calls(chorus)

    job = run(app, [sendable_receipt(contract)])

    assert job.items[0].error_code == "B3_SERVICE_ENGAGEMENT_REQUIRED"
    assert lookup_calls(chorus)["structures/consulter/service"] == 1
    assert lookup_calls(chorus)["structures/rechercher"] == 0  # the structure was fresh
    assert chorus.state.stats_snapshot()["submissions"] == {}


def test_b3_a_failed_lookup_is_not_asked_again_by_the_same_job(
    app: Flask, chorus, chorus_admin, single_attempt
) -> None:
    contract = sendable_contract()
    receipts = [sendable_receipt(contract) for _ in range(4)]
    attempts = RetryPolicy().max_attempts
    chorus.state.faults.update(
        {
            "script": [
                {"kind": "error", "operation": "structures/rechercher", "times": 20, "status": 500}
            ]
        }
    )

    job = run(app, receipts)
    chorus.state.faults.reset()

    assert {item.state for item in job.items} == {ItemState.FAILED}
    assert {item.error_code for item in job.items} == {"INDISPONIBLE"}
    assert lookup_calls(chorus)["structures/rechercher"] == attempts  # one lookup, retried
    assert chorus.state.stats_snapshot()["submissions"] == {}
