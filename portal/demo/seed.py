"""Demonstration data: ``flask --app portal seed-demo`` fills an EMPTY database.

What it creates (scale 1):
- users ``admin`` / ``gestionnaire`` / ``lecture``, password ``demo-courtier-2026`` (the first
  two in the list "Administrateurs Chorus");
- Chorus settings ready for the built-in emulator (S1 on, automatic sending on, cut-off three
  months ago, delays 0, client ``demo-client`` / ``demo-secret``, technical account and
  supplier id of the emulator's default directory, VAT exemption code ``ASSURANCE_261C`` of
  the emulator's list, its list of attachment types with ``AUT`` « Autre » as the default);
- 2 companies whose bank accounts carry the emulator supplier's Chorus codes (S6);
- the 20 public structures of the emulator directory as *Entreprise* clients (their SIRET and
  designation), plus about 20 private persons (*Particulier*, no SIRET);
- about 80 contracts (about half Chorus-enabled on public clients, a few without service code,
  some with engagement / market numbers);
- about 3,000 receipts from 18 months ago to 6 months ahead (both terms, monthly and quarterly
  periods, a few corrupted, a few without due notice, a few refunds), about 300 fee invoices,
  payments and allocations, and 2–3 GED documents per public client.

Everything is drawn from ``random.Random(42)`` and dates are relative to ``today``, so two runs
give the same numbers, SIRETs and amounts. Due notices and fee-invoice PDFs come from
``portal.billing.services.store_generated_pdf``; payments from the billing services.

The whole seed is one transaction (flushed batch by batch): a failure leaves the database
empty, so the command can simply be run again.
"""

from __future__ import annotations

import calendar
import io
import json
import random
import time as timer
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from fpdf import FPDF
from sqlalchemy import func, select

from portal import storage
from portal.auth.models import Role, User
from portal.billing import rules as billing_rules
from portal.billing import services as billing
from portal.billing.models import FeeInvoice, Payment, PaymentMethod, Receipt
from portal.chorus.emulator.operations import (
    ATTACHMENT_TYPES as EMULATOR_ATTACHMENT_TYPES,
)
from portal.chorus.emulator.operations import (
    VAT_EXEMPTION_REASONS as EMULATOR_VAT_EXEMPTION_REASONS,
)
from portal.clock import PARIS
from portal.db_types import to_money
from portal.extensions import db
from portal.portfolio import services as portfolio
from portal.portfolio.models import BankAccount, Client, Company, Contract
from portal.settings import chorus, recipients, reference_lists, services
from portal.settings.models import Setting

DEMO_PASSWORD = "demo-courtier-2026"  # noqa: S105  (documented demo password, not a secret)
DEMO_USERS = (
    ("admin", Role.ADMIN, "Claire Martin", "claire.martin@cabinet-dupont.fr"),
    ("gestionnaire", Role.GESTIONNAIRE, "Julien Moreau", "julien.moreau@cabinet-dupont.fr"),
    ("lecture", Role.LECTURE, "Sophie Bernard", "sophie.bernard@cabinet-dupont.fr"),
)
DEMO_VAT_EXEMPTION_CODE = "ASSURANCE_261C"  # insurance premiums, in the emulator's list
DEMO_ATTACHMENT_TYPE = "AUT"  # « Autre », in the emulator's list of attachment types
DIRECTORY_PATH = Path(__file__).resolve().parent.parent / "chorus/emulator/default_directory.json"
SEED = 42


class DatabaseNotEmpty(Exception):
    """The demo data only goes into an empty database; ``str()`` is the French message."""


