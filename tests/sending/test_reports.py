"""The job report: one row per selected document, its outcome, and the playbook's advice."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import event

from portal.dematerialization import playbook
from portal.extensions import db
from portal.jobs.models import Job, JobItem
from portal.sending import rules
from portal.sending.reports import (
    HEADER,
    build_job_report,
    job_report_rows,
    report_filename,
)
from tests import factories


def item(document: Any, state: str, **kw: Any) -> JobItem:
    document_type = "receipt" if document.__tablename__ == "receipts" else "fee_invoice"
    return JobItem(
        document_type=document_type,
        document_id=document.id,
        document_number=document.number,
        state=state,
        **kw,
    )


def make_job(items: list[JobItem], **kw: Any) -> Job:
    job = Job(kind="envoi_masse", total=len(items), **kw)
    job.items = items
    db.session.add(job)
    db.session.commit()
    return job


def by_number(job: Job) -> dict[str, dict[str, object]]:
    header, rows = job_report_rows(job)
    return {str(row[1]): dict(zip(header, row, strict=True)) for row in rows}


def test_s13_the_report_lists_every_document_with_its_outcome(app: Flask) -> None:
    mairie = factories.make_client(name="Mairie de Lyon")
    sent = factories.make_receipt(
        number="Q-SENT", total=Decimal("1090.00"), contract=factories.make_contract(client=mairie)
    )
    skipped = factories.make_receipt(number="Q-SKIP")
    refused = factories.make_fee_invoice(number="FH-REFUSED", client=mairie)
    failed = factories.make_receipt(number="Q-FAIL")
    no_siret = " ; ".join(
        [rules.REASONS["S9_NO_SIRET"].message, rules.REASONS["S9_NO_SERVICE_CODE"].message]
    )
    job = make_job(
        [
            item(sent, "succeeded", chorus_invoice_id=7000001, chorus_status="DEPOSEE"),
            item(skipped, "skipped", error_code="S9_NO_SIRET", error_message=no_siret),
            item(
                refused,
                "failed",
                error_code="20104",
                error_message="Le code service est obligatoire pour ce destinataire.",
            ),
            item(
                failed,
                "failed",
                error_code="INDISPONIBLE",
                error_message="Chorus Pro est momentanément indisponible (HTTP 503).",
            ),
        ]
    )

    header, rows = job_report_rows(job)
    assert header == HEADER
    assert [row[1] for row in rows] == ["Q-SENT", "Q-SKIP", "FH-REFUSED", "Q-FAIL"]
    report = by_number(job)

    assert report["Q-SENT"] == {
        "Type de document": "Quittance",
        "Numéro": "Q-SENT",
        "Client": "Mairie de Lyon",
        "Montant TTC": Decimal("1090.00"),
        "Résultat": "Envoyée",
        "N° Chorus": 7000001,
        "Statut Chorus": "DEPOSEE",
        "Code retour Chorus": None,
        "Message Chorus": None,
        "Explication": None,
        "Correctif": None,
    }

    skipped_row = report["Q-SKIP"]
    assert skipped_row["Résultat"] == "Ignorée"
    assert skipped_row["Code retour Chorus"] is None, "a portal check is not a Chorus code"
    assert skipped_row["Explication"] == no_siret
    assert skipped_row["Correctif"] == " ".join(
        [playbook.explain("S9_NO_SIRET").fix, playbook.explain("S9_NO_SERVICE_CODE").fix]
    )

    refused_row = report["FH-REFUSED"]
    assert refused_row["Type de document"] == "Facture d'honoraires"
    assert refused_row["Client"] == "Mairie de Lyon"
    assert refused_row["Montant TTC"] == Decimal("600.00")
    assert refused_row["Résultat"] == "Refusée"
    assert refused_row["Code retour Chorus"] == "20104"
    assert refused_row["Message Chorus"] == "Le code service est obligatoire pour ce destinataire."
    assert refused_row["Explication"] == "Code service obligatoire pour cette structure."
    assert str(refused_row["Correctif"]).startswith("Renseignez-le sur le contrat")

    failed_row = report["Q-FAIL"]
    assert failed_row["Résultat"] == "En échec"
    assert failed_row["Explication"] == "Chorus Pro est momentanément indisponible (HTTP 503)."
    assert failed_row["Correctif"] == playbook.explain("INDISPONIBLE").fix


def test_an_explanation_stored_on_the_item_is_kept(app: Flask) -> None:
    receipt = factories.make_receipt(number="Q-1")
    job = make_job(
        [item(receipt, "failed", error_code="20101", explanation="Explication enregistrée.")]
    )
    assert by_number(job)["Q-1"]["Explication"] == "Explication enregistrée."


def test_a_skipped_document_already_in_chorus_shows_its_chorus_number(app: Flask) -> None:
    receipt = factories.make_receipt(number="Q-1", chorus_state="sent", chorus_invoice_id=7000009)
    job = make_job(
        [
            item(
                receipt,
                "skipped",
                error_code="S9_ALREADY_SENT",
                error_message="Déjà dématérialisée dans Chorus Pro.",
                chorus_invoice_id=7000009,
                chorus_status="MISE_A_DISPOSITION",
            )
        ]
    )
    row = by_number(job)["Q-1"]
    assert (row["Résultat"], row["N° Chorus"], row["Statut Chorus"]) == (
        "Ignorée",
        7000009,
        "MISE_A_DISPOSITION",
    )
    assert row["Correctif"] == playbook.explain("S9_ALREADY_SENT").fix


def test_an_unknown_chorus_code_is_reported_raw_with_the_generic_advice(app: Flask) -> None:
    receipt = factories.make_receipt(number="Q-1")
    job = make_job([item(receipt, "failed", error_code="29999", error_message="Refus inédit")])
    row = by_number(job)["Q-1"]
    assert row["Résultat"] == "Refusée"
    assert (row["Code retour Chorus"], row["Message Chorus"]) == ("29999", "Refus inédit")
    assert row["Explication"] == "Erreur non répertoriée (code 29999 : Refus inédit)."


def test_items_still_running_and_deleted_documents_do_not_break_the_report(app: Flask) -> None:
    receipt = factories.make_receipt(number="Q-1")
    ghost = JobItem(
        document_type="fee_invoice",
        document_id=999999,
        document_number="FH-GONE",
        state="failed",
        error_code="DOCUMENT_SUPPRIME",
        error_message="Le document a été supprimé entre-temps.",
    )
    job = make_job([item(receipt, "submitting"), ghost])
    report = by_number(job)
    assert report["Q-1"]["Résultat"] == "En cours"
    assert report["FH-GONE"]["Client"] is None
    assert report["FH-GONE"]["Montant TTC"] is None
    assert report["FH-GONE"]["Résultat"] == "En échec"


def test_documents_are_loaded_in_one_query_whatever_the_job_size(app: Flask) -> None:
    def queries_for(count: int) -> int:
        documents = [factories.make_receipt() for _ in range(count)]
        documents += [factories.make_fee_invoice() for _ in range(count)]
        job = make_job([item(d, "succeeded", chorus_invoice_id=1) for d in documents])
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        statements: list[str] = []

        def count_statement(*args: Any) -> None:
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            _, rows = job_report_rows(job)
        finally:
            event.remove(db.engine, "before_cursor_execute", count_statement)
        assert len(rows) == 2 * count
        assert all(row[2] and row[3] for row in rows), "client and amount of every document"
        return len(statements)

    assert queries_for(2) == queries_for(20) == 1


def test_the_csv_is_french_excel_ready(app: Flask) -> None:
    receipt = factories.make_receipt(
        number="Q-1",
        total=Decimal("-1234.50"),
        contract=factories.make_contract(client=factories.make_client(name="=Commune piégée")),
    )
    job = make_job([item(receipt, "succeeded", chorus_invoice_id=7000001, chorus_status="DEPOSEE")])
    data = build_job_report(job)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == HEADER
    assert rows[1] == [
        "Quittance",
        "Q-1",
        "'=Commune piégée",
        "-1234,50",
        "Envoyée",
        "7000001",
        "DEPOSEE",
        "",
        "",
        "",
        "",
    ]


def test_the_report_file_is_named_after_the_job_and_its_start_in_paris(app: Flask) -> None:
    job = make_job([], created_at=datetime(2026, 11, 27, 18, 0, tzinfo=UTC))
    assert report_filename(job) == f"dematerialisation-chorus-{job.id}-20261127-1900.csv"
