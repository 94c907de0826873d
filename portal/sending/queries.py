"""The rules of ``rules.py`` as SQL, for lists, mass sends and the daily run.

Every blocking reason code of ``rules.py`` has a boolean SQL expression here that is true
exactly when the Python rule reports it (``tests/sending/test_agreement.py``
checks it on SQLite and PostgreSQL). The expressions refer to the plain mapped classes
``Contract``, ``Client``, ``RecipientStructure`` and ``RecipientService``: use them inside
``eligibility_joins()`` / ``eligibility_select()``, which join those tables.

NULL semantics are spelled out everywhere: an outer-joined row that is absent makes every
column NULL, and ``NULL = x`` is neither true nor false. So the conditions only use
``IS`` / ``IS NOT`` comparisons and ``coalesce``; no condition ever evaluates to NULL.

Performance (PostgreSQL, 200,000 receipts, 20,000 fee invoices, 10,000 contracts): a list
page of 50 with every eligibility column takes about 1 ms (``ix_receipts_entered_on`` for the
order, primary keys, ``uq`` on ``recipient_structures.siret`` and on
``recipient_services (structure_id, code)`` for the joins); counting the eligible receipts
about 20-40 ms; the daily selection (``portal.daily.queries``) 50-120 ms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import join, joinedload
from sqlalchemy.sql.elements import KeyedColumnElement

from portal.billing.models import FeeInvoice, Receipt
from portal.chorus.limits import NUMBER_PATTERN
from portal.dematerialization.documents import Document
from portal.dematerialization.models import (
    PUBLIC_TO_PUBLIC_SERVICE,
    DocumentType,
    RecipientService,
    RecipientStructure,
)
from portal.extensions import db
from portal.models_base import ChorusState
from portal.portfolio.models import Client, ClientDocument, ClientKind, Contract
from portal.sending import rules
from portal.sending.rules import Eligibility

DocumentModel = type[Receipt] | type[FeeInvoice]

ELIGIBLE = "eligible"
NOT_CHECKED = "B3_NOT_CHECKED"
SERVICE_NOT_CHECKED = "B3_SERVICE_NOT_CHECKED"


# -- building blocks ----------------------------------------------------------------------------


def _clean(column: Any) -> ColumnElement[str]:
    """SQL twin of ``rules.clean``: NULL and blanks become ''."""
    return func.trim(func.coalesce(column, ""))


def _blank(column: Any) -> ColumnElement[bool]:
    return _clean(column) == ""


def _present(column: Any) -> ColumnElement[bool]:
    return _clean(column) != ""


def _is_receipt(model: DocumentModel) -> bool:
    return model is Receipt


def eligibility_joins(model: DocumentModel) -> Any:
    """``model`` joined with everything the eligibility conditions read.

    Receipt → contract → client (inner joins: both are mandatory); fee invoice → client, and
    an outer join to its optional contract. Then outer joins to the cached structure of the
    client's SIRET (unique) and to that structure's service with the contract's service code
    (unique per structure): at most one row per document.
    """
    if _is_receipt(model):
        joined = join(Receipt, Contract, Receipt.contract_id == Contract.id).join(
            Client, Contract.client_id == Client.id
        )
    else:
        # The fee invoice's own client, not its contract's (they should be the same).
        joined = join(FeeInvoice, Client, FeeInvoice.client_id == Client.id).outerjoin(
            Contract, FeeInvoice.contract_id == Contract.id
        )
    return joined.outerjoin(RecipientStructure, RecipientStructure.siret == Client.siret).outerjoin(
        RecipientService,
        and_(
            RecipientService.structure_id == RecipientStructure.id,
            RecipientService.code == _clean(Contract.chorus_service_code),
        ),
    )


def reason_conditions(
    model: DocumentModel, *, chorus_enabled: bool, has_vat_exemption_code: bool
) -> dict[str, ColumnElement[bool]]:
    """Blocking reason code → SQL condition true when that reason applies to the row.

    Only the codes that can apply to ``model`` are returned (``rules.RECEIPT_CODES`` /
    ``rules.FEE_INVOICE_CODES``). Use inside ``eligibility_joins(model)``.
    """
    has_contract = Contract.id.is_not(None)
    contract_enabled = Contract.is_chorus_enabled.is_(True)
    service_code = _clean(Contract.chorus_service_code)
    no_service_code = and_(has_contract, _blank(Contract.chorus_service_code))
    no_engagement = and_(has_contract, _blank(Contract.chorus_engagement_number))

    checked = and_(RecipientStructure.id.is_not(None), RecipientStructure.refreshed_at.is_not(None))
    found = and_(checked, RecipientStructure.is_found.is_(True))
    service_found = RecipientService.id.is_not(None)

    conditions: dict[str, ColumnElement[bool]] = {
        "S1_DISABLED": false() if chorus_enabled else true(),
        "S2_NO_VAT_EXEMPTION_CODE": false()
        if has_vat_exemption_code
        else vat_exempt_condition(model),
        "S9_NO_CONTRACT": Contract.id.is_(None),
        "S9_CONTRACT_NOT_CHORUS": and_(has_contract, not_(contract_enabled)),
        "S9_CLIENT_NOT_COMPANY": func.coalesce(Client.kind, "") != ClientKind.ENTREPRISE,
        "S9_NO_SIRET": _blank(Client.siret),
        "S9_NO_SERVICE_CODE": no_service_code,
        "S9_NO_DUE_NOTICE": _blank(model.pdf_stored_name),
        "S9_NO_INVOICE_PDF": _blank(model.pdf_stored_name),
        "S9_IN_PROGRESS": model.chorus_state == ChorusState.IN_PROGRESS,
        "S9_ALREADY_SENT": model.chorus_state == ChorusState.SENT,
        "S9_CORRUPTED": model.is_corrupted.is_(True),
        # PostgreSQL's ``~``; on SQLite, SQLAlchemy's REGEXP runs Python's ``re`` (the
        # pattern means the same to both). ``number`` is never NULL.
        "S9_NUMBER_INVALID": not_(model.number.regexp_match(NUMBER_PATTERN)),
        "B3_STRUCTURE_NOT_FOUND": and_(checked, RecipientStructure.is_found.is_not(True)),
        "B3_STRUCTURE_INACTIVE": and_(found, RecipientStructure.is_active.is_not(True)),
        "B3_SERVICE_UNKNOWN": and_(
            found, has_contract, _present(Contract.chorus_service_code), not_(service_found)
        ),
        "B3_SERVICE_INACTIVE": and_(
            found, has_contract, service_found, RecipientService.is_active.is_not(True)
        ),
        "B3_SERVICE_PUBLIC_TO_PUBLIC": and_(
            found, has_contract, service_code == PUBLIC_TO_PUBLIC_SERVICE
        ),
        "B3_SERVICE_CODE_REQUIRED": and_(
            found, no_service_code, RecipientStructure.service_code_required.is_(True)
        ),
        "B3_ENGAGEMENT_REQUIRED": and_(
            found, no_engagement, RecipientStructure.engagement_required.is_(True)
        ),
        "B3_SERVICE_ENGAGEMENT_REQUIRED": and_(
            found, no_engagement, service_found, RecipientService.engagement_required.is_(True)
        ),
        "B3_ENGAGEMENT_OR_SERVICE_REQUIRED": and_(
            found,
            no_engagement,
            no_service_code,
            RecipientStructure.engagement_or_service.is_(True),
        ),
    }
    codes = rules.RECEIPT_CODES if _is_receipt(model) else rules.FEE_INVOICE_CODES
    return {code: conditions[code] for code in codes}


def vat_exempt_condition(model: DocumentModel) -> ColumnElement[bool]:
    """SQL twin of ``rules.is_vat_exempt``: every receipt, a fee invoice without VAT."""
    if _is_receipt(model):
        return true()
    return func.coalesce(FeeInvoice.vat_amount, 0) == 0


def not_checked_condition() -> ColumnElement[bool]:
    """The non-blocking ``B3_NOT_CHECKED``: a SIRET whose structure was never refreshed."""
    return and_(
        _present(Client.siret),
        or_(RecipientStructure.id.is_(None), RecipientStructure.refreshed_at.is_(None)),
    )


def service_not_checked_condition() -> ColumnElement[bool]:
    """The non-blocking ``B3_SERVICE_NOT_CHECKED``: the contract's service (active, not the
    public-to-public one) was never consulted, and the contract has no engagement number."""
    return and_(
        RecipientStructure.refreshed_at.is_not(None),
        RecipientStructure.is_found.is_(True),
        Contract.id.is_not(None),
        _blank(Contract.chorus_engagement_number),
        RecipientService.id.is_not(None),
        RecipientService.is_active.is_(True),
        RecipientService.code != PUBLIC_TO_PUBLIC_SERVICE,
        RecipientService.engagement_required.is_(None),
    )


def note_conditions() -> dict[str, ColumnElement[bool]]:
    """Non-blocking code (``rules.NOTE_CODES``) → SQL condition (inside the joins)."""
    conditions = {
        NOT_CHECKED: not_checked_condition(),
        SERVICE_NOT_CHECKED: service_not_checked_condition(),
    }
    return {code: conditions[code] for code in rules.NOTE_CODES}


def eligible_condition(
    model: DocumentModel, *, chorus_enabled: bool, has_vat_exemption_code: bool
) -> ColumnElement[bool]:
    """True when no blocking reason applies (use inside ``eligibility_joins(model)``)."""
    conditions = reason_conditions(
        model, chorus_enabled=chorus_enabled, has_vat_exemption_code=has_vat_exemption_code
    )
    return not_(or_(*conditions.values()))


def reason_columns(
    model: DocumentModel,
    *,
    chorus_enabled: bool,
    has_vat_exemption_code: bool,
    all_codes: bool = False,
) -> list[KeyedColumnElement[Any]]:
    """One labelled boolean column per reason code, then the non-blocking ones and ``eligible``.

    With ``all_codes`` every blocking code gets a column (FALSE where it cannot apply), so
    selects on both models can be combined with UNION.
    """
    conditions = reason_conditions(
        model, chorus_enabled=chorus_enabled, has_vat_exemption_code=has_vat_exemption_code
    )
    codes = rules.BLOCKING_CODES if all_codes else tuple(conditions)
    flags = {code: conditions.get(code, false()) for code in codes}
    flags.update(note_conditions())
    flags[ELIGIBLE] = not_(or_(*conditions.values()))
    # type_coerce: SQLite answers 0/1; the Boolean type turns them into bools on every row.
    return [type_coerce(flag, Boolean).label(name) for name, flag in flags.items()]


def eligibility_select(
    model: DocumentModel,
    *,
    chorus_enabled: bool,
    has_vat_exemption_code: bool,
    columns: Sequence[Any] = (),
) -> Select[Any]:
    """``SELECT id, *columns, <one boolean per reason code>, eligible`` over ``model``.

    Callers add their own filters, order and pagination; the extra ``columns`` may be the
    model itself (``columns=[Receipt]``). Read a row's verdict with ``eligibility_from_row``.
    """
    return select(
        model.id.label("id"),
        *columns,
        *reason_columns(
            model, chorus_enabled=chorus_enabled, has_vat_exemption_code=has_vat_exemption_code
        ),
    ).select_from(eligibility_joins(model))


def eligibility_from_row(row: Any) -> Eligibility:
    """The ``Eligibility`` (with French messages) of a row of ``eligibility_select``."""
    mapping: Mapping[str, Any] = row._mapping
    codes = {code for code in (*rules.BLOCKING_CODES, *rules.NOTE_CODES) if mapping.get(code)}
    return rules.reasons_for(codes)


# -- single documents ---------------------------------------------------------------------------


def recipient_for(document: Document) -> RecipientStructure | None:
    """The cached recipient structure of the document's client SIRET, if any (B3)."""
    siret = document.client.siret
    if not siret:
        return None
    return db.session.scalar(select(RecipientStructure).where(RecipientStructure.siret == siret))


