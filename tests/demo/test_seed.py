"""Demo data: ``seed_demo`` on an empty database, deterministic, refusing existing data."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import storage
from portal.auth.models import User
from portal.billing.models import Allocation, FeeInvoice, Payment, Receipt
from portal.demo.seed import DatabaseNotEmpty, SeedSummary, load_directory, seed_demo
from portal.extensions import db
from portal.portfolio.models import BankAccount, Client, ClientDocument, Company, Contract
from portal.settings import chorus, recipients, vat_exemption
from tests.factories import make_user

TODAY = date(2026, 11, 27)
SCALE = 0.05
SMALL = 0.02


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _snapshot() -> dict[str, list]:
    return {
        "receipts": [
            (r.number, r.period_start_on, r.entered_on, r.total, r.allocated_amount, r.pdf_sha256)
            for r in db.session.scalars(select(Receipt).order_by(Receipt.number))
        ],
        "fee_invoices": [
            (f.number, f.entered_on, f.total)
            for f in db.session.scalars(select(FeeInvoice).order_by(FeeInvoice.number))
        ],
        "clients": [
            (c.name, c.siret, c.city)
            for c in db.session.scalars(select(Client).order_by(Client.id))
        ],
        "contracts": [
            (c.number, c.is_chorus_enabled, c.chorus_service_code, c.chorus_engagement_number)
            for c in db.session.scalars(select(Contract).order_by(Contract.number))
        ],
        "payments": [
            (p.received_on, p.amount, p.reference)
            for p in db.session.scalars(select(Payment).order_by(Payment.id))
        ],
    }


def _wipe() -> None:
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def _check_the_seed_fills_an_empty_database_with_the_expected_counts(seeded: SeedSummary) -> None:
    assert _count(User) == seeded.users == 3
    assert _count(Company) == seeded.companies == 2
    assert _count(BankAccount) == seeded.bank_accounts == 2
    assert _count(Client) == seeded.clients == 22  # 20 public structures + 2 persons
    assert seeded.public_clients == 20
    assert _count(Contract) == seeded.contracts == 4
    assert seeded.chorus_contracts >= 1
    assert _count(Receipt) == seeded.receipts > 100
    assert seeded.refunds >= 1 and seeded.corrupted_receipts >= 1
    assert seeded.receipts_without_pdf >= 1
    assert _count(FeeInvoice) == seeded.fee_invoices == 15
    assert _count(Payment) == seeded.payments > 0
    assert _count(Allocation) == seeded.allocations >= seeded.payments
    assert _count(ClientDocument) == seeded.documents >= 4
    assert seeded.seconds > 0


def _check_the_demo_users_and_chorus_admins_are_ready(seeded: SeedSummary) -> None:
    users = {u.username: u for u in db.session.scalars(select(User))}
    assert {name: u.role for name, u in users.items()} == {
        "admin": "admin",
        "gestionnaire": "gestionnaire",
        "lecture": "lecture",
    }
    assert all(u.check_password("demo-courtier-2026") for u in users.values())
    members = {u.username for u in recipients.members(recipients.CHORUS_ADMINS)}
    assert members == {"admin", "gestionnaire"}


def _check_the_chorus_settings_point_to_the_emulator(seeded: SeedSummary) -> None:
    directory = load_directory()
    supplier = directory["suppliers"][0]
    settings = chorus.load()
    assert settings.enabled and settings.auto_send_enabled
    assert settings.environment is chorus.Environment.EMULATOR
    assert settings.client_id == "demo-client" and settings.client_secret == "demo-secret"
    assert settings.tech_login == supplier["login"]
    assert settings.tech_password == supplier["password"]
    assert settings.supplier_id == supplier["idStructureCPP"]
    assert settings.cutoff_date == date(2026, 8, 27)
    assert settings.delay_receipts_days == 0 and settings.delay_fee_invoices_days == 0
    assert settings.is_connection_complete
    # Receipts go out VAT-exempt: a code of the emulator's list is chosen, and Chorus lists it.
    assert settings.vat_exemption_code == "ASSURANCE_261C"
    assert vat_exemption.current(settings).is_listed is True


def _check_every_public_client_is_a_structure_of_the_emulator_directory(
    seeded: SeedSummary,
) -> None:
    structures = {s["siret"]: s["designation"] for s in load_directory()["public_structures"]}
    companies = list(db.session.scalars(select(Client).where(Client.kind == "entreprise")))
    assert {c.siret: c.name for c in companies} == structures
    persons = list(db.session.scalars(select(Client).where(Client.kind == "particulier")))
    assert persons and all(p.siret is None for p in persons)


def _check_bank_accounts_carry_the_emulator_supplier_codes(seeded: SeedSummary) -> None:
    supplier = load_directory()["suppliers"][0]
    banks = {b["idCoordonneeBancaire"]: b for b in supplier["coordonneesBancaires"]}
    services = {s["idService"] for s in supplier["services"]}
    for account in db.session.scalars(select(BankAccount)):
        assert account.chorus_supplier_service_id in services
        assert account.iban == banks[account.chorus_bank_details_id]["iban"]
        assert account.bic == banks[account.chorus_bank_details_id]["bic"]


def _check_chorus_contracts_use_a_service_of_their_structure(seeded: SeedSummary) -> None:
    codes = {
        s["siret"]: {svc["codeService"] for svc in s["services"]}
        for s in load_directory()["public_structures"]
    }
    for contract in db.session.scalars(select(Contract).where(Contract.is_chorus_enabled)):
        assert contract.client.kind == "entreprise"
        if contract.chorus_service_code is not None:
            assert contract.chorus_service_code in {"FINANCES", "TECHNIQUE"}
            assert contract.chorus_service_code in codes[contract.client.siret]


def _check_every_stored_pdf_and_ged_file_is_on_disk(seeded: SeedSummary) -> None:
    for model in (Receipt, FeeInvoice):
        for document in db.session.scalars(select(model).where(model.pdf_stored_name.is_not(None))):
            assert storage.sha256_of(storage.PDF, document.pdf_stored_name) == document.pdf_sha256
    for document in db.session.scalars(select(ClientDocument)):
        assert storage.sha256_of(storage.GED, document.stored_name) == document.sha256


def _check_corrupted_receipts_refunds_and_settlements_are_consistent(seeded: SeedSummary) -> None:
    corrupted = list(db.session.scalars(select(Receipt).where(Receipt.is_corrupted)))
    assert len(corrupted) == seeded.corrupted_receipts
    assert all("Montants incohérents" in (r.corruption_reason or "") for r in corrupted)
    refunds = list(db.session.scalars(select(Receipt).where(Receipt.total < 0)))
    assert len(refunds) == seeded.refunds
    assert all(r.original_receipt is not None and r.original_receipt.total > 0 for r in refunds)
    assert (
        _count(Receipt)
        - len(list(db.session.scalars(select(Receipt).where(Receipt.pdf_stored_name.is_(None)))))
        == seeded.receipts - seeded.receipts_without_pdf
    )
    for model, column in (
        (Receipt, Allocation.receipt_id),
        (FeeInvoice, Allocation.fee_invoice_id),
    ):
        for document in db.session.scalars(select(model)):
            allocated = sum(
                (
                    a.amount
                    for a in db.session.scalars(select(Allocation).where(column == document.id))
                ),
                start=document.total * 0,
            )
            assert document.allocated_amount == allocated, document.number
    window = (date(2025, 5, 1), date(2027, 5, 27))  # 18 months back, 6 months ahead
    for receipt in db.session.scalars(select(Receipt)):
        assert receipt.period_end_on >= window[0] and receipt.period_start_on <= window[1]
        assert receipt.entered_on <= TODAY


def test_the_seed_fills_an_empty_database_with_consistent_data(app: Flask) -> None:
    # One seed for every check: seeding takes a few seconds even at a small scale.
    summary = seed_demo(TODAY, scale=SCALE)
    _check_the_seed_fills_an_empty_database_with_the_expected_counts(summary)
    _check_the_demo_users_and_chorus_admins_are_ready(summary)
    _check_the_chorus_settings_point_to_the_emulator(summary)
    _check_every_public_client_is_a_structure_of_the_emulator_directory(summary)
    _check_bank_accounts_carry_the_emulator_supplier_codes(summary)
    _check_chorus_contracts_use_a_service_of_their_structure(summary)
    _check_every_stored_pdf_and_ged_file_is_on_disk(summary)
    _check_corrupted_receipts_refunds_and_settlements_are_consistent(summary)


def test_the_seed_is_deterministic(app: Flask) -> None:
    seed_demo(TODAY, scale=SMALL)
    first = _snapshot()
    _wipe()
    seed_demo(TODAY, scale=SMALL)
    assert _snapshot() == first


def test_the_seed_refuses_a_database_that_is_not_empty(app: Flask) -> None:
    make_user("existant")
    with pytest.raises(DatabaseNotEmpty, match="La base de données n'est pas vide"):
        seed_demo(TODAY, scale=SCALE)
    assert _count(Client) == 0


def test_the_cli_seeds_then_refuses_to_seed_again(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--scale", "0.02"])
    assert result.exit_code == 0, result.output
    assert "Données de démonstration chargées." in result.output
    assert "demo-courtier-2026" in result.output
    again = runner.invoke(args=["seed-demo", "--scale", "0.02"])
    assert again.exit_code != 0
    assert "pas vide" in again.output
    tolerant = runner.invoke(args=["seed-demo", "--if-empty", "--scale", "0.02"])
    assert tolerant.exit_code == 0
    assert "déjà des données" in tolerant.output
