"""Settlement help (B2): the À solder page, one-step settlement, automatic settlement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.billing import services, settlement
from portal.billing.models import Allocation, Payment
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from portal.validators import ValidationFailed
from tests import factories
from tests.billing.helpers import post
from tests.followup.conftest import (
    SIRET_PAID,
    advance,
    auto_settle,
    frozen,
    paris,
    receipt_for,
    send,
    sync,
)

URL = "/suivi-chorus/a-solder"


def paid(document, chorus_id: int = 1234):
    """Mark a document as sent and put in payment by its recipient."""
    document.chorus_state = "sent"
    document.chorus_invoice_id = chorus_id
    document.chorus_status = "MISE_EN_PAIEMENT"
    db.session.commit()
    return document


def payments() -> list[Payment]:
    return list(db.session.scalars(select(Payment).order_by(Payment.id)))


@pytest.fixture
def s1_on(app):
    store.put_bool(keys.CHORUS_ENABLED, True)
    db.session.commit()


def test_b2_the_list_shows_documents_put_in_payment_and_not_settled(as_lecteur, s1_on) -> None:
    receipt = paid(factories.make_receipt(number="Q-PAYEE"), 111)
    invoice = paid(factories.make_fee_invoice(number="F-PAYEE"), 222)
    settled = paid(factories.make_receipt(number="Q-SOLDEE"), 333)
    payment = factories.make_payment(client=settled.contract.client)
    services.allocate(payment, [services.Part(settled, settled.total)])
    pending = factories.make_receipt(number="Q-MANDATEE", chorus_status="MANDATEE")
    db.session.commit()

    html = as_lecteur.get(URL).get_data(as_text=True)

    assert receipt.number in html and invoice.number in html
    assert settled.number not in html and pending.number not in html
    assert "2 documents à solder pour 1\u202f690,00\u00a0€" in html
    assert 'name="documents"' not in html  # read-only users see, never tick
    summary = settlement.to_settle()
    assert summary.count == 2 and summary.remaining == Decimal("1690.00")


def test_b2_ticking_documents_settles_them_with_one_payment_per_client(
    as_gestionnaire, gestionnaire, s1_on
) -> None:
    first = paid(factories.make_receipt(), 111)
    client = first.contract.client
    second = paid(factories.make_fee_invoice(client=client), 222)
    other = paid(factories.make_receipt(), 333)
    part = factories.make_payment(client=other.contract.client, amount=Decimal("90"))
    services.allocate(part, [services.Part(other, Decimal("90"))])  # partly paid already
    db.session.commit()

    response = post(
        as_gestionnaire,
        URL,
        {
            "documents": [f"receipt:{first.id}", f"fee_invoice:{second.id}", f"receipt:{other.id}"],
            "received_on": "2026-03-05",
            "method": "virement",
        },
    )

    assert response.status_code == 303
    created = [p for p in payments() if p.id != part.id]
    assert [(p.client_id, p.amount) for p in created] == [
        (client.id, Decimal("1690.00")),
        (other.contract.client_id, Decimal("1000.00")),
    ]
    assert all(p.received_on == date(2026, 3, 5) and p.method == "virement" for p in created)
    assert created[0].reference == "Chorus Pro 111, 222"
    assert created[0].created_by_id == gestionnaire.id and not created[0].is_automatic
    for document in (first, second, other):
        db.session.refresh(document)
        assert document.is_settled
    assert settlement.to_settle().count == 0
    page = as_gestionnaire.get(URL).get_data(as_text=True)
    assert "3 document(s) soldé(s) : 2 encaissement(s) pour 2\u202f690,00\u00a0€." in page


def test_b2_a_refund_is_never_netted_with_an_invoice_of_the_same_client(app) -> None:
    receipt = paid(factories.make_receipt(), 1)
    refund = paid(
        factories.make_refund_receipt(
            contract=receipt.contract,
        ),
        2,
    )
    made = settlement.settle([receipt, refund], received_on=date(2026, 3, 5), user=None)
    db.session.commit()
    assert sorted(p.amount for p in made) == [Decimal("-109.00"), Decimal("1090.00")]
    assert receipt.is_settled and refund.is_settled


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"received_on": "2026-03-05"}, "Sélectionnez au moins un document à solder."),
        ({"received_on": ""}, "Saisissez une date d&#39;encaissement valide."),
    ],
)
def test_b2_nothing_ticked_or_no_date_is_refused(as_gestionnaire, s1_on, form, message) -> None:
    document = paid(factories.make_receipt())
    if "documents" not in form and form["received_on"] == "":
        form = {**form, "documents": [f"receipt:{document.id}"]}
    response = post(as_gestionnaire, URL, {"method": "virement", **form})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert payments() == []


def test_b2_a_document_settled_meanwhile_is_never_settled_twice(as_gestionnaire, s1_on) -> None:
    first = paid(factories.make_receipt(number="Q-A"))
    second = paid(factories.make_receipt(number="Q-B"))
    form = {
        "documents": [f"receipt:{first.id}", f"receipt:{second.id}"],
        "received_on": "2026-03-05",
        "method": "virement",
    }
    assert (
        post(as_gestionnaire, URL, {**form, "documents": [f"receipt:{first.id}"]}).status_code
        == 303
    )

    response = post(as_gestionnaire, URL, form)  # stale page: first is settled

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Quittance Q-A est déjà soldée. Rien n&#39;a été enregistré." in html
    assert len(payments()) == 1  # second untouched too: all or nothing
    db.session.refresh(second)
    assert not second.is_settled
    with pytest.raises(ValidationFailed, match="déjà soldée"):
        settlement.settle([first], received_on=date(2026, 3, 5), user=None)
    db.session.rollback()
    assert settlement.settle_automatically(first, status_at=None) is None


def test_b2_a_document_no_longer_in_payment_is_refused(app) -> None:
    document = factories.make_receipt(chorus_status="SUSPENDUE")
    with pytest.raises(ValidationFailed, match="n'est plus au statut « Mise en paiement »"):
        settlement.settle([document], received_on=date(2026, 3, 5), user=None)


def test_b2_a_read_only_user_cannot_settle_nor_cancel(as_lecteur, s1_on) -> None:
    document = paid(factories.make_receipt())
    token = factories.csrf_token_from(as_lecteur.get(URL).get_data(as_text=True))
    data = {"csrf_token": token, "documents": f"receipt:{document.id}", "received_on": "2026-03-05"}
    assert as_lecteur.post(URL, data=data).status_code == 403
    assert payments() == []


def test_b2_the_pages_do_not_exist_while_dematerialization_is_off(as_gestionnaire) -> None:
    assert as_gestionnaire.get(URL).status_code == 404
    assert "À solder" not in as_gestionnaire.get("/").get_data(as_text=True)


# -- automatic settlement (emulator) --------------------------------------------------------------


def test_b2_automatic_settlement_on_pays_the_document_when_the_status_arrives(
    app: Flask, chorus, chorus_admin, as_gestionnaire
) -> None:
    auto_settle(True)
    with frozen(paris(2026, 3, 2, 9)):
        receipt = receipt_for(SIRET_PAID)
        send(app, receipt)
        advance(chorus, 144)
        job = sync(app)

    [payment] = payments()
    db.session.refresh(receipt)
    assert receipt.is_settled and receipt.allocated_amount == receipt.total
    assert payment.is_automatic and payment.method == "virement"
    assert payment.amount == receipt.total
    assert payment.reference == f"Chorus Pro {receipt.chorus_invoice_id}"
    assert payment.client_id == receipt.contract.client_id
    assert payment.received_on <= date(2026, 3, 2)  # never after today
    assert "Soldé automatiquement" in job.items[0].explanation
    html = as_gestionnaire.get(URL).get_data(as_text=True)
    assert "Aucun document mis en paiement n'attend d'être soldé." in html
    assert "automatique (Chorus)" in html and payment.reference in html
    assert "automatique (Chorus)" in as_gestionnaire.get(f"/encaissements/{payment.id}").get_data(
        as_text=True
    )

    # Cancelling removes the payment and its affectation; the document is to settle again.
    response = post(
        as_gestionnaire, f"/suivi-chorus/encaissements-automatiques/{payment.id}/annuler", {}
    )  # fmt: skip
    assert response.status_code == 303
    assert payments() == []
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 0
    db.session.refresh(receipt)
    assert not receipt.is_settled and receipt.allocated_amount == 0
    assert receipt.number in as_gestionnaire.get(URL).get_data(as_text=True)
    # A later read (the per-document button) does not settle it again.
    sync(app, only=[receipt])
    assert payments() == []


def test_b2_automatic_settlement_off_leaves_the_document_to_settle(
    app: Flask, chorus, chorus_admin
) -> None:
    receipt = receipt_for(SIRET_PAID)
    send(app, receipt)
    advance(chorus, 144)

    sync(app)

    assert payments() == []
    assert [d.id for d in settlement.to_settle().documents] == [receipt.id]


def test_b2_only_automatic_payments_can_be_cancelled_there(as_gestionnaire, s1_on) -> None:
    payment = factories.make_payment()
    db.session.commit()
    response = post(
        as_gestionnaire, f"/suivi-chorus/encaissements-automatiques/{payment.id}/annuler", {}
    )  # fmt: skip
    assert response.status_code == 404
    assert payments() == [payment]
    with pytest.raises(ValidationFailed):
        settlement.cancel_automatic(payment)
