"""``<doctype:kind>``: a receipt or fee invoice is named by its slug in every URL."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from portal.dematerialization.models import DocumentType


@pytest.mark.parametrize(
    "path", ["/avoirs", "/avoirs/nouvelle", "/avoirs/1", "/receipt/1", "/Quittances/1"]
)
def test_a_kind_that_is_not_a_slug_is_a_404(as_gestionnaire: FlaskClient, path: str) -> None:
    assert as_gestionnaire.get(path).status_code == 404


@pytest.mark.parametrize("kind", list(DocumentType))
def test_url_for_writes_the_slug_and_the_route_reads_the_kind_back(
    app: Flask, kind: DocumentType
) -> None:
    with app.test_request_context():
        path = url_for("billing.document_detail", kind=kind, document_id=7)
        assert url_for("billing.document_detail", kind=kind.value, document_id=7) == path
    assert path == f"/{kind.slug}/7"
    endpoint, values = app.url_map.bind("localhost").match(path)
    assert endpoint == "billing.document_detail"
    assert values == {"kind": kind, "document_id": 7}
    assert values["kind"] is kind


def test_each_kind_keeps_the_file_name_of_its_pdf(app: Flask) -> None:
    with app.test_request_context():
        receipt = url_for("billing.document_pdf", kind=DocumentType.RECEIPT, document_id=3)
        invoice = url_for("billing.document_pdf", kind=DocumentType.FEE_INVOICE, document_id=3)
    assert (receipt, invoice) == ("/quittances/3/avis-echeance.pdf", "/factures/3/facture.pdf")


def test_a_slug_names_one_kind_or_none() -> None:
    assert DocumentType.from_slug("quittances") is DocumentType.RECEIPT
    assert DocumentType.from_slug("factures") is DocumentType.FEE_INVOICE
    assert DocumentType.from_slug("receipt") is None
