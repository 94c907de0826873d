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
about 20-40 ms; the daily selection 50-120 ms. For the latter PostgreSQL prefers one
sequential scan of ``receipts`` whatever the share of Chorus-enabled contracts (2 % or
15 %). SQLite walks the Chorus-enabled contracts instead, then
``ix_receipts_contract_chorus_entered`` / ``ix_fee_invoices_chorus_entered`` (not sent,
entered after the cut-off): about 150 ms instead of 350-600 ms with
``ix_receipts_contract_entered`` alone (``bench/daily.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import join
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
from portal.portfolio.models import Client, ClientKind, Contract, Term
from portal.sending import rules
from portal.sending.rules import Delays, Eligibility

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
        "S9_CLIENT_NOT_COMPANY": func.coalesce(Client.kind, "") != ClientKind.ENTREPRISE.value,
        "S9_NO_SIRET": _blank(Client.siret),
        "S9_NO_SERVICE_CODE": no_service_code,
        "S9_NO_DUE_NOTICE": _blank(model.pdf_stored_name),
        "S9_NO_INVOICE_PDF": _blank(model.pdf_stored_name),
        "S9_IN_PROGRESS": model.chorus_state == ChorusState.IN_PROGRESS.value,
        "S9_ALREADY_SENT": model.chorus_state == ChorusState.SENT.value,
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


def _reason_columns(
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
        *_reason_columns(
            model, chorus_enabled=chorus_enabled, has_vat_exemption_code=has_vat_exemption_code
        ),
    ).select_from(eligibility_joins(model))


def eligibility_from_row(row: Any) -> Eligibility:
    """The ``Eligibility`` (with French messages) of a row of ``eligibility_select``."""
    mapping: Mapping[str, Any] = row._mapping
    codes = {code for code in (*rules.BLOCKING_CODES, *rules.NOTE_CODES) if mapping.get(code)}
    return rules.reasons_for(codes)


# -- due documents for the automatic run (S3, S4, S14) ------------------------------------------


def effective_date_expression(model: DocumentModel) -> ColumnElement[date]:
    """SQL twin of ``rules.effective_date`` (needs ``Contract`` joined for receipts)."""
    if _is_receipt(model):
        return case(
            (Contract.term == Term.ARREARS.value, Receipt.period_end_on),
            else_=Receipt.period_start_on,
        )
    return FeeInvoice.entered_on.expression


def due_condition(
    model: DocumentModel, *, today: date, delays: Delays, cutoff: date
) -> ColumnElement[bool]:
    """SQL twin of ``rules.is_due`` (needs ``Contract`` joined).

    ``effective − delay <= today`` is written ``effective <= today + delay`` so the bound is
    a parameter and no date arithmetic happens in SQL (portable, and index-friendly).
    """
    delay = delays.receipts_days if _is_receipt(model) else delays.fee_invoices_days
    limit = today + timedelta(days=delay)
    return and_(
        model.chorus_state == ChorusState.NOT_SENT.value,
        Contract.is_chorus_enabled.is_(True),
        model.entered_on > cutoff,
        effective_date_expression(model) <= limit,
    )


def _due_select(
    model: DocumentModel,
    *,
    today: date,
    delays: Delays,
    cutoff: date,
    chorus_enabled: bool,
    has_vat_exemption_code: bool,
) -> Select[Any]:
    document_type = DocumentType.RECEIPT if _is_receipt(model) else DocumentType.FEE_INVOICE
    return (
        select(
            literal(document_type.value, String(20)).label("document_type"),
            model.id.label("document_id"),
            model.number.label("number"),
            model.entered_on.label("entered_on"),
            effective_date_expression(model).label("effective_on"),
            *_reason_columns(
                model,
                chorus_enabled=chorus_enabled,
                has_vat_exemption_code=has_vat_exemption_code,
                all_codes=True,
            ),
        )
        .select_from(eligibility_joins(model))
        .where(due_condition(model, today=today, delays=delays, cutoff=cutoff))
    )


def due_documents_select(
    *,
    today: date,
    delays: Delays,
    cutoff: date,
    chorus_enabled: bool = True,
    has_vat_exemption_code: bool,
) -> Select[Any]:
    """Receipts and fee invoices the automatic run picks tonight, with their eligibility.

    Rows: ``document_type``, ``document_id``, ``number``, ``entered_on``, ``effective_on``,
    one boolean per blocking reason code, the notes (``B3_NOT_CHECKED``…) and ``eligible``;
    ordered by effective date then type and id. Due but ineligible rows are the run's
    "skipped" (S14); the B6 preview reads the same select.
    """
    receipts, invoices = (
        _due_select(
            model,
            today=today,
            delays=delays,
            cutoff=cutoff,
            chorus_enabled=chorus_enabled,
            has_vat_exemption_code=has_vat_exemption_code,
        )
        for model in (Receipt, FeeInvoice)
    )
    combined = union_all(receipts, invoices).subquery("due_documents")
    return select(combined).order_by(
        combined.c.effective_on, combined.c.document_type, combined.c.document_id
    )


# -- single documents ---------------------------------------------------------------------------


def recipient_for(document: Document) -> RecipientStructure | None:
    """The cached recipient structure of the document's client SIRET, if any (B3)."""
    siret = document.client.siret
    if not siret:
        return None
    return db.session.scalar(select(RecipientStructure).where(RecipientStructure.siret == siret))


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
