"""Pytest fixtures running the Chorus Pro emulator on a local port, reusable by any test dir.

Use from another directory's ``conftest.py``::

    from tests.chorus.emulator_fixtures import chorus_emulator, chorus_emulator_server  # noqa: F401

``chorus_emulator`` gives a :class:`~portal.chorus.emulator.server.RunningEmulator` reset
before the test (no invoices, attachments, faults or statistics; simulated clock stopped,
tokens valid one hour, refusals as HTTP 200). ``emulator_settings`` and ``emulator_client``
aim the portal's settings or a client at it with the demo credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from portal.chorus.client import ChorusClient, RetryPolicy
from portal.chorus.emulator.operations import ATTACHMENT_TYPES, VAT_EXEMPTION_REASONS
from portal.chorus.emulator.server import EmulatorOptions, RunningEmulator, run_in_thread
from portal.chorus.emulator.state import DEFAULT_TOKEN_LIFETIME
from portal.chorus.tokens import TokenCache
from portal.settings.chorus import ChorusSettings, Environment

# Demo credentials and ids of the emulator's default directory (default_directory.json).
CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"
TECH_LOGIN = "TECH_1_80283822726464@cpro.fr"
TECH_PASSWORD = "demo-Chorus-2026!"
SUPPLIER_ID = 25000001
SUPPLIER_SERVICE_ID = 35000001
BANK_DETAILS_ID = 45000001
SIRET_PAID = "21588139298698"  # 26000100, no rule; TECHNIQUE needs an engagement number
STRUCTURE_PAID = 26000100
# A VAT exemption reason of the emulator's list (operations.VAT_EXEMPTION_REASONS).
VAT_EXEMPTION_CODE, VAT_EXEMPTION_LABEL = VAT_EXEMPTION_REASONS[0]
# A secondary attachment type of the emulator's list (operations.ATTACHMENT_TYPES).
ATTACHMENT_TYPE, ATTACHMENT_TYPE_LABEL = ATTACHMENT_TYPES[0]


@pytest.fixture(scope="session")
def chorus_emulator_server() -> Iterator[RunningEmulator]:
    """One emulator per test process (xdist worker), on a free local port."""
    emulator = run_in_thread(EmulatorOptions(speed=0))
    yield emulator
    emulator.stop()


@pytest.fixture
def chorus_emulator(chorus_emulator_server: RunningEmulator) -> RunningEmulator:
    """The session's emulator, reset for this test."""
    state = chorus_emulator_server.state
    state.reset()
    state.clock.set_speed(0)
    state.token_lifetime = DEFAULT_TOKEN_LIFETIME
    state.refusal_http_status = 200
    return chorus_emulator_server


def _aimed_at(emulator: RunningEmulator | str) -> dict[str, Any]:
    """The URLs of ``emulator`` (or of a base URL) and the demo credentials."""
    base_url = emulator if isinstance(emulator, str) else emulator.base_url
    return {
        "oauth_url": f"{base_url}/api/oauth/token",
        "api_url": base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "tech_login": TECH_LOGIN,
        "tech_password": TECH_PASSWORD,
    }


def emulator_settings(emulator: RunningEmulator | str, **overrides: Any) -> ChorusSettings:
    """Chorus settings aimed at ``emulator`` (or a base URL) with the demo credentials."""
    values: dict[str, Any] = {
        "enabled": True,
        "environment": Environment.EMULATOR,
        **_aimed_at(emulator),
        "supplier_id": SUPPLIER_ID,
        "user_id": None,
        "auto_send_enabled": False,
        "delay_receipts_days": 0,
        "delay_fee_invoices_days": 0,
        "cutoff_date": date(2020, 1, 1),
        "vat_exemption_code": VAT_EXEMPTION_CODE,
        "vat_exemption_label": VAT_EXEMPTION_LABEL,
        "default_attachment_type": ATTACHMENT_TYPE,
        "auto_settle": False,
        "overridden": frozenset(),
    }
    values.update(overrides)
    return ChorusSettings(**values)


def emulator_client(emulator: RunningEmulator | str, **overrides: Any) -> ChorusClient:
    """A client for ``emulator`` (or a base URL) with its own token cache, short timeouts and no
    real sleeps."""
    values: dict[str, Any] = {
        **_aimed_at(emulator),
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "token_cache": TokenCache(),
        "retry": RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
        "sleep": lambda _seconds: None,
    }
    values.update(overrides)
    return ChorusClient(**values)


def exempt_invoice(
    numero: str, attachment_id: int, *, amount: Decimal, supplier: dict[str, Any], **references: Any
) -> dict[str, Any]:
    """A soumettre body: an invoice exempt of VAT of ``amount`` to the service FINANCES of the
    rule-free structure 26000100, ``attachment_id`` as its main attachment."""
    return {
        "modeDepot": "DEPOT_PDF_API",
        "numeroFactureSaisi": numero,
        "dateFacture": "2026-03-02",
        "destinataire": {"codeDestinataire": SIRET_PAID, "codeServiceExecutant": "FINANCES"},
        "fournisseur": supplier,
        "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
        "references": {
            "deviseFacture": "EUR",
            "typeFacture": "FACTURE",
            "typeTva": "EXONERATION",
            "motifExonerationTva": "ASSURANCE_261C",
            **references,
        },
        "montantTotal": {
            "montantHtTotal": amount,
            "montantTVA": Decimal("0.00"),
            "montantTtcTotal": amount,
            "montantAPayer": amount,
        },
        "pieceJointePrincipale": [
            {"pieceJointePrincipaleDesignation": "Avis", "pieceJointePrincipaleId": attachment_id}
        ],
    }
