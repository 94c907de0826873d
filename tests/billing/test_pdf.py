"""Generated PDFs: valid, readable, deterministic, fast; integrity detects tampering."""

from __future__ import annotations

import time
from decimal import Decimal

from portal import storage
from portal.billing import pdf, services
from portal.extensions import db
from tests import factories


def pdf_text(data: bytes) -> str:
    """The raw PDF as text (content streams are uncompressed, WinAnsi encoded)."""
    return data.decode("cp1252", errors="replace")


def test_due_notice_is_a_pdf_showing_the_receipt_and_its_parties(app):
    company = factories.make_company(name="Cabinet Dupré", address="3 rue de l'Église\n75004 Paris")
    client = factories.make_client(name="Commune de Sèvres", city="Sèvres")
    contract = factories.make_contract(client=client, company=company, number="CT-ÉTÉ-1")
    receipt = factories.make_receipt(
        contract=contract,
        number="Q2026-0001",
        net_premium=Decimal("1234.56"),
        taxes=Decimal("111.11"),
        total=Decimal("1345.67"),
    )

    data = pdf.render_due_notice(receipt)

    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in (
        "AVIS D'ÉCHÉANCE",
        "Q2026-0001",
        "Cabinet Dupré",
        "3 rue de l'Église",
        "Commune de Sèvres",
        factories.VALID_SIRET,
        "CT-ÉTÉ-1",
        "Multirisque collectivités",
        "SMACL Assurances",
        "01/01/2026",
        "31/12/2026",
        "1\xa0234,56\xa0€",
        "111,11\xa0€",
        "1\xa0345,67\xa0€",
    ):
        assert expected in text, expected


def test_fee_invoice_pdf_shows_ht_vat_and_ttc(app):
    invoice = factories.make_fee_invoice(
        number="FH-77",
        amount_ht=Decimal("500.00"),
        vat_rate=Decimal("20.00"),
        vat_amount=Decimal("100.00"),
        total=Decimal("600.00"),
        company=factories.make_company(name="Courtage Ștefan Łódź"),
    )

    text = pdf_text(pdf.render_fee_invoice(invoice))

    for expected in (
        "FACTURE D'HONORAIRES",
        "FH-77",
        "Courtage Stefan Lódz",
        "500,00\xa0€",
        "TVA 20,00 %",
        "100,00\xa0€",
        "600,00\xa0€",
        invoice.client.name,
    ):
        assert expected in text, expected


def test_rendering_is_deterministic_and_takes_a_few_milliseconds(app):
    receipt = factories.make_receipt()
    first = pdf.render_due_notice(receipt)
    started = time.perf_counter()
    for _ in range(20):
        again = pdf.render_due_notice(receipt)
    per_document = (time.perf_counter() - started) / 20
    assert again == first
    assert per_document < 0.05


def test_storing_a_generated_pdf_records_its_digest_and_replaces_the_old_file(app):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    db.session.commit()
    first_name = receipt.pdf_stored_name
    assert receipt.pdf_source == "generated"
    assert storage.sha256_of(storage.PDF, first_name) == receipt.pdf_sha256
    assert receipt.pdf_size == len(storage.read_bytes(storage.PDF, first_name))

    services.store_generated_pdf(receipt)
    db.session.commit()

    assert receipt.pdf_stored_name != first_name
    assert not storage.exists(storage.PDF, first_name)
    assert storage.exists(storage.PDF, receipt.pdf_stored_name)


def test_a_rolled_back_regeneration_keeps_the_previous_file(app):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    db.session.commit()
    kept = receipt.pdf_stored_name

    services.store_generated_pdf(receipt)
    new = receipt.pdf_stored_name
    db.session.rollback()

    assert storage.exists(storage.PDF, kept)
    assert not storage.exists(storage.PDF, new)
    assert db.session.get(type(receipt), receipt.id).pdf_stored_name == kept


def test_integrity_is_sound_after_generation(app):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    assert services.check_integrity(receipt) is None
    assert services.refresh_integrity(receipt) is None
    assert receipt.is_corrupted is False


def test_integrity_detects_a_pdf_modified_on_disk(app):
    receipt = factories.make_receipt()
    services.store_generated_pdf(receipt)
    path = storage.path_of(storage.PDF, receipt.pdf_stored_name)
    path.write_bytes(path.read_bytes().replace(b"1\xa0090,00", b"9\xa0090,00"))

    reason = services.refresh_integrity(receipt)

    assert receipt.is_corrupted is True
    assert "modifié" in reason
    assert receipt.corruption_reason == reason


def test_integrity_detects_a_missing_pdf(app):
    invoice = factories.make_fee_invoice()
    services.store_generated_pdf(invoice)
    storage.delete(storage.PDF, invoice.pdf_stored_name)

    assert "introuvable" in services.check_integrity(invoice)


def test_integrity_detects_receipt_amounts_that_do_not_add_up(app):
    receipt = factories.make_receipt(
        net_premium=Decimal("100.00"), taxes=Decimal("9.00"), total=Decimal("110.00")
    )
    assert "prime nette" in services.check_integrity(receipt)


def test_integrity_detects_fee_invoice_vat_and_total_that_do_not_add_up(app):
    wrong_vat = factories.make_fee_invoice(
        amount_ht=Decimal("100.00"),
        vat_rate=Decimal("20.00"),
        vat_amount=Decimal("19.99"),
        total=Decimal("119.99"),
    )
    wrong_total = factories.make_fee_invoice(
        amount_ht=Decimal("100.00"),
        vat_rate=Decimal("20.00"),
        vat_amount=Decimal("20.00"),
        total=Decimal("121.00"),
    )
    assert "TVA incohérente" in services.check_integrity(wrong_vat)
    assert "total TTC" in services.check_integrity(wrong_total)
    assert "TVA incohérente" not in services.check_integrity(wrong_total)
