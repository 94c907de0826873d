"""Hostile input never gives a 500 (issue 12, item 7).

Every rule of ``app.url_map`` is requested, logged in as each role, with hostile values (huge
integers, negative, zero, non-numeric, unicode, empty, NUL, very long, malformed dates and
amounts) in each path argument, and in every query parameter the views read, all at once;
POST rules get the same values in every field. Then every form found on the pages is posted
with one field at a time hostile, the others as the page shows them (an edit page shows valid
values, so the hostile one reaches the services). Any 500 (or exception) fails, with the list
of offending requests and, for a query string or form, the parameters that cause it.

Not combinatorial: the values of a request are all the same (or one field varies), so the walk
stays around half a minute per database. The administrator gets every value; the other roles
a shorter list (the parsing is the same, their access differs).

Background work is not run (the job runner's ``launch``/``start`` are stubbed): a job a
request creates is recorded, not executed. Chorus is on (S1) and aimed at a closed loopback
port without retries, so the Chorus-dependent branches run and fail fast. Only the logout
(it would end the walk's session) is never posted; the login form is walked anonymously.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from portal.billing.models import Allocation
from portal.billing.services import store_generated_pdf
from portal.chorus.client import RetryPolicy
from portal.chorus.statuses import PAID_STATUS
from portal.extensions import db
from portal.jobs.models import Job, JobKind, JobState
from portal.jobs.pool import JobRunner
from portal.models_base import MAX_ROW_ID
from portal.notifications.models import Notification, StoredReport
from portal.portfolio.services import add_client_document
from portal.settings import chorus, store
from tests import factories
from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow

HUGE = str(10**30)
# Values put in path arguments and query parameters.
HOSTILE: tuple[str, ...] = (
    HUGE,
    str(MAX_ROW_ID + 1),
    "-1",
    "0",
    "abc",
    "é漢🙂",
    "",
    "\x00",
    "9" * 400,
    "1e309",
    "-0,001",
    "99999999999999999999999999999,99",
    "2025-02-30",
    "31/12/99999",
    "0001-01-01",
    "<script>",
    "' OR 1=1 --",
    "²",  # "²".isdigit() is true, int("²") fails
    "١٢",
    "100,005",
)
# Values put in one form field at a time, the others keeping the page's (valid) values.
FIELD_VALUES: tuple[str, ...] = (
    HUGE,
    "-1",
    "abc",
    "é漢",
    "",
    "9" * 400,
    "-0,001",
    "100,005",
    "99999999999999999999999999999,99",
    "0001-01-01",
    "9999-12-31",
    "²",
    "\x00",
)
# What the other roles get (the administrator gets ``HOSTILE``).
SHORT_HOSTILE: tuple[str, ...] = (HUGE, "-1", "abc", "é漢🙂", "\x00", "²", "9" * 30 + ",999")
# Integer path arguments also get these (the converter refuses anything not digits).
HOSTILE_IDS: tuple[str, ...] = (HUGE, str(MAX_ROW_ID + 1), str(MAX_ROW_ID), "0", "-1", "abc")

# Every query parameter a view reads (request.args, list filters, htmx searches).
QUERY_PARAMS: tuple[str, ...] = (
    # pagination, sort, views
    "page",
    "taille",
    "tri",
    "vue",
    "etat",
    "type",
    "id",
    "ids",
    "pieces",
    # searches
    "q",
    "recherche_client",
    "numero",
    "client",
    "client_id",
    "contrat",
    "contrat_id",
    "contract_id",
    "contract_number",
    "company_id",
    "societe",
    "chorus",
    "statut_chorus",
    "iban",
    # filters
    "saisie_du",
    "saisie_au",
    "periode_du",
    "periode_au",
    "du",
    "au",
    "soldee",
    "montant_min",
    "montant_max",
    "corrompue",
    "mode",
    "non_affecte",
    # automatic sending preview
    "delay_receipts",
    "delay_fee_invoices",
    "cutoff_date",
    # Système tab lookups (the code picked in the select)
    "vat_exemption_code",
    "default_attachment_type",
)

# POST-only endpoints (actions): posted with these field names set to the hostile value.
ACTION_FIELDS: tuple[str, ...] = (
    "ids",
    "tous",
    "filtre-client_id",
    "filtre-montant_min",
    "filtre-saisie_du",
    "filtre-page",
    "documents",
    "received_on",
    "method",
    "pieces",
    "type-1",
    "code",
    "next",
    "retour",
    "structure_id",
    "user_id",
    "client_id",
    "contract_id",
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# Endpoints not posted to, and why.
NOT_POSTED = {
    "auth.logout": "ends the session the walk needs",
    "auth.login": "posted separately, anonymously",
    "settings.users_security": "a ticked box sends the walking admin to enrol a second factor",
}
ROLES = {"admin": HOSTILE, "gestionnaire": SHORT_HOSTILE, "lecture": SHORT_HOSTILE}


@dataclass
class World:
    """One object of each kind, so that valid ids exist for every path argument."""

    ids: dict[str, int] = field(default_factory=dict)
    receipt_number: str = ""


def _build_world(app: Flask) -> World:
    store.put_bool(chorus.CHORUS_ENABLED, True)
    store.put(chorus.ENVIRONMENT, "emulator")
    store.put(chorus.OAUTH_URL, "http://127.0.0.1:9/api/oauth/token")
    store.put(chorus.API_URL, "http://127.0.0.1:9")
    store.put(chorus.CLIENT_ID, "fuzz")
    store.put_secret(chorus.CLIENT_SECRET, "fuzz")
    store.put(chorus.TECH_LOGIN, "fuzz")
    store.put_secret(chorus.TECH_PASSWORD, "fuzz")
    store.put(chorus.SUPPLIER_ID, "1")
    store.put_date(chorus.CUTOFF_DATE, date(2020, 1, 1))
    company = factories.make_company()
    account = factories.make_bank_account(company)
    client = factories.make_client()
    contract = factories.make_contract(client=client, company=company, bank_account=account)
    receipt = factories.make_receipt(contract=contract)
    invoice = factories.make_fee_invoice(client=client, contract=contract, company=company)
    payment = factories.make_payment(client=client)
    allocation = Allocation(payment=payment, receipt=receipt, amount=Decimal("10.00"))
    db.session.add(allocation)
    report = StoredReport(filename="rapport.csv", stored_name="fuzz-report.csv")
    db.session.add(report)
    victim = factories.make_user("victime", role="lecture")
    job = Job(kind=JobKind.SINGLE_SEND, state=JobState.DONE, created_by_id=victim.id)
    db.session.add(job)
    notification = Notification(user_id=victim.id, title="Note", report=report)
    # A GED document (the send screen offers it as an attachment, with its type select) and
    # a fee invoice Chorus says is paid (« À solder » lists it with its checkbox).
    document = add_client_document(client, "piece.pdf", io.BytesIO(PDF), max_bytes=10_000)
    paid = factories.make_fee_invoice(client=client, company=company, chorus_status=PAID_STATUS)
    db.session.add_all([notification, paid])
    store_generated_pdf(receipt)
    db.session.commit()
    ids = {
        "client_id": client.id,
        "company_id": company.id,
        "account_id": account.id,
        "contract_id": contract.id,
        "receipt_id": receipt.id,
        "invoice_id": invoice.id,
        "payment_id": payment.id,
        "allocation_id": allocation.id,
        "document_id": receipt.id,
        "job_id": job.id,
        "notification_id": notification.id,
        "report_id": report.id,
        "user_id": victim.id,
        "client_document_id": document.id,
    }
    return World(ids=ids, receipt_number=receipt.number)


def _valid_value(rule: Rule, name: str, world: World) -> str:
    if name == "kind":
        return "quittances"
    if name == "list_key":
        return "chorus_admins"
    if name == "filename":
        return "portal.css"
    if rule.endpoint.startswith("portfolio.document") and name == "document_id":
        return str(world.ids["client_document_id"])
    return str(world.ids.get(name, 1))


def _is_int_argument(rule: Rule, name: str) -> bool:
    return type(rule._converters[name]).__name__ == "RowIdConverter"


def _path(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", quote(value, safe=""), path)
    return path


def _paths(rule: Rule, world: World, values: tuple[str, ...] = HOSTILE) -> Iterator[str]:
    """The valid path first, then each argument in turn replaced by hostile values (the
    arguments in the path: a rule's defaults are not)."""
    names = list(rule._converters)
    valid = {name: _valid_value(rule, name, world) for name in names}
    yield _path(rule, valid)
    for name in names:
        for value in HOSTILE_IDS if _is_int_argument(rule, name) else values:
            yield _path(rule, {**valid, name: value})


@dataclass
class Walk:
    client: FlaskClient
    failures: list[str] = field(default_factory=list)
    token: str = ""

    def fails(self, method: str, path: str, **kwargs: Any) -> str | None:
        """None when the request is answered below 500, else what went wrong (one line)."""
        try:
            response = self.client.open(path, method=method, **kwargs)
        except Exception as error:
            db.session.rollback()  # the test's app context outlives the request
            lines = str(error).strip().splitlines() or [""]
            return f"{type(error).__name__}: {lines[0][:160]}"
        response.close()
        return f"HTTP {response.status_code}" if response.status_code >= 500 else None

    def request(self, method: str, path: str, **kwargs: Any) -> None:
        if problem := self.fails(method, path, **kwargs):
            self.failures.append(f"{method} {path[:120]} → {problem}")

    def request_with(self, method: str, path: str, values: dict[str, str]) -> None:
        """``values`` as query string (GET) or form (POST); on failure, name the culprits."""
        key = "query_string" if method == "GET" else "data"
        extra = {} if method == "GET" else {"csrf_token": self.token}
        if not self.fails(method, path, **{key: {**values, **extra}}):
            return
        culprits = [
            name
            for name, value in values.items()
            if self.fails(method, path, **{key: {name: value, **extra}})
        ]
        sample = next(iter(values.values()), "")
        problem = self.fails(method, path, **{key: {**values, **extra}})
        self.failures.append(
            f"{method} {path[:120]} with {sorted(culprits) or sorted(values)} = "
            f"{sample[:40]!r} → {problem}"
        )


def _login(client: FlaskClient, username: str) -> str:
    page = client.get("/connexion")
    token = factories.csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/connexion", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return factories.csrf_token_from(client.get("/").get_data(as_text=True))


def _rules(app: Flask) -> list[Rule]:
    """Every rule, the administration last: a hostile post there may switch Chorus off (S1)
    for the rest of the walk."""
    return sorted(
        app.url_map.iter_rules(),
        key=lambda rule: (rule.rule.startswith("/administration"), rule.rule, rule.endpoint),
    )


@pytest.fixture
def world(app: Flask, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(JobRunner, "launch", lambda self, job_id: None)
    monkeypatch.setattr(JobRunner, "start", lambda self, job_id: None)
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, retry_after: None)
    for role in ROLES:
        factories.make_user(role, role=role, password=PASSWORD)
    return _build_world(app)


def _walk_gets(app: Flask, walk: Walk, world: World, values: tuple[str, ...]) -> None:
    for rule in _rules(app):
        if "GET" not in (rule.methods or ()):
            continue
        paths = list(_paths(rule, world, values))
        for path in paths:
            walk.request("GET", path)
        for value in values:
            walk.request_with("GET", paths[0], dict.fromkeys(QUERY_PARAMS, value))


def _walk_posts(app: Flask, walk: Walk, world: World, values: tuple[str, ...]) -> None:
    for rule in _rules(app):
        if "POST" not in (rule.methods or ()) or rule.endpoint in NOT_POSTED:
            continue
        paths = list(_paths(rule, world, values))
        names = ACTION_FIELDS
        if "GET" in (rule.methods or ()):
            shown = {name for form in _page_forms(walk, paths[0]) for name in form.values}
            names = tuple(sorted(shown - {"csrf_token"})) or ACTION_FIELDS
        for value in values:
            walk.request_with("POST", paths[0], dict.fromkeys(names, value))
        for path in paths[1:]:
            walk.request("POST", path, data={"csrf_token": walk.token})


@dataclass
class PageForm:
    """A POST form found on a page: where it posts and the values it would send as shown."""

    action: str
    values: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """The POST forms of a page (``action`` or ``hx-post``), with their current values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            post = a.get("method", "").lower() == "post" or "hx-post" in a
            action = a.get("hx-post") or a.get("action") or self.page
            self._form = PageForm(action) if post else None
            return
        form, name = self._form, a.get("name")
        if form is None or not name:
            if tag == "option" and form is not None and self._select and "selected" in a:
                form.values[self._select] = a.get("value", "")
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file", "image"):
            if a.get("type") != "radio" or "checked" in a:  # every checkbox, as if ticked
                form.values[name] = a.get("value", "")
        elif tag == "select":
            self._select = name
            form.values.setdefault(name, "")
        elif tag == "textarea":
            self._textarea = name
            form.values[name] = ""

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _page_forms(walk: Walk, path: str) -> list[PageForm]:
    response = walk.client.get(path)
    response.close()
    if response.status_code != 200 or response.mimetype != "text/html":
        return []
    parser = _FormParser(path)
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def _walk_forms(app: Flask, walk: Walk, world: World) -> None:
    """Each form of each page: one field at a time hostile, the others as the page shows them
    (an edit page shows valid values, so the hostile one reaches the services)."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    pages = [
        next(_paths(rule, world))
        for rule in _rules(app)
        if "GET" in (rule.methods or ()) and rule.endpoint not in NOT_POSTED
    ]
    pages.append(f"/encaissements/saisie?numero={world.receipt_number}")
    for page in pages:
        for form in _page_forms(walk, page):
            action = form.action.split("?")[0]
            names = tuple(sorted(name for name in form.values if name != "csrf_token"))
            endpoint = _endpoint(app, action)
            if not names or endpoint in NOT_POSTED or (action, names) in seen:
                continue
            seen.add((action, names))
            for name in names:
                for value in FIELD_VALUES:
                    data = {**form.values, name: value, "csrf_token": walk.token}
                    walk.request("POST", form.action, data=data)


def _endpoint(app: Flask, path: str) -> str | None:
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:
        return None
    return str(endpoint)


def test_every_form_field_of_every_page_survives_a_hostile_value(
    app: Flask, client: FlaskClient, world: World
) -> None:
    walk = Walk(client)
    walk.token = _login(client, "admin")
    _walk_forms(app, walk, world)
    assert not walk.failures, "\n".join(walk.failures)


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_500_to_hostile_paths_query_strings_or_forms(
    app: Flask, client: FlaskClient, world: World, role: str
) -> None:
    walk = Walk(client)
    walk.token = _login(client, role)
    _walk_gets(app, walk, world, ROLES[role])
    _walk_posts(app, walk, world, ROLES[role])
    assert not walk.failures, "\n".join(walk.failures)


def test_the_login_form_survives_hostile_input(app: Flask, client: FlaskClient) -> None:
    walk = Walk(client)
    token = factories.csrf_token_from(client.get("/connexion").get_data(as_text=True))
    for value in HOSTILE:
        walk.request(
            "POST",
            "/connexion",
            data={"username": value, "password": value, "next": value, "csrf_token": token},
        )
        walk.request("GET", "/connexion", query_string={"next": value})
    assert not walk.failures, "\n".join(walk.failures)
