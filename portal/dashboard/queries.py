"""What the home page counts."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.billing.models import FeeInvoice, Receipt
from portal.extensions import db
from portal.portfolio.models import Client, Contract


def counts() -> dict[str, int]:
    """Clients, contracts, receipts and fee invoices in the portal."""
    models = {
        "clients": Client,
        "contracts": Contract,
        "receipts": Receipt,
        "fee_invoices": FeeInvoice,
    }
    return {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in models.items()
    }
