"""Two allocations to the same document at the same time cannot over-settle it (PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from portal.billing import services
from portal.billing.models import Payment, Receipt
from portal.extensions import db
from portal.validators import ValidationFailed
from tests import factories
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")


def test_a_concurrent_allocation_waits_for_the_lock_and_sees_the_new_remaining(app):
    receipt = factories.make_receipt()  # 1 090,00
    client = receipt.contract.client
    first = factories.make_payment(client=client, amount=Decimal("1000"))
    second = factories.make_payment(client=client, amount=Decimal("1000"))
    db.session.commit()
    receipt_id, second_id = receipt.id, second.id
    outcome: dict[str, object] = {}
    started = threading.Event()

    def other_user() -> None:
        with app.app_context():
            try:
                started.set()
                services.allocate(
                    db.session.get(Payment, second_id),
                    [services.Part(db.session.get(Receipt, receipt_id), Decimal("1000"))],
                )
                db.session.commit()
                outcome["result"] = "allocated"
            except ValidationFailed as error:
                db.session.rollback()
                outcome["result"] = error.errors["allocation_amount"]
            finally:
                db.session.remove()

    services.allocate(first, [services.Part(receipt, Decimal("1000"))])  # holds the row lock
    thread = threading.Thread(target=other_user)
    thread.start()
    started.wait(5)
    thread.join(0.5)
    assert thread.is_alive(), "the second allocation should wait for the first transaction"
    db.session.commit()
    thread.join(10)

    assert "dépasse le reste à solder" in str(outcome["result"])
    db.session.refresh(receipt)
    assert receipt.allocated_amount == Decimal("1000.00")
