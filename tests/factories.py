"""Factory helpers with readable defaults: ``make_receipt(term="arrears")``.

Each helper adds and flushes; tests commit when they need a committed state.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from portal.auth.models import User
from portal.billing.models import FeeInvoice, Payment, Receipt
from portal.clock import utcnow
from portal.dematerialization.models import RecipientService, RecipientStructure
from portal.extensions import db
from portal.jobs.models import Job, JobItem
from portal.portfolio.models import BankAccount, Client, Company, Contract

_seq = itertools.count(1)
_Model = TypeVar("_Model")

# Valid SIRETs (Luhn) of real public bodies, used by the emulator's default directory too.
VALID_SIRET = "21750001600019"  # Ville de Paris
OTHER_VALID_SIRET = "11000201100044"


def _saved(model: type[_Model], defaults: dict[str, Any], overrides: dict[str, Any]) -> _Model:
    """A ``model`` row from ``defaults`` and the caller's ``overrides``, added and flushed."""
    row = model(**{**defaults, **overrides})
    db.session.add(row)
    db.session.flush()
    return row


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    if match is None:
        match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def make_user(
    username: str | None = None,
    *,
    role: str = "gestionnaire",
    password: str = "motdepasse-test",
    **kw: Any,
) -> User:
    user = User(username=username or f"user{next(_seq)}", role=role, **kw)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_company(**kw: Any) -> Company:
    values: dict[str, Any] = {
        "name": f"Cabinet {next(_seq)}",
        "address": "1 rue de la Paix, 75002 Paris",
    }
    return _saved(Company, values, kw)


def make_bank_account(company: Company | None = None, **kw: Any) -> BankAccount:
    values: dict[str, Any] = {
        "company": company or make_company(),
        "label": "Compte principal",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "chorus_supplier_service_id": 1001,
        "chorus_bank_details_id": 2001,
    }
    return _saved(BankAccount, values, kw)


def make_client(**kw: Any) -> Client:
    values: dict[str, Any] = {
        "kind": "entreprise",
        "name": f"Commune {next(_seq)}",
        "address": "Place de la Mairie",
        "postal_code": "75001",
        "city": "Paris",
        "email": "compta@example.fr",
        "siret": VALID_SIRET,
    }
    return _saved(Client, values, kw)


def make_contract(**kw: Any) -> Contract:
    company = kw.pop("company", None) or make_company()
    values: dict[str, Any] = {
        "number": f"CT-{next(_seq):06d}",
        "client": kw.pop("client", None) or make_client(),
        "company": company,
        "bank_account": kw.pop("bank_account", None) or make_bank_account(company),
        "product": "Multirisque collectivités",
        "insurer": "SMACL Assurances",
        "starts_on": date(2025, 1, 1),
        "term": "advance",
        "is_chorus_enabled": True,
        "chorus_service_code": "SERVICE-FIN",
    }
    return _saved(Contract, values, kw)


def make_receipt(**kw: Any) -> Receipt:
    values: dict[str, Any] = {
        "number": f"Q{next(_seq):07d}",
        "contract": kw.pop("contract", None) or make_contract(**kw.pop("contract_kw", {})),
        "period_start_on": date(2026, 1, 1),
        "period_end_on": date(2026, 12, 31),
        "entered_on": date(2025, 12, 1),
        "net_premium": Decimal("1000.00"),
        "taxes": Decimal("90.00"),
        "total": Decimal("1090.00"),
    }
    return _saved(Receipt, values, kw)


def make_fee_invoice(**kw: Any) -> FeeInvoice:
    client = kw.pop("client", None) or make_client()
    values: dict[str, Any] = {
        "number": f"FH{next(_seq):06d}",
        "client": client,
        "entered_on": date(2026, 1, 15),
        "amount_ht": Decimal("500.00"),
        "vat_rate": Decimal("20.00"),
        "vat_amount": Decimal("100.00"),
        "total": Decimal("600.00"),
    }
    return _saved(FeeInvoice, values, kw)


def make_refund_receipt(net_premium: str = "-100", taxes: str = "-9", **kw: Any) -> Receipt:
    """A refund receipt (B10): negative amounts, the total their sum."""
    net, tax = Decimal(net_premium), Decimal(taxes)
    return make_receipt(net_premium=net, taxes=tax, total=net + tax, **kw)


def make_credit_note(amount_ht: str = "-500", **kw: Any) -> FeeInvoice:
    """A fee-invoice credit note (B10): a negative HT amount with 20 % VAT."""
    ht = Decimal(amount_ht)
    vat = (ht / 5).quantize(Decimal("0.01"))
    return make_fee_invoice(amount_ht=ht, vat_amount=vat, total=ht + vat, **kw)


def make_recipient(
    siret: str = VALID_SIRET,
    *,
    services: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> RecipientStructure:
    """A cached Chorus recipient structure (B3), found, active and refreshed by default.

    ``services`` are dicts of ``RecipientService`` fields; default: the public-to-public
    service plus an active ``SERVICE-FIN`` (the service code of ``make_contract``). Services
    are consulted (no engagement number required) unless ``engagement_required`` says
    otherwise (``None``: never consulted).
    """
    if services is None:
        services = [
            {"code": "FACTURES_PUBLIQUES", "label": "Factures publiques"},
            {"code": "SERVICE-FIN", "label": "Direction des finances"},
        ]
    values: dict[str, Any] = {
        "siret": siret,
        "is_found": True,
        "chorus_structure_id": 26000000 + next(_seq),
        "designation": "Commune de test",
        "is_active": True,
        "refreshed_at": utcnow(),
    }
    values.update(kw)
    structure = RecipientStructure(**values)
    structure.services = [
        RecipientService(**{"engagement_required": False, **service}) for service in services
    ]
    db.session.add(structure)
    db.session.flush()
    return structure


def make_payment(**kw: Any) -> Payment:
    """An encaissement of 1 090,00 € by virement (pass ``client=`` to match a document)."""
    values: dict[str, Any] = {
        "client": kw.pop("client", None) or make_client(),
        "received_on": date(2026, 1, 20),
        "amount": Decimal("1090.00"),
        "method": "virement",
        "reference": f"VIR-{next(_seq)}",
    }
    return _saved(Payment, values, kw)


def make_job(kind: str, numbers: list[str], **kw: Any) -> int:
    """A committed job of ``kind`` with one receipt item per document number; its id."""
    job = Job(kind=kind, total=len(numbers), **kw)
    job.items = [
        JobItem(document_type="receipt", document_id=i, document_number=n)
        for i, n in enumerate(numbers)
    ]
    db.session.add(job)
    db.session.commit()
    return job.id
