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
from fpdf.util import Padding

from portal.billing.models import FeeInvoice, Receipt
from portal.clock import PARIS
from portal.formatting import fr_date as day
from portal.formatting import fr_money as money
from portal.formatting import fr_number
from portal.portfolio.models import Client, Company, Contract, Term

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
            ("Terme", contract.term.label),
            (
                "Période",
                f"du {day(receipt.period_start_on)} au {day(receipt.period_end_on)}",
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
        due = receipt.period_start_on if contract.term == Term.ADVANCE else receipt.period_end_on
        doc.paragraph(f"Montant à régler au plus tard le {day(due)}.")
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
    doc.paragraph(f"Facture payable à réception ({day(invoice.entered_on)}).")
    if invoice.contract is not None:
        doc.bank_details(invoice.contract)
    return doc.output()


# Latin letters that Unicode does not decompose into a base letter plus an accent.
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"}


def _pdf_text(value: object) -> str:
    """Text the WinAnsi core font can show: narrow spaces widened, the rest transliterated."""
    text = str(value).replace("\u202f", "\u00a0")
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        pass
    else:
        return text
    out = []
    for char in text:
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            base = _NO_DECOMPOSITION.get(char) or unicodedata.normalize("NFKD", char)
            kept = "".join(c for c in base if not unicodedata.combining(c))
            try:
                kept.encode(ENCODING)
                out.append(kept or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _money(value: Decimal) -> str:
    return _pdf_text(money(value))


class _Document:
    """A one-page A4 document with the layout shared by both kinds.

    Text is placed with ``FPDF.text`` at an explicit cursor (``self.y``) and boxes drawn with
    ``rect``: ``cell`` costs about ten times more per call, and a document has ~40 strings.
    Only a string too long for its box goes through ``multi_cell`` to wrap.
    """

    PAD = 1.5

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
        self.y = MARGIN

    def font(self, style: str, size: float) -> None:
        self.pdf.set_font("helvetica", style, size)

    def put(
        self, x: float, y: float, width: float, height: float, text: str, align: str = "L"
    ) -> None:
        """One line of (already WinAnsi-safe) text, vertically centred in its box."""
        pdf = self.pdf
        right = align == "R"
        x = x + width - self.PAD - pdf.get_string_width(text) if right else x + self.PAD
        pdf.text(x, y + 0.5 * height + 0.3 * pdf.font_size, text)

    def line(self, x: float, width: float, height: float, value: object) -> float:
        """Text at the cursor, wrapped when too long; returns the height used."""
        pdf = self.pdf
        text = _pdf_text(value)
        room = width - 2 * self.PAD
        # No character of Helvetica is wider than 1 em: short strings need no measuring.
        if len(text) * pdf.font_size <= room or pdf.get_string_width(text) <= room:
            self.put(x, self.y, width, height, text)
            return height
        pdf.set_xy(x, self.y)
        pdf.multi_cell(width, height, text, align="L", padding=Padding(0, self.PAD, 0, self.PAD))
        return pdf.get_y() - self.y

    def header(self, company: Company | None, client: Client) -> None:
        pdf = self.pdf
        top = self.y
        half = CONTENT_WIDTH / 2 - 4
        if company is not None:
            self.font("B", 13)
            self.y += self.line(MARGIN, half, 6, company.name)
            self.font("", 9)
            pdf.set_text_color(*GREY)
            lines = [line for line in (company.address or "").splitlines() if line.strip()]
            if company.siren:
                lines.append(f"SIREN {company.siren}")
            if company.orias_number:
                lines.append(f"ORIAS {company.orias_number}")
            for line in lines:
                self.y += self.line(MARGIN, half, 4.5, line)
            pdf.set_text_color(0, 0, 0)
        left_bottom = self.y

        x = MARGIN + CONTENT_WIDTH / 2 + 4
        self.y = top
        self.font("B", 11)
        self.y += self.line(x, half, 5.5, client.name)
        self.font("", 10)
        city = " ".join(part for part in (client.postal_code, client.city) if part)
        lines = [line for line in (client.address or "").splitlines() if line.strip()]
        if city:
            lines.append(city)
        if client.siret:
            lines.append(f"SIRET {client.siret}")
        for line in lines:
            self.y += self.line(x, half, 5, line)
        self.y = max(left_bottom, self.y) + 10

    def heading(self, title: str, subtitle: str, entered_on: date) -> None:
        self.font("B", 16)
        self.put(MARGIN, self.y, CONTENT_WIDTH, 9, _pdf_text(title))
        self.y += 9
        self.font("", 11)
        self.put(MARGIN, self.y, CONTENT_WIDTH / 2, 6, _pdf_text(subtitle))
        date_text = _pdf_text(f"Date : {day(entered_on)}")
        self.put(MARGIN + CONTENT_WIDTH / 2, self.y, CONTENT_WIDTH / 2, 6, date_text, "R")
        self.y += 10

    def details(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.font("B", 10)
            self.put(MARGIN, self.y, 35, 6, _pdf_text(label))
            self.font("", 10)
            self.y += self.line(MARGIN + 35, CONTENT_WIDTH - 35, 6, value)
        self.y += 4

    def _row(self, label: str, amount: str, height: float, fill: bool) -> None:
        pdf = self.pdf
        label_width = CONTENT_WIDTH - 50
        style = "DF" if fill else "D"
        pdf.rect(MARGIN, self.y, label_width, height, style=style)
        pdf.rect(MARGIN + label_width, self.y, 50, height, style=style)
        self.put(MARGIN, self.y, label_width, height, label)
        self.put(MARGIN + label_width, self.y, 50, height, amount, "R")
        self.y += height

    def amounts(self, rows: list[tuple[str, Decimal]], total: tuple[str, Decimal]) -> None:
        self.pdf.set_fill_color(*LIGHT)
        self.font("B", 10)
        self._row("Désignation", "Montant", 7, fill=True)
        self.font("", 10)
        for label, value in rows:
            self._row(_pdf_text(label), _money(value), 7, fill=False)
        self.font("B", 11)
        self._row(_pdf_text(total[0]), _money(total[1]), 8, fill=True)
        self.y += 5

    def paragraph(self, text: str) -> None:
        self.font("", 10)
        self.y += self.line(MARGIN, CONTENT_WIDTH, 5, text) + 3

    def bank_details(self, contract: Contract) -> None:
        account = contract.bank_account
        if account is None:
            return
        self.font("B", 10)
        self.put(MARGIN, self.y, CONTENT_WIDTH, 6, "Règlement par virement")
        self.y += 6
        self.font("", 10)
        for line in (f"IBAN : {_group(account.iban)}", f"BIC : {account.bic}"):
            self.put(MARGIN, self.y, CONTENT_WIDTH, 5, _pdf_text(line))
            self.y += 5

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _group(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