@dataclass
class SeedSummary:
    """What the seed created, and how long it took."""

    users: int = 0
    companies: int = 0
    bank_accounts: int = 0
    clients: int = 0
    public_clients: int = 0
    contracts: int = 0
    chorus_contracts: int = 0
    receipts: int = 0
    receipts_without_pdf: int = 0
    corrupted_receipts: int = 0
    refunds: int = 0
    fee_invoices: int = 0
    payments: int = 0
    allocations: int = 0
    documents: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """French summary for the command line."""
        return [
            f"Utilisateurs : {self.users} (admin / gestionnaire / lecture, "
            f"mot de passe « {DEMO_PASSWORD} »)",
            f"Sociétés : {self.companies}, comptes bancaires : {self.bank_accounts}",
            f"Clients : {self.clients} dont {self.public_clients} structures publiques",
            f"Contrats : {self.contracts} dont {self.chorus_contracts} avec Chorus Pro activé",
            f"Quittances : {self.receipts} (dont {self.refunds} remboursements, "
            f"{self.corrupted_receipts} corrompues, {self.receipts_without_pdf} sans avis "
            "d'échéance)",
            f"Factures d'honoraires : {self.fee_invoices}",
            f"Encaissements : {self.payments}, affectations : {self.allocations}",
            f"Documents de la GED : {self.documents}",
            f"Durée : {self.seconds:.1f} s",
        ]


# -- small helpers --------------------------------------------------------------------------------


