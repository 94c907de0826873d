"""Avis d'échéance and facture d'honoraires PDFs (fpdf2, core Helvetica font).

Design choices:
- Core fonts need no font file on disk (deployments may lack DejaVu) and render in about a
  millisecond. They are encoded in WinAnsi (cp1252), which covers French (é, œ, €, ’);
  anything else is transliterated by ``_pdf_text``.
- Output is deterministic: the creation date comes from the document's date de saisie and
  fpdf2 derives the file ``/ID`` from the content, so the same data gives the same bytes
  (and the same SHA-256).
- Content streams are left uncompressed: the files stay a few kilobytes and their text can
  be searched in the raw bytes (tests, support).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time
from decimal import Decimal

from fpdf import FPDF

from portal.billing.models import FeeInvoice, Receipt
from portal.clock import PARIS
from portal.formatting import fr_date, fr_money, fr_number
from portal.portfolio.models import Client, Company, Contract

ENCODING = "cp1252"
PAGE_WIDTH = 210.0
MARGIN = 18.0
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
GREY = (90, 90, 90)
LIGHT = (235, 238, 242)


def render_due_notice(receipt: Receipt) -> bytes:
    """The avis d'échéance of a quittance (the Chorus main attachment)."""
    contract = receipt.contract
    title = "AVIS DE REMBOURSEMENT" if receipt.total < 0 else "AVIS D'ÉCHÉANCE"
    doc = _Document(title=f"{title} {receipt.number}", entered_on=receipt.entered_on)
    doc.header(contract.company, contract.client)
    doc.heading(title, f"Quittance n° {receipt.number}", receipt.entered_on)
    doc.details(
        [
            ("Contrat", contract.number),
            ("Produit", contract.product),
            ("Assureur", contract.insurer),
            ("Terme", contract.term_enum.label),
            (
                "Période",
                f"du {fr_date(receipt.period_start_on)} au {fr_date(receipt.period_end_on)}",
            ),
        ]
    )
    doc.amounts(
        [
            ("Prime nette", receipt.net_premium),
            ("Taxes", receipt.taxes),
        ],
        ("Total TTC", receipt.total),
    )
    if receipt.total < 0:
        doc.paragraph("Ce montant vous sera remboursé (prime à rembourser).")
    else:
        due = receipt.period_start_on if contract.term == "advance" else receipt.period_end_on
        doc.paragraph(f"Montant à régler au plus tard le {fr_date(due)}.")
    doc.bank_details(contract)
    return doc.output()


def render_fee_invoice(invoice: FeeInvoice) -> bytes:
    """The facture d'honoraires PDF (the Chorus main attachment)."""
    company = invoice.issuing_company
    doc = _Document(title=f"FACTURE D'HONORAIRES {invoice.number}", entered_on=invoice.entered_on)
    doc.header(company, invoice.client)
    doc.heading("FACTURE D'HONORAIRES", f"Facture n° {invoice.number}", invoice.entered_on)
    rows = [("Objet", invoice.label)]
    if invoice.contract is not None:
        rows += [
            ("Contrat", invoice.contract.number),
            ("Produit", invoice.contract.product),
            ("Assureur", invoice.contract.insurer),
        ]
    doc.details(rows)
    doc.amounts(
        [
            ("Montant HT", invoice.amount_ht),
            (f"TVA {fr_number(invoice.vat_rate)} %", invoice.vat_amount),
        ],
        ("Total TTC", invoice.total),
    )
    doc.paragraph(f"Facture payable à réception ({fr_date(invoice.entered_on)}).")
    if invoice.contract is not None:
        doc.bank_details(invoice.contract)
    return doc.output()


