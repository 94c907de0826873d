"""Quittances and Factures lists: each filter narrows, sorting, pagination, URL state, HTMX."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.billing import queries, services
from portal.billing.filters import FeeInvoiceFilters, ReceiptFilters
from portal.billing.models import Receipt
from portal.extensions import db
from tests import factories
from tests.billing.helpers import counting_statements


def numbers_in(html: str) -> list[str]:
    """Document numbers of the table rows, in order."""
    return re.findall(r'<a href="/(?:quittances|factures)/\d+">([^<]+)</a>', html)


def _two_companies_and_two_clients() -> tuple[Any, Any, Any, Any]:
    """Cabinet A and Cabinet B; the clients Commune de Sèvres and Ville de Meudon."""
    return (
        factories.make_company(name="Cabinet A"),
        factories.make_company(name="Cabinet B"),
        factories.make_client(name="Commune de Sèvres"),
        factories.make_client(name="Ville de Meudon"),
    )


@pytest.fixture
def receipts(app):
    """Four receipts over two clients, two companies and varied dates/amounts/states."""
    company_a, company_b, sevres, meudon = _two_companies_and_two_clients()
    c1 = factories.make_contract(number="CT-100", client=sevres, company=company_a)
    c2 = factories.make_contract(number="CT-200", client=meudon, company=company_b)
    rows = [  # key, number, contract, period start and end, entered on, net premium, taxes
        ("q1", "Q2025-001", c1, "2025-01-01", "2025-12-31", "2024-12-01", "100", "9"),
        ("q2", "Q2026-002", c1, "2026-01-01", "2026-03-31", "2025-12-10", "2000", "180"),
        ("q3", "Q2026-003", c2, "2026-04-01", "2026-06-30", "2026-03-01", "500", "45"),
        ("r4", "R2026-004", c2, "2026-07-01", "2026-12-31", "2026-06-01", "-50", "-4.5"),
    ]
    r = {
        key: factories.make_receipt(
            number=number,
            contract=contract,
            period_start_on=date.fromisoformat(start),
            period_end_on=date.fromisoformat(end),
            entered_on=date.fromisoformat(entered_on),
            net_premium=Decimal(net),
            taxes=Decimal(taxes),
            total=Decimal(net) + Decimal(taxes),
        )
        for key, number, contract, start, end, entered_on, net, taxes in rows
    }
    r["r4"].is_corrupted = True
    r["r4"].corruption_reason = "test"
    payment = factories.make_payment(client=sevres, amount=Decimal("109"))
    services.allocate(payment, [services.Part(r["q1"], Decimal("109"))])
    db.session.commit()
    r["ids"] = {"sevres": sevres.id, "meudon": meudon.id, "c2": c2.id, "a": company_a.id}
    return r


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["R2026-004", "Q2026-003", "Q2026-002", "Q2025-001"]),
        ("numero=Q2026", ["Q2026-003", "Q2026-002"]),
        ("numero=q2026", ["Q2026-003", "Q2026-002"]),
        ("numero=Q2026-00%25", []),
        ("client=s%C3%A8vres", ["Q2026-002", "Q2025-001"]),
        ("client=SEVRES", ["Q2026-002", "Q2025-001"]),  # case and accents do not matter
        ("client_id={sevres}", ["Q2026-002", "Q2025-001"]),
        ("contrat=CT-2", ["R2026-004", "Q2026-003"]),
        ("contrat_id={c2}", ["R2026-004", "Q2026-003"]),
        ("societe={a}", ["Q2026-002", "Q2025-001"]),
        ("periode_du=2026-03-01&periode_au=2026-04-15", ["Q2026-003", "Q2026-002"]),
        ("periode_du=2026-07-01", ["R2026-004"]),
        ("saisie_du=2025-12-01&saisie_au=2026-03-01", ["Q2026-003", "Q2026-002"]),
        ("soldee=oui", ["Q2025-001"]),
        ("soldee=non", ["R2026-004", "Q2026-003", "Q2026-002"]),
        ("montant_min=200&montant_max=2180", ["Q2026-003", "Q2026-002"]),
        ("montant_max=0", ["R2026-004"]),
        ("corrompue=oui", ["R2026-004"]),
        ("corrompue=non", ["Q2026-003", "Q2026-002", "Q2025-001"]),
    ],
)
def test_each_receipt_filter_narrows_the_list(as_lecteur, receipts, query, expected):
    html = as_lecteur.get("/quittances?" + query.format(**receipts["ids"])).get_data(as_text=True)
    assert numbers_in(html) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("number", ["Q2025-001", "Q2026-002", "Q2026-003", "R2026-004"]),
        ("-number", ["R2026-004", "Q2026-003", "Q2026-002", "Q2025-001"]),
        ("entered_on", ["Q2025-001", "Q2026-002", "Q2026-003", "R2026-004"]),
        ("-period_start", ["R2026-004", "Q2026-003", "Q2026-002", "Q2025-001"]),
        ("client", ["Q2025-001", "Q2026-002", "Q2026-003", "R2026-004"]),
        ("-client", ["R2026-004", "Q2026-003", "Q2026-002", "Q2025-001"]),
        ("-total", ["Q2026-002", "Q2026-003", "Q2025-001", "R2026-004"]),
        ("total", ["R2026-004", "Q2025-001", "Q2026-003", "Q2026-002"]),
    ],
)
def test_receipts_sort_by_each_column(as_lecteur, receipts, sort, expected):
    html = as_lecteur.get(f"/quittances?tri={sort}").get_data(as_text=True)
    assert numbers_in(html) == expected


def test_pagination_splits_pages_and_keeps_filters_in_links(as_lecteur, app):
    contract = factories.make_contract()
    for i in range(30):
        factories.make_receipt(number=f"P{i:03d}", contract=contract, entered_on=date(2026, 1, 1))
    factories.make_receipt(number="OTHER")
    db.session.commit()

    first = as_lecteur.get("/quittances?numero=P&tri=number").get_data(as_text=True)
    second = as_lecteur.get("/quittances?numero=P&tri=number&page=2").get_data(as_text=True)
    big = as_lecteur.get("/quittances?numero=P&tri=number&taille=100").get_data(as_text=True)

    assert numbers_in(first) == [f"P{i:03d}" for i in range(25)]
    assert numbers_in(second) == [f"P{i:03d}" for i in range(25, 30)]
    assert len(numbers_in(big)) == 30
    assert "26–30 sur 30 quittances" in second
    assert 'href="/quittances?numero=P&amp;tri=number&amp;page=2"' in first


def test_a_page_past_the_end_shows_the_last_page(as_lecteur, receipts):
    html = as_lecteur.get("/quittances?page=99").get_data(as_text=True)
    assert len(numbers_in(html)) == 4


def test_filters_round_trip_into_the_form_and_sort_links(as_lecteur, receipts):
    url = (
        "/quittances?numero=Q2026&client=Meudon&periode_du=2026-01-01&soldee=non"
        "&montant_min=10,5&corrompue=non&tri=-total&taille=50"
    )
    html = as_lecteur.get(url).get_data(as_text=True)

    assert 'name="numero" value="Q2026"' in html
    assert 'name="client" value="Meudon"' in html
    assert 'name="periode_du" value="2026-01-01"' in html
    assert '<option value="non" selected>' in html
    assert 'name="montant_min" value="10,5"' in html
    assert '<option value="50" selected>' in html
    assert 'name="tri" value="-total" form="receipts-filters"' in html
    # Clicking the "Total TTC" header flips the direction and keeps every filter.
    links = [
        parse_qs(urlsplit(unescape(href)).query)
        for href in re.findall(r'href="(/quittances\?[^"]*)"', html)
    ]
    expected = parse_qs(urlsplit(url).query) | {"tri": ["total"]}
    assert expected in links
    assert numbers_in(html) == ["Q2026-003"]


def test_an_htmx_request_gets_only_the_table_fragment(as_lecteur, receipts):
    response = as_lecteur.get("/quittances?numero=Q2026", headers={"HX-Request": "true"})
    full = as_lecteur.get("/quittances?numero=Q2026")

    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="receipts-table">')
    assert "<html" not in html and 'receipts-filters" method' not in html
    assert numbers_in(html) == ["Q2026-003", "Q2026-002"]
    assert "HX-Request" in response.headers["Vary"]
    assert "HX-Request" in full.headers["Vary"]
    assert "<html" in full.get_data(as_text=True)


def test_the_filter_form_updates_the_table_with_htmx_and_pushes_the_url(as_lecteur):
    html = as_lecteur.get("/quittances").get_data(as_text=True)
    form = re.search(r'<form id="receipts-filters"[^>]*>', html, re.S).group(0)
    assert 'method="get"' in form
    assert 'hx-get="/quittances"' in form
    assert 'hx-target="#receipts-table"' in form
    assert 'hx-push-url="true"' in form


def test_an_invalid_filter_value_is_ignored_with_a_warning(as_lecteur, receipts):
    html = as_lecteur.get("/quittances?saisie_du=hier").get_data(as_text=True)
    assert "ignoré" in html
    assert len(numbers_in(html)) == 4


def test_the_number_of_queries_does_not_depend_on_the_page_size(app, as_lecteur):
    for i in range(120):
        factories.make_receipt(number=f"N{i:04d}")
    db.session.commit()
    counts = {}
    for size in (25, 100):
        as_lecteur.get(f"/quittances?taille={size}")  # same warm state for both sizes
        with counting_statements() as statements:
            response = as_lecteur.get(f"/quittances?taille={size}")
        assert len(numbers_in(response.get_data(as_text=True))) == size
        counts[size] = len(statements)
    assert counts[25] == counts[100]


def test_the_list_select_is_reusable_for_all_matching_documents(receipts):
    filters = ReceiptFilters.from_args({"client_id": str(receipts["ids"]["meudon"])})
    select_ids = queries.receipts_query(filters).with_only_columns(Receipt.id)
    ids = set(db.session.execute(select_ids).scalars())
    assert ids == {receipts["q3"].id, receipts["r4"].id}
    assert queries.count(queries.receipts_query(filters)) == 2


def test_the_chorus_number_filter_appears_only_when_dematerialization_is_on(as_lecteur, receipts):
    from portal.settings import chorus, store

    receipts["q2"].chorus_invoice_id = 987654
    db.session.commit()
    assert 'name="chorus"' not in as_lecteur.get("/quittances").get_data(as_text=True)
    assert len(numbers_in(as_lecteur.get("/quittances?chorus=987654").get_data(as_text=True))) == 4

    store.put_bool(chorus.CHORUS_ENABLED, True)
    db.session.commit()

    html = as_lecteur.get("/quittances?chorus=987654").get_data(as_text=True)
    assert 'name="chorus"' in html
    assert numbers_in(html) == ["Q2026-002"]


# -- fee invoices ---------------------------------------------------------------------------------


@pytest.fixture
def invoices(app):
    company_a, company_b, sevres, meudon = _two_companies_and_two_clients()
    contract = factories.make_contract(number="CT-300", client=meudon, company=company_b)
    f1 = factories.make_fee_invoice(
        number="FH-001", client=sevres, company=company_a, entered_on=date(2026, 1, 5)
    )
    factories.make_fee_invoice(
        number="FH-002",
        client=meudon,
        contract=contract,
        entered_on=date(2026, 2, 5),
        amount_ht=Decimal("1000"),
        vat_amount=Decimal("200"),
        total=Decimal("1200"),
    )
    payment = factories.make_payment(client=sevres, amount=Decimal("600"))
    services.allocate(payment, [services.Part(f1, Decimal("600"))])
    db.session.commit()
    return {"sevres": sevres.id, "a": company_a.id, "b": company_b.id}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["FH-002", "FH-001"]),
        ("numero=FH-001", ["FH-001"]),
        ("client=meudon", ["FH-002"]),
        ("client_id={sevres}", ["FH-001"]),
        ("contrat=CT-3", ["FH-002"]),
        ("societe={a}", ["FH-001"]),
        ("societe={b}", ["FH-002"]),
        ("saisie_du=2026-02-01", ["FH-002"]),
        ("soldee=oui", ["FH-001"]),
        ("montant_min=1000", ["FH-002"]),
        ("tri=total", ["FH-001", "FH-002"]),
        ("tri=client", ["FH-001", "FH-002"]),
    ],
)
def test_each_fee_invoice_filter_and_sort(as_lecteur, invoices, query, expected):
    html = as_lecteur.get("/factures?" + query.format(**invoices)).get_data(as_text=True)
    assert numbers_in(html) == expected


def test_fee_invoice_filters_parse_like_receipt_filters():
    filters = FeeInvoiceFilters.from_args({"tri": "period_start"})
    assert filters.sort == "-entered_on"  # fee invoices have no period


def test_htmx_pushes_the_canonical_url_without_empty_fields(as_lecteur, receipts):
    response = as_lecteur.get(
        "/quittances?numero=Q2026&client=&contrat=&soldee=&taille=25&tri=-entered_on",
        headers={"HX-Request": "true"},
    )
    assert response.headers["HX-Push-Url"] == "/quittances?numero=Q2026"
