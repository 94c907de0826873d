"""B2 on PostgreSQL: a manual settlement and the automatic one racing for the same receipt
settle it once (the second waits on the row lock, then sees it settled)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.billing import settlement
from portal.billing.models import Payment, Receipt
from portal.extensions import db
from portal.validators import ValidationFailed
from tests import factories
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")


def test_b2_a_receipt_racing_between_manual_and_automatic_settlement_is_settled_once(app):
    receipt = factories.make_receipt(
        chorus_state="sent", chorus_invoice_id=31, chorus_status="MISE_EN_PAIEMENT"
    )
    db.session.commit()
    receipt_id = receipt.id
    outcome: dict[str, object] = {}
    started = threading.Event()

    def automatic() -> None:
        with app.app_context():
            try:
                started.set()
                document = db.session.get(Receipt, receipt_id)
                outcome["payment"] = settlement.settle_automatically(document, status_at=None)
                db.session.commit()
            finally:
                db.session.remove()

    settlement.settle([receipt], received_on=date(2026, 3, 5), user=None)  # holds the lock
    thread = threading.Thread(target=automatic)
    thread.start()
    started.wait(5)
    thread.join(0.5)
    assert thread.is_alive(), "the automatic settlement should wait for the manual one"
    db.session.commit()
    thread.join(10)

    assert outcome["payment"] is None
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    db.session.refresh(receipt)
    assert receipt.allocated_amount == receipt.total
    with pytest.raises(ValidationFailed, match="déjà soldée"):
        settlement.settle([receipt], received_on=date(2026, 3, 5), user=None)