def _pdf_text(value: object) -> str:
    """Text the WinAnsi core font can show: narrow spaces widened, the rest transliterated."""
    text = str(value).replace("\u202f", "\u00a0")
    out = []
    for char in text:
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char)
            kept = "".join(c for c in base if not unicodedata.combining(c))
            try:
                kept.encode(ENCODING)
                out.append(kept or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _money(value: Decimal) -> str:
    return _pdf_text(fr_money(value))


class _Document:
    """A one-page A4 document with the layout shared by both kinds."""

    def __init__(self, *, title: str, entered_on: date) -> None:
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.core_fonts_encoding = ENCODING
        pdf.set_compression(False)
        pdf.set_creation_date(datetime.combine(entered_on, time(0, 0), tzinfo=PARIS))
        pdf.set_title(_pdf_text(title))
        pdf.set_creator("Portail courtier")
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        pdf.set_auto_page_break(auto=True, margin=MARGIN)
        pdf.add_page()
        self.pdf = pdf

    def line(self, width: float, height: float, text: str, *, new_x: str) -> None:
        """One line of text, wrapped only when too long (``multi_cell`` is ten times slower)."""
        pdf = self.pdf
        value = _pdf_text(text)
        if pdf.get_string_width(value) <= width - 2 * pdf.c_margin:
            pdf.cell(width, height, value, new_x=new_x, new_y="NEXT")
        else:
            pdf.multi_cell(width, height, value, new_x=new_x, new_y="NEXT")

    def header(self, company: Company | None, client: Client) -> None:
        pdf = self.pdf
        top = pdf.get_y()
        half = CONTENT_WIDTH / 2 - 4
        if company is not None:
            pdf.set_font("helvetica", "B", 13)
            self.line(half, 6, company.name, new_x="LMARGIN")
            pdf.set_font("helvetica", "", 9)
            pdf.set_text_color(*GREY)
            lines = [line for line in (company.address or "").splitlines() if line.strip()]
            if company.siren:
                lines.append(f"SIREN {company.siren}")
            if company.orias_number:
                lines.append(f"ORIAS {company.orias_number}")
            for line in lines:
                self.line(half, 4.5, line, new_x="LMARGIN")
            pdf.set_text_color(0, 0, 0)
        left_bottom = pdf.get_y()

        x = MARGIN + CONTENT_WIDTH / 2 + 4
        pdf.set_xy(x, top)
        pdf.set_font("helvetica", "B", 11)
        self.line(half, 5.5, client.name, new_x="LEFT")
        pdf.set_font("helvetica", "", 10)
        city = " ".join(part for part in (client.postal_code, client.city) if part)
        lines = [line for line in (client.address or "").splitlines() if line.strip()]
        if city:
            lines.append(city)
        if client.siret:
            lines.append(f"SIRET {client.siret}")
        for line in lines:
            self.line(half, 5, line, new_x="LEFT")
        pdf.set_xy(MARGIN, max(left_bottom, pdf.get_y()) + 10)

    def heading(self, title: str, subtitle: str, entered_on: date) -> None:
        pdf = self.pdf
        pdf.set_font("helvetica", "B", 16)
        pdf.cell(CONTENT_WIDTH, 9, _pdf_text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 11)
        pdf.cell(CONTENT_WIDTH / 2, 6, _pdf_text(subtitle))
        pdf.cell(
            CONTENT_WIDTH / 2,
            6,
            _pdf_text(f"Date : {fr_date(entered_on)}"),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(4)

    def details(self, rows: list[tuple[str, str]]) -> None:
        pdf = self.pdf
        for label, value in rows:
            pdf.set_font("helvetica", "B", 10)
            pdf.cell(35, 6, _pdf_text(label))
            pdf.set_font("helvetica", "", 10)
            self.line(CONTENT_WIDTH - 35, 6, value, new_x="LMARGIN")
        pdf.ln(4)

    def amounts(self, rows: list[tuple[str, Decimal]], total: tuple[str, Decimal]) -> None:
        pdf = self.pdf
        label_width = CONTENT_WIDTH - 50
        pdf.set_fill_color(*LIGHT)
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(label_width, 7, "Désignation", border=1, fill=True)
        pdf.cell(50, 7, "Montant", border=1, fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)
        for label, value in rows:
            pdf.cell(label_width, 7, _pdf_text(label), border=1)
            pdf.cell(50, 7, _money(value), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(label_width, 8, _pdf_text(total[0]), border=1, fill=True)
        pdf.cell(
            50, 8, _money(total[1]), border=1, fill=True, align="R", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.ln(5)

    def paragraph(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_font("helvetica", "", 10)
        self.line(CONTENT_WIDTH, 5, text, new_x="LMARGIN")
        pdf.ln(3)

    def bank_details(self, contract: Contract) -> None:
        account = contract.bank_account
        if account is None:
            return
        pdf = self.pdf
        pdf.set_font("helvetica", "B", 10)
        pdf.cell(CONTENT_WIDTH, 6, "Règlement par virement", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)
        for line in (f"IBAN : {_group(account.iban)}", f"BIC : {account.bic}"):
            pdf.cell(CONTENT_WIDTH, 5, _pdf_text(line), new_x="LMARGIN", new_y="NEXT")

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _group(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
