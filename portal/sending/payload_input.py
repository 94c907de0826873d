"""A receipt or fee invoice read into the plain values of :mod:`portal.chorus.payload`.

The Chorus adapter knows nothing of the portal's models: here a document, its contract,
client and bank account, and the invoice a credit note refunds become one
:class:`~portal.chorus.payload.Invoice`; the main PDF is named after the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from portal.billing.models import Receipt
from portal.chorus.payload import (
    ZERO,
    AttachmentRef,
    BankAccountIds,
    Invoice,
    SupplierAccount,
    build_submission,
    chorus_file_name,
)
from portal.db_types import to_money
from portal.dematerialization.documents import Document
from portal.portfolio.models import BankAccount, Contract


def submission_for(
    document: Document,
    *,
    settings: SupplierAccount,
    invoice_date: date,
    main_attachment: AttachmentRef,
    secondary_attachments: Sequence[AttachmentRef] = (),
) -> dict[str, Any]:
    """The ``soumettre`` body for ``document`` (``invoice_date``: day of sending, S15)."""
    return build_submission(
        invoice_of(document),
        settings=settings,
        invoice_date=invoice_date,
        main_attachment=main_attachment,
        secondary_attachments=secondary_attachments,
    )


def invoice_of(document: Document) -> Invoice:
    """What Chorus is told about ``document``: a receipt is exempt from VAT (HT = TTC)."""
    contract: Contract | None
    if isinstance(document, Receipt):
        client, contract = document.contract.client, document.contract
        total = to_money(document.total)
        ht, tva = total, ZERO
    else:
        contract, client = document.contract, document.client
        ht, tva = to_money(document.amount_ht), to_money(document.vat_amount)
        total = to_money(document.total)
    origin = origin_of(document)
    return Invoice(
        number=document.number,
        amount_ht=ht,
        vat_amount=tva,
        total=total,
        recipient_name=client.name,
        recipient_siret=client.siret,
        service_code=contract.chorus_service_code if contract is not None else None,
        engagement_number=contract.chorus_engagement_number if contract is not None else None,
        market_number=contract.chorus_market_number if contract is not None else None,
        origin_number=origin.number if origin is not None else None,
        bank_account=_bank_ids(contract.bank_account if contract is not None else None),
    )


def _bank_ids(account: BankAccount | None) -> BankAccountIds | None:
    if account is None:
        return None
    return BankAccountIds(account.chorus_supplier_service_id, account.chorus_bank_details_id)


def origin_of(document: Document) -> Document | None:
    """The document a credit note refunds, or the copy that replaced it (re-issue).

    Call it while ``document`` is attached to its session to load that chain.
    """
    origin: Document | None = (
        document.original_receipt
        if isinstance(document, Receipt)
        else document.original_fee_invoice
    )
    seen: set[int] = set()
    while origin is not None and origin.replaced_by is not None and origin.id not in seen:
        seen.add(origin.id)
        origin = origin.replaced_by
    return origin


# -- attachment names ---------------------------------------------------------------------------


def main_attachment_designation(document: Document) -> str:
    """How the main PDF is described to the recipient."""
    if isinstance(document, Receipt):
        return f"Avis d'échéance {document.number}"
    return f"Facture d'honoraires {document.number}"


def main_attachment_file_name(document: Document) -> str:
    """File name of the main PDF as stored in Chorus Pro."""
    prefix = "Avis_echeance" if isinstance(document, Receipt) else "Facture_honoraires"
    return chorus_file_name(f"{prefix}_{document.number}.pdf")
