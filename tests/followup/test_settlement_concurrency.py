"""B2 on PostgreSQL: a manual settlement and the automatic one racing for the same receipt
settle it once (the second waits on the row lock, then sees it settled)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.billing import settlement
from portal.billing.models import Payment, Receipt
from portal.extensions import db
from portal.validators import ValidationFailed
from tests import factories
from tests.concurrency import while_this_session_holds_its_locks
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")


def test_b2_a_receipt_racing_between_manual_and_automatic_settlement_is_settled_once(app):
    receipt = factories.make_receipt(
        chorus_state="sent", chorus_invoice_id=31, chorus_status="MISE_EN_PAIEMENT"
    )
    db.session.commit()
    receipt_id = receipt.id

    def automatic() -> object:
        document = db.session.get(Receipt, receipt_id)
        return settlement.settle_automatically(document, status_at=None)

    settlement.settle([receipt], received_on=date(2026, 3, 5), user=None)  # holds the lock
    payment = while_this_session_holds_its_locks(app, automatic, "the automatic settlement")

    assert payment is None
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    db.session.refresh(receipt)
    assert receipt.allocated_amount == receipt.total
    with pytest.raises(ValidationFailed, match="déjà soldée"):
        settlement.settle([receipt], received_on=date(2026, 3, 5), user=None)