def recipients_of(candidates: Sequence[Document]) -> dict[str, RecipientStructure]:
    """The cached recipient structures of the documents' client SIRETs, by SIRET (B3)."""
    sirets = {d.client.siret for d in candidates if d.client.siret}
    if not sirets:
        return {}
    rows = db.session.scalars(
        select(RecipientStructure).where(RecipientStructure.siret.in_(sirets))
    )
    return {row.siret: row for row in rows}


def document_eligibility(
    document: Document, *, chorus_enabled: bool, has_vat_exemption_code: bool
) -> Eligibility:
    """``rules.eligibility`` with the cached recipient structure loaded (one document)."""
    return rules.eligibility(
        document,
        chorus_enabled=chorus_enabled,
        has_vat_exemption_code=has_vat_exemption_code,
        recipient=recipient_for(document),
    )


# -- the send job (one document at a time) ------------------------------------------------------


# Built once: it runs for every document sent, and building it each time (its loader options
# above all) cost 0.25 ms of CPU per document, about 7 % of the send's own CPU (bench/send.py).
_receipt_contract = joinedload(Receipt.contract)
_fee_invoice_contract = joinedload(FeeInvoice.contract)
_DOCUMENT_TO_SEND = {
    DocumentType.RECEIPT: select(Receipt)
    .where(Receipt.id == bindparam("document"))
    .options(
        _receipt_contract.joinedload(Contract.client),
        _receipt_contract.joinedload(Contract.bank_account),
        _receipt_contract.joinedload(Contract.company),
        joinedload(Receipt.original_receipt).joinedload(Receipt.replaced_by),
    ),
    DocumentType.FEE_INVOICE: select(FeeInvoice)
    .where(FeeInvoice.id == bindparam("document"))
    .options(
        joinedload(FeeInvoice.client),
        joinedload(FeeInvoice.company),
        _fee_invoice_contract.joinedload(Contract.bank_account),
        _fee_invoice_contract.joinedload(Contract.company),
        joinedload(FeeInvoice.original_fee_invoice).joinedload(FeeInvoice.replaced_by),
    ),
}


def document_to_send(document_type: DocumentType, document_id: int) -> Document | None:
    """The document with everything the rules and the payload read, in one query."""
    statement = _DOCUMENT_TO_SEND[document_type]
    return cast(Document | None, db.session.scalar(statement, {"document": document_id}))


def secondary_documents(document: Document, wanted: Sequence[int]) -> list[ClientDocument]:
    """The GED documents chosen for the send, in the order chosen (the client's only)."""
    if not wanted:
        return []
    rows = db.session.scalars(
        select(ClientDocument).where(
            ClientDocument.id.in_(wanted), ClientDocument.client_id == document.client.id
        )
    )
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in wanted if i in by_id]
