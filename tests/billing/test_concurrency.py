"""Two allocations to the same document at the same time cannot over-settle it (PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.billing import services
from portal.billing.models import Payment, Receipt
from portal.extensions import db
from portal.validators import ValidationFailed
from tests import factories
from tests.concurrency import while_this_session_holds_its_locks
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="row locks need PostgreSQL")


def test_a_concurrent_allocation_waits_for_the_lock_and_sees_the_new_remaining(app):
    receipt = factories.make_receipt()  # 1 090,00
    client = receipt.contract.client
    first = factories.make_payment(client=client, amount=Decimal("1000"))
    second = factories.make_payment(client=client, amount=Decimal("1000"))
    db.session.commit()
    receipt_id, second_id = receipt.id, second.id

    def other_user() -> object:
        part = services.Part(db.session.get(Receipt, receipt_id), Decimal("1000"))
        return services.allocate(db.session.get(Payment, second_id), [part])

    services.allocate(first, [services.Part(receipt, Decimal("1000"))])  # holds the row lock
    refused = while_this_session_holds_its_locks(app, other_user, "the second allocation")

    assert isinstance(refused, ValidationFailed), refused
    assert "dépasse le reste à solder" in refused.errors["allocation_amount"]
    db.session.refresh(receipt)
    assert receipt.allocated_amount == Decimal("1000.00")