def load_directory() -> dict[str, Any]:
    """The emulator's default directory (public structures, supplier, OAuth client)."""
    data: dict[str, Any] = json.loads(DIRECTORY_PATH.read_text(encoding="utf-8"))
    return data


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later (clamped to the month's length)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = "".join(ch if ch.isalnum() else " " for ch in ascii_text.lower()).split()
    stop = {"de", "du", "des", "la", "le", "les", "l", "d", "et", "sur"}
    return "-".join(word for word in words if word not in stop)[:40]


def _scaled(value: int, scale: float, minimum: int) -> int:
    return max(minimum, round(value * scale))


def ensure_empty() -> None:
    """Raise ``DatabaseNotEmpty`` when any business data or setting already exists."""
    checks = (
        (User, "utilisateur(s)"),
        (Company, "société(s)"),
        (Client, "client(s)"),
        (Contract, "contrat(s)"),
        (Receipt, "quittance(s)"),
        (FeeInvoice, "facture(s) d'honoraires"),
        (Payment, "encaissement(s)"),
        (Setting, "paramètre(s)"),
    )
    found = []
    for model, label in checks:
        count = db.session.scalar(select(func.count()).select_from(model)) or 0
        if count:
            found.append(f"{count} {label}")
    if found:
        raise DatabaseNotEmpty(
            "La base de données n'est pas vide (" + ", ".join(found) + ") : les données de "
            "démonstration ne se chargent que dans une base vide."
        )


# -- reference data ------------------------------------------------------------------------------

FIRST_NAMES = (
    "Camille", "Louis", "Emma", "Hugo", "Léa", "Lucas", "Chloé", "Nathan", "Manon", "Thomas",
    "Inès", "Arthur", "Jade", "Paul", "Louise", "Gabriel", "Alice", "Jules", "Sarah", "Raphaël",
    "Anne", "Philippe", "Nathalie", "Éric", "Isabelle", "Michel", "Sylvie", "Pierre",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
)  # fmt: skip
CITIES = (
    ("Lyon", "69003"), ("Villeurbanne", "69100"), ("Grenoble", "38000"), ("Annecy", "74000"),
    ("Chambéry", "73000"), ("Valence", "26000"), ("Saint-Étienne", "42000"),
    ("Clermont-Ferrand", "63000"), ("Mâcon", "71000"), ("Bourg-en-Bresse", "01000"),
    ("Vienne", "38200"), ("Roanne", "42300"), ("Villefranche-sur-Saône", "69400"),
)  # fmt: skip
STREETS = (
    "rue de la République", "avenue Jean-Jaurès", "rue Victor-Hugo", "boulevard Gambetta",
    "rue des Écoles", "chemin des Vignes", "place du Marché", "rue Pasteur", "allée des Tilleuls",
    "rue du Général-de-Gaulle", "impasse des Lilas", "route de Lyon",
)  # fmt: skip

# product, insurance tax rate (%), annual premium range (€)
PUBLIC_PRODUCTS = (
    ("Dommages aux biens", Decimal("9"), (8000, 60000)),
    ("Responsabilité civile générale", Decimal("9"), (3000, 25000)),
    ("Flotte automobile", Decimal("18"), (5000, 45000)),
    ("Protection juridique des agents et élus", Decimal("13.4"), (800, 5000)),
    ("Risques statutaires", Decimal("9"), (10000, 80000)),
    ("Tous risques expositions", Decimal("9"), (1200, 6000)),
)
PRIVATE_PRODUCTS = (
    ("Multirisque habitation", Decimal("9"), (240, 900)),
    ("Automobile", Decimal("18"), (420, 1500)),
    ("Santé individuelle", Decimal("13.27"), (900, 2600)),
    ("Garantie des accidents de la vie", Decimal("9"), (180, 450)),
    ("Protection juridique", Decimal("13.4"), (90, 260)),
)
PUBLIC_INSURERS = (
    "SMACL Assurances", "Groupama Rhône-Alpes Auvergne", "MMA Entreprise", "AXA France IARD",
    "Allianz IARD", "Generali IARD",
)  # fmt: skip
PRIVATE_INSURERS = ("MAIF", "Macif", "AXA France IARD", "Swiss Life", "Groupama", "MMA IARD")
FEE_LABELS = (
    "Honoraires d'assistance à la passation du marché d'assurances",
    "Honoraires d'audit des contrats d'assurance",
    "Honoraires de gestion des sinistres",
    "Honoraires de conseil — revue annuelle des garanties",
    "Honoraires de courtage",
)
GED_FILES = (
    ("Acte d'engagement marché assurances.pdf", "Acte d'engagement"),
    ("Bon de commande {year}.pdf", "Bon de commande"),
    ("Attestation d'assurance {year}.pdf", "Attestation d'assurance"),
    ("CCAP marché assurances.pdf", "Cahier des clauses administratives particulières"),
    ("Relevé de sinistralité {year}.txt", None),
    ("Compte rendu de réunion.txt", None),
)


# -- the generator ---------------------------------------------------------------------------------


@dataclass
class _ContractPlan:
    contract: Contract
    months_per_period: int
    lots: int
    annual_premium: Decimal
    tax_rate: Decimal
    is_public: bool


class _Seeder:
    def __init__(self, today: date, scale: float) -> None:
        self.today = today
        self.scale = scale
        self.rng = random.Random(SEED)  # noqa: S311  (reproducible demo data, not security)
        self.directory = load_directory()
        self.summary = SeedSummary()
        self.users: dict[str, User] = {}
        self.companies: list[Company] = []
        self.accounts: list[BankAccount] = []
        self.public_clients: list[tuple[Client, dict[str, Any]]] = []
        self.private_clients: list[Client] = []
        self.plans: list[_ContractPlan] = []
        self.receipts: list[Receipt] = []
        self.fee_invoices: list[FeeInvoice] = []
        self.ged_files: list[str] = []

    # users and settings

    def users_and_settings(self) -> None:
        for username, role, full_name, email in DEMO_USERS:
            self.users[username] = services.create_user(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                full_name=full_name,
                email=email,
            )
        for username in ("admin", "gestionnaire"):
            recipients.add_member(recipients.CHORUS_ADMINS, self.users[username])
        supplier = self.directory["suppliers"][0]
        oauth = self.directory["oauth_clients"][0]
        services.save_insurance(chorus_enabled=True)
        # The same validation as the Système tab (environment variables still win).
        system = services.SystemInput(
            environment=chorus.Environment.EMULATOR.value,
            client_id=oauth["client_id"],
            client_secret=oauth["client_secret"],
            tech_login=supplier["login"],
            tech_password=supplier["password"],
            supplier_id=str(supplier["idStructureCPP"]),
            auto_send_enabled=True,
            delay_receipts="0",
            delay_fee_invoices="0",
            cutoff_date=add_months(self.today, -3).isoformat(),
        )
        services.update_system(system)
        # The VAT exemption code is chosen in the emulator's list, as if read from it by
        # « Choisir parmi les motifs de Chorus Pro » (the demo environment is the emulator).
        reference_lists.save(
            reference_lists.VAT_EXEMPTION_REASONS,
            EMULATOR_VAT_EXEMPTION_REASONS,
            api_url=chorus.load().api_url,
        )
        # Likewise the attachment types (« Choisir parmi les types de Chorus Pro »), so the
        # demo sends secondary attachments out of the box with « Autre » preselected.
        reference_lists.save(
            reference_lists.ATTACHMENT_TYPES,
            EMULATOR_ATTACHMENT_TYPES,
            api_url=chorus.load().api_url,
        )
        services.update_system(
            replace(
                system,
                vat_exemption_code=DEMO_VAT_EXEMPTION_CODE,
                default_attachment_type=DEMO_ATTACHMENT_TYPE,
            )
        )
        self.summary.users = len(self.users)

    # companies and bank accounts (S6)

    def companies_and_accounts(self) -> None:
        supplier = self.directory["suppliers"][0]
        service_id = next(s["idService"] for s in supplier["services"] if s["estActif"])
        banks = supplier["coordonneesBancaires"]
        definitions = (
            (
                supplier["designation"],
                supplier["siret"][:9],
                "07012345",
                "12 rue de la République\n69002 Lyon",
            ),
            (
                "Dupont Patrimoine & Particuliers",
                None,
                "07054321",
                "4 quai Saint-Antoine\n69002 Lyon",
            ),
        )
        for (name, siren, orias, address), bank in zip(definitions, banks, strict=True):
            company = Company(name=name, siren=siren, orias_number=orias, address=address)
            account = BankAccount(
                company=company,
                label=bank["nomCoordonneeBancaire"],
                iban=bank["iban"],
                bic=bank["bic"],
                chorus_supplier_service_id=service_id,
                chorus_bank_details_id=bank["idCoordonneeBancaire"],
            )
            db.session.add_all([company, account])
            self.companies.append(company)
            self.accounts.append(account)
        db.session.flush()
        self.summary.companies = len(self.companies)
        self.summary.bank_accounts = len(self.accounts)

    # clients (S7)

    def _address(self) -> tuple[str, str, str]:
        city, postal_code = self.rng.choice(CITIES)
        street = f"{self.rng.randint(1, 120)} {self.rng.choice(STREETS)}"
        return street, postal_code, city

    def clients(self) -> None:
        rows: list[Client] = []
        for structure in self.directory["public_structures"]:
            name = structure["designation"]
            street, postal_code, city = self._address()
            if name.startswith("Commune de "):
                city = name.removeprefix("Commune de ")
                street = "Hôtel de ville, place de la Mairie"
            client = Client(
                kind="entreprise",
                name=name,
                address=street,
                postal_code=postal_code,
                city=city,
                email=f"finances@{_slug(name)}.fr",
                siret=structure["siret"],
            )
            rows.append(client)
            self.public_clients.append((client, structure))
        used: set[str] = set()
        while len(self.private_clients) < _scaled(20, self.scale, 2):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            if f"{first} {last}" in used:
                continue
            used.add(f"{first} {last}")
            street, postal_code, city = self._address()
            client = Client(
                kind="particulier",
                name=f"{last.upper()} {first}",
                address=street,
                postal_code=postal_code,
                city=city,
                email=f"{_slug(first)}.{_slug(last)}@exemple.fr",
                siret=None,
            )
            rows.append(client)
            self.private_clients.append(client)
        db.session.add_all(rows)
        db.session.flush()
        self.summary.clients = len(rows)
        self.summary.public_clients = len(self.public_clients)

    # contracts (S8)

    def contracts(self) -> None:
        total = _scaled(80, self.scale, 4)
        public_count = max(1, round(total * 0.6))
        missing_service = _scaled(3, self.scale, 1)
        window_start = _month_start(add_months(self.today, -18))
        rows: list[Contract] = []
        for index in range(total):
            is_public = index < public_count
            if is_public:
                # every public structure gets a contract before any gets a second one
                client, structure = (
                    self.public_clients[index]
                    if index < len(self.public_clients)
                    else self.rng.choice(self.public_clients)
                )
                product, tax_rate, (low, high) = self.rng.choice(PUBLIC_PRODUCTS)
                insurer = self.rng.choice(PUBLIC_INSURERS)
                company_index = 0 if self.rng.random() < 0.85 else 1
            else:
                client, structure = self.rng.choice(self.private_clients), None
                product, tax_rate, (low, high) = self.rng.choice(PRIVATE_PRODUCTS)
                insurer = self.rng.choice(PRIVATE_INSURERS)
                company_index = 1 if self.rng.random() < 0.8 else 0
            if self.rng.random() < 0.8:
                starts_on = date(window_start.year - self.rng.randint(1, 5), 1, 1)
                if not is_public:
                    starts_on = starts_on.replace(month=self.rng.randint(1, 12))
            else:
                starts_on = add_months(window_start, self.rng.randint(1, 16))
            ends_on = None
            if self.rng.random() < 0.05:
                ends_on = add_months(window_start, self.rng.randint(6, 14)) - timedelta(days=1)
            contract = Contract(
                number=f"{'CP' if is_public else 'CI'}-{starts_on.year}-{index + 1:04d}",
                client=client,
                company=self.companies[company_index],
                bank_account=self.accounts[company_index],
                product=product,
                insurer=insurer,
                starts_on=starts_on,
                ends_on=ends_on,
                term="advance" if self.rng.random() < 0.7 else "arrears",
            )
            if is_public and structure is not None and structure["statut"] == "ACTIVE":
                self._chorus_options(contract, structure)
            elif is_public and self.rng.random() < 0.5:
                # the inactive structure: enabled, so sending it shows Chorus's refusal
                self._chorus_options(contract, structure)
            rows.append(contract)
            months = 1 if self.rng.random() < 0.75 else 3
            lots = self.rng.choice((1, 2, 2, 3, 3)) if is_public else self.rng.choice((1, 1, 2))
            annual = Decimal(self.rng.randint(low, high))
            self.plans.append(_ContractPlan(contract, months, lots, annual, tax_rate, is_public))
        enabled = [c for c in rows if c.is_chorus_enabled]
        # about half of all contracts are Chorus-enabled: disable the surplus
        for contract in enabled[total // 2 + 2 :]:
            contract.is_chorus_enabled = False
        enabled = [c for c in rows if c.is_chorus_enabled]
        for contract in self.rng.sample(enabled, min(missing_service, len(enabled))):
            contract.chorus_service_code = None
        db.session.add_all(rows)
        db.session.flush()
        self.summary.contracts = len(rows)
        self.summary.chorus_contracts = len(enabled)

    def _chorus_options(self, contract: Contract, structure: dict[str, Any] | None) -> None:
        contract.is_chorus_enabled = True
        services_by_code = {s["codeService"]: s for s in (structure or {}).get("services", [])}
        code = "FINANCES" if self.rng.random() < 0.65 else "TECHNIQUE"
        contract.chorus_service_code = code
        needs_engagement = bool(
            structure
            and (
                structure["numeroEJDoitEtreRenseigne"]
                or services_by_code.get(code, {}).get("numeroEngagementRequis")
            )
        )
        if needs_engagement or self.rng.random() < 0.2:
            contract.chorus_engagement_number = str(self.rng.randint(1_000_000_000, 9_999_999_999))
        if self.rng.random() < 0.2:
            contract.chorus_market_number = (
                f"{contract.starts_on.year}-AO-{self.rng.randint(1, 60):03d}"
            )

    # receipts

    def _periods(self, plan: _ContractPlan) -> Iterator[tuple[date, date]]:
        start = _month_start(add_months(self.today, -18))
        if plan.months_per_period == 3:
            start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
        end = add_months(self.today, 6)
        contract = plan.contract
        while start <= end:
            period_end = add_months(start, plan.months_per_period) - timedelta(days=1)
            if period_end >= contract.starts_on and (
                contract.ends_on is None or start <= contract.ends_on
            ):
                yield start, period_end
            start = add_months(start, plan.months_per_period)

    def _entered_on(self, term: str, period_start: date, period_end: date) -> date:
        if term == "advance":
            natural = period_start - timedelta(days=self.rng.randint(10, 40))
        else:
            natural = period_end + timedelta(days=self.rng.randint(0, 10))
        # future periods were issued recently (échéancier), never after today
        return min(natural, self.today - timedelta(days=self.rng.randint(0, 20)))

    def receipts_batch(self) -> None:
        drafts: list[tuple[date, str, date, Receipt]] = []
        for plan in self.plans:
            contract = plan.contract
            per_period = plan.annual_premium * plan.months_per_period / 12 / plan.lots
            for period_start, period_end in self._periods(plan):
                for _lot in range(plan.lots):
                    net = to_money(per_period * Decimal(self.rng.uniform(0.92, 1.08)))
                    taxes = to_money(net * plan.tax_rate / 100)
                    entered_on = self._entered_on(contract.term, period_start, period_end)
                    receipt = Receipt(
                        contract=contract,
                        period_start_on=period_start,
                        period_end_on=period_end,
                        entered_on=entered_on,
                        net_premium=net,
                        taxes=taxes,
                        total=net + taxes,
                    )
                    drafts.append((entered_on, contract.number, period_start, receipt))
        refunds = self._refunds([d[3] for d in drafts])
        drafts += [(r.entered_on, r.contract.number, r.period_start_on, r) for r in refunds]
        drafts.sort(key=lambda item: (item[0], item[1], item[2]))
        for sequence, (entered_on, _number, _start, receipt) in enumerate(drafts, start=1):
            receipt.number = f"Q{entered_on.year}{sequence:06d}"
            self.receipts.append(receipt)
        db.session.add_all(self.receipts)
        db.session.flush()
        self.summary.receipts = len(self.receipts)
        self.summary.refunds = len(refunds)

    def _refunds(self, receipts: list[Receipt]) -> list[Receipt]:
        past = [r for r in receipts if r.period_end_on < self.today - timedelta(days=30)]
        chosen = self.rng.sample(past, min(_scaled(25, self.scale, 1), len(past)))
        refunds = []
        for original in chosen:
            days = (original.period_end_on - original.period_start_on).days + 1
            offset = self.rng.randint(days // 3, days - 1)
            start = original.period_start_on + timedelta(days=offset)
            share = Decimal(days - offset) / Decimal(days)
            net = -to_money(original.net_premium * share)
            taxes = -to_money(original.taxes * share)
            refunds.append(
                Receipt(
                    contract=original.contract,
                    original_receipt=original,
                    period_start_on=start,
                    period_end_on=original.period_end_on,
                    entered_on=min(start + timedelta(days=self.rng.randint(3, 25)), self.today),
                    net_premium=net,
                    taxes=taxes,
                    total=net + taxes,
                )
            )
        return refunds

    def receipt_pdfs(self) -> None:
        positives = [r for r in self.receipts if r.total > 0]
        without_pdf = set(
            self.rng.sample(positives, min(_scaled(12, self.scale, 1), len(positives)))
        )
        corrupted = self.rng.sample(
            [r for r in positives if r not in without_pdf],
            min(_scaled(8, self.scale, 1), len(positives) - len(without_pdf)),
        )
        for receipt in corrupted:
            # amounts that do not add up, as an import error would leave them
            receipt.total = receipt.total + to_money(self.rng.uniform(0.01, 40))
        for receipt in self.receipts:
            if receipt not in without_pdf:
                billing.store_generated_pdf(receipt)
        for receipt in corrupted:
            billing.refresh_integrity(receipt)
        self.summary.receipts_without_pdf = len(without_pdf)
        self.summary.corrupted_receipts = len(corrupted)

    # fee invoices

    def fee_invoices_batch(self) -> None:
        count = _scaled(300, self.scale, 5)
        clients = [c for c, _s in self.public_clients] * 3 + self.private_clients
        contracts_by_client: dict[int, list[Contract]] = {}
        for plan in self.plans:
            contracts_by_client.setdefault(id(plan.contract.client), []).append(plan.contract)
        drafts = []
        for _index in range(count):
            client = self.rng.choice(clients)
            options = contracts_by_client.get(id(client), [])
            contract = self.rng.choice(options) if options and self.rng.random() < 0.7 else None
            company = contract.company if contract is not None else self.companies[0]
            amount_ht = to_money(self.rng.randint(15, 450) * 10)
            vat_rate = Decimal("20.00") if self.rng.random() < 0.75 else Decimal("0.00")
            vat_amount, total = billing_rules.fee_invoice_amounts(amount_ht, vat_rate)
            entered_on = self.today - timedelta(days=self.rng.randint(0, 548))
            drafts.append(
                FeeInvoice(
                    client=client,
                    contract=contract,
                    company=company,
                    label=self.rng.choice(FEE_LABELS),
                    entered_on=entered_on,
                    amount_ht=amount_ht,
                    vat_rate=vat_rate,
                    vat_amount=vat_amount,
                    total=total,
                )
            )
        drafts.sort(key=lambda invoice: (invoice.entered_on, invoice.amount_ht))
        for sequence, invoice in enumerate(drafts, start=1):
            invoice.number = f"FH{invoice.entered_on.year}-{sequence:05d}"
        db.session.add_all(drafts)
        db.session.flush()
        without_pdf = set(self.rng.sample(drafts, min(_scaled(4, self.scale, 1), len(drafts))))
        for invoice in drafts:
            if invoice not in without_pdf:
                billing.store_generated_pdf(invoice)
        self.fee_invoices = drafts
        self.summary.fee_invoices = len(drafts)

    # payments and allocations (S12)

    def payments(self) -> None:
        """Most past-due documents are paid; one transfer settles a client's documents of
        the same due date (several lots), a few are paid by half, some stay unpaid."""
        groups: dict[tuple[int, date, bool], list[tuple[Receipt | FeeInvoice, Decimal]]] = {}
        order: list[tuple[Client, tuple[int, date, bool]]] = []

        def plan(client: Client, document: Receipt | FeeInvoice, amount: Decimal, due: date):
            key = (id(client), due, amount < 0)
            if key not in groups:
                groups[key] = []
                order.append((client, key))
            groups[key].append((document, amount))

        for receipt in self.receipts:
            if receipt.is_corrupted:
                continue
            term = receipt.contract.term
            due = receipt.period_start_on if term == "advance" else receipt.period_end_on
            if receipt.total < 0:
                due = receipt.entered_on
            if due > self.today - timedelta(days=15):
                continue
            draw = self.rng.random()
            if draw < 0.85:
                plan(receipt.contract.client, receipt, receipt.total, due)
            elif draw < 0.9:
                plan(receipt.contract.client, receipt, to_money(receipt.total / 2), due)
        for invoice in self.fee_invoices:
            if invoice.entered_on > self.today - timedelta(days=45) or self.rng.random() > 0.8:
                continue
            plan(invoice.client, invoice, invoice.total, invoice.entered_on)

        user = self.users["gestionnaire"]
        for client, key in order:
            self._pay(client, groups[key], key[1], user)

    def _pay(
        self,
        client: Client,
        parts: list[tuple[Receipt | FeeInvoice, Decimal]],
        due: date,
        user: User,
    ) -> None:
        entered = max(document.entered_on for document, _amount in parts)
        received_on = min(max(due + timedelta(days=self.rng.randint(-5, 30)), entered), self.today)
        total = sum((amount for _document, amount in parts), Decimal("0.00"))
        if total < 0:
            method, reference = PaymentMethod.VIREMENT, "Remboursement de prime"
        elif client.is_company:
            method = PaymentMethod.VIREMENT
            reference = f"Mandat n° {self.rng.randint(10000, 99999)}"
        else:
            method = self.rng.choice(
                (PaymentMethod.PRELEVEMENT, PaymentMethod.CHEQUE, PaymentMethod.CARTE)
            )
            reference = (
                f"Chèque n° {self.rng.randint(1000000, 9999999)}"
                if method is PaymentMethod.CHEQUE
                else ""
            )
        payment = billing.record_payment(
            client,
            billing.PaymentInput(
                received_on=received_on, amount=total, method=method, reference=reference
            ),
            user=user,
        )
        billing.allocate(
            payment, [billing.Part(document=document, amount=amount) for document, amount in parts]
        )
        self.summary.payments += 1
        self.summary.allocations += len(parts)

    # GED (S10)

    def documents(self) -> None:
        max_bytes = int(current_app.config.get("UPLOAD_MAX_BYTES", 20 * 1024 * 1024))
        user = self.users["gestionnaire"]
        clients = self.public_clients[: _scaled(20, self.scale, 2)]
        for client, structure in clients:
            for filename, title in self.rng.sample(GED_FILES, self.rng.randint(2, 3)):
                name = filename.format(year=self.today.year)
                if title is None:
                    data = self._text_document(name, client).encode("utf-8")
                else:
                    data = _small_pdf(title, client.name, structure["siret"], self.today)
                document = portfolio.add_client_document(
                    client, name, io.BytesIO(data), max_bytes=max_bytes, uploaded_by_id=user.id
                )
                self.ged_files.append(document.stored_name)
                self.summary.documents += 1

    def _text_document(self, name: str, client: Client) -> str:
        lines = [name.removesuffix(".txt"), f"Client : {client.name}", ""]
        for year_offset in range(3):
            year = self.today.year - year_offset
            claims = self.rng.randint(0, 9)
            cost = self.rng.randint(0, 90) * 1000
            lines.append(f"{year} : {claims} sinistre(s), coût total {cost} EUR")
        return "\n".join(lines) + "\n"


def _small_pdf(title: str, client_name: str, siret: str, today: date) -> bytes:
    """A one-page GED document (not a due notice: those come from the billing PDFs)."""
    document = FPDF()
    document.set_creation_date(datetime.combine(today, time(9), tzinfo=PARIS))
    document.add_page()
    document.set_font("helvetica", "B", 16)
    document.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    document.set_font("helvetica", size=11)
    for line in (
        f"Destinataire : {client_name}",
        f"SIRET : {siret}",
        f"Document de démonstration établi le {today.strftime('%d/%m/%Y')}.",
    ):
        document.cell(0, 8, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def _latin1(text: str) -> str:
    return text.replace("’", "'").encode("latin-1", "replace").decode("latin-1")


def seed_demo(today: date, *, scale: float = 1.0) -> SeedSummary:
    """Fill an empty database with the demonstration data (see the module docstring).

    Raises ``DatabaseNotEmpty``. Commits once at the end; on any error everything is rolled
    back (including the stored files), so the database stays empty.
    """
    started = timer.perf_counter()
    ensure_empty()
    seeder = _Seeder(today, scale)
    steps = (
        ("users", seeder.users_and_settings),
        ("companies", seeder.companies_and_accounts),
        ("clients", seeder.clients),
        ("contracts", seeder.contracts),
        ("receipts", seeder.receipts_batch),
        ("receipt_pdfs", seeder.receipt_pdfs),
        ("fee_invoices", seeder.fee_invoices_batch),
        ("payments", seeder.payments),
        ("documents", seeder.documents),
    )
    try:
        for name, step in steps:
            step_started = timer.perf_counter()
            step()
            seeder.summary.timings[name] = timer.perf_counter() - step_started
        db.session.commit()
    except BaseException:
        db.session.rollback()  # the billing services delete their new PDFs on rollback
        for stored_name in seeder.ged_files:
            storage.delete(storage.GED, stored_name)
        raise
    seeder.summary.seconds = timer.perf_counter() - started
    return seeder.summary


__all__ = [
    "DEMO_PASSWORD",
    "DatabaseNotEmpty",
    "SeedSummary",
    "add_months",
    "load_directory",
    "seed_demo",
]
