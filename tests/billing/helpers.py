"""Helpers for billing view tests: the forms as a browser posts them, posting with the CSRF
token, reading a page as the user does, counting SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event

from portal.dematerialization.models import DocumentType
from portal.extensions import db
from tests import factories


def token(client: FlaskClient, url: str = "/quittances") -> str:
    return factories.csrf_token_from(client.get(url).get_data(as_text=True))


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST with a valid CSRF token (taken from a page's ``hx-headers``)."""
    payload = {"csrf_token": token(client), **(data or {})}
    return client.post(url, data=payload, **kw)


def page_text(response: Any) -> str:
    """The page as the user reads it (HTML entities decoded)."""
    return unescape(response.get_data(as_text=True))


# -- the forms ------------------------------------------------------------------------------------


def receipt_form(contract_number: str, **overrides: str) -> dict[str, str]:
    data = {
        "number": "Q2026-100",
        "contract_number": contract_number,
        "period_start_on": "2026-01-01",
        "period_end_on": "2026-12-31",
        "entered_on": "2025-12-01",
        "net_premium": "1 000,00",
        "taxes": "90",
        "total": "1 090,00",
    }
    data.update(overrides)
    return data


def invoice_form(client_id: int, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "number": "FH-2026-1",
        "client_id": str(client_id),
        "contract_number": "",
        "company_id": "",
        "label": "Honoraires de courtage 2026",
        "entered_on": "2026-01-15",
        "amount_ht": "1 000,05",
        "vat_rate": "20",
    }
    data.update(overrides)
    return data


def entry_form(document: Any, **overrides: str) -> dict[str, str]:
    data = {
        "document_kind": DocumentType.of(document).value,
        "document_id": str(document.id),
        "received_on": "2026-01-20",
        "amount": "1 090,00",
        "method": "cheque",
        "reference": "CHQ 123",
        "allocation_amount": "1 090,00",
    }
    data.update(overrides)
    return data


# -- posting the forms -----------------------------------------------------------------------------


def post_receipt(
    client: FlaskClient, contract_number: str, url: str = "/quittances/nouvelle", **fields: str
) -> Any:
    """POST the receipt form (new receipt unless ``url`` says which to edit)."""
    return post(client, url, receipt_form(contract_number, **fields))


def post_fee_invoice(
    client: FlaskClient, client_id: int, url: str = "/factures/nouvelle", **fields: Any
) -> Any:
    """POST the fee-invoice form (new fee invoice unless ``url`` says which to edit)."""
    return post(client, url, invoice_form(client_id, **fields))


def edit_receipt(client: FlaskClient, receipt: Any, **fields: str) -> Any:
    """POST the edit form of ``receipt`` (its contract unless ``fields`` say otherwise)."""
    url = f"/quittances/{receipt.id}/modifier"
    return post_receipt(client, receipt.contract.number, url, **fields)


def edit_fee_invoice(client: FlaskClient, invoice: Any, **fields: Any) -> Any:
    """POST the edit form of ``invoice`` (its client unless ``fields`` say otherwise)."""
    return post_fee_invoice(client, invoice.client_id, f"/factures/{invoice.id}/modifier", **fields)


def post_payment_entry(client: FlaskClient, document: Any, **fields: str) -> Any:
    """POST the payment-entry form: a payment allocated to ``document``."""
    return post(client, "/encaissements/saisie", entry_form(document, **fields))


def post_allocation(client: FlaskClient, payment: Any, *parts: tuple[Any, str]) -> Any:
    """POST « Affecter » of ``payment``'s remainder: a (document, amount typed) per part."""
    data = {
        f"part-{DocumentType.of(document).value}-{document.id}": amount
        for document, amount in parts
    }
    return post(client, f"/encaissements/{payment.id}/affecter", data)


def new_receipt(client: FlaskClient, **fields: str) -> Any:
    """POST the new-receipt form for a fresh contract; ``fields`` override the defaults."""
    contract = factories.make_contract()
    db.session.commit()
    return post_receipt(client, contract.number, **fields)


def new_fee_invoice(client: FlaskClient, **fields: str) -> Any:
    """POST the new-fee-invoice form for a fresh client and issuing company."""
    customer = factories.make_client()
    company = factories.make_company()
    db.session.commit()
    return post_fee_invoice(client, customer.id, company_id=str(company.id), **fields)


def new_payment(client: FlaskClient, **fields: str) -> Any:
    """POST the payment-entry form for a fresh receipt of 1 090,00 €."""
    receipt = factories.make_receipt()
    db.session.commit()
    return post_payment_entry(client, receipt, **fields)


def count(model: type) -> int:
    """How many rows of ``model`` are stored."""
    return db.session.query(model).count()


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """SQL statements executed by the engine inside the block."""
    statements: list[str] = []
    engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
