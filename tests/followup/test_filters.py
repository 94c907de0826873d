"""S17 and B1 list filters: "N° Chorus Pro" (exact) and "Statut Chorus", only while S1 is on,
kept in the URL, read back from the mass-action criteria, on indexed columns."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from portal.billing.filters import FeeInvoiceFilters, ReceiptFilters
from portal.billing.models import FeeInvoice, Receipt
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories

HX = {"HX-Request": "true"}


def numbers_in(html: str) -> list[str]:
    return sorted(re.findall(r'<a href="/(?:quittances|factures)/\d+">([^<]+)</a>', html))


@pytest.fixture
def documents(app):
    """Receipts and fee invoices in every Chorus state, S1 on."""
    store.put_bool(keys.CHORUS_ENABLED, True)
    contract = factories.make_contract()
    made = {
        "new": factories.make_receipt(number="Q-NEW", contract=contract),
        "busy": factories.make_receipt(
            number="Q-BUSY", contract=contract, chorus_state="in_progress"
        ),
        "paid": factories.make_receipt(
            number="Q-PAID",
            contract=contract,
            chorus_state="sent",
            chorus_invoice_id=700001,
            chorus_status="MISE_EN_PAIEMENT",
        ),
        "rejected": factories.make_receipt(
            number="Q-REJ",
            contract=contract,
            chorus_state="sent",
            chorus_invoice_id=700002,
            chorus_status="REJETEE",
        ),
        "fee": factories.make_fee_invoice(
            number="F-SUSP",
            client=contract.client,
            chorus_state="sent",
            chorus_invoice_id=700003,
            chorus_status="SUSPENDUE",
        ),
    }
    db.session.commit()
    return made


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("non_envoye", ["Q-NEW"]),
        ("en_cours", ["Q-BUSY"]),
        ("envoye", ["Q-PAID", "Q-REJ"]),
        ("MISE_EN_PAIEMENT", ["Q-PAID"]),
        ("REJETEE", ["Q-REJ"]),
        ("SUSPENDUE", []),
    ],
)
def test_b1_the_chorus_status_filter_narrows_the_receipts(
    as_lecteur, documents, value, expected
) -> None:
    html = as_lecteur.get(f"/quittances?statut_chorus={value}").get_data(as_text=True)
    assert numbers_in(html) == expected


def test_b1_the_status_choices_are_the_states_then_each_status_seen(as_lecteur, documents):
    html = as_lecteur.get("/quittances?statut_chorus=REJETEE").get_data(as_text=True)
    select = html[html.index('name="statut_chorus"') : html.index("</select>", html.index(
        'name="statut_chorus"'))]  # fmt: skip
    options = re.findall(r'<option value="([^"]*)"', select)
    assert options == ["", "non_envoye", "en_cours", "envoye", "MISE_EN_PAIEMENT", "REJETEE"]
    assert '<option value="REJETEE" selected>Rejetée</option>' in select
    fee = as_lecteur.get("/factures").get_data(as_text=True)
    assert '<option value="SUSPENDUE">Suspendue</option>' in fee
    assert numbers_in(
        as_lecteur.get("/factures?statut_chorus=SUSPENDUE").get_data(as_text=True)
    ) == ["F-SUSP"]


def test_s17_the_chorus_number_filter_is_exact(as_lecteur, documents):
    assert numbers_in(as_lecteur.get("/quittances?chorus=700001").get_data(as_text=True)) == [
        "Q-PAID"
    ]
    assert numbers_in(as_lecteur.get("/quittances?chorus=70000").get_data(as_text=True)) == []
    assert numbers_in(as_lecteur.get("/factures?chorus=700003").get_data(as_text=True)) == [
        "F-SUSP"
    ]


def test_b1_the_filters_stay_in_the_pushed_url(as_lecteur, documents):
    response = as_lecteur.get("/quittances?statut_chorus=envoye&chorus=700002", headers=HX)
    assert response.headers["HX-Push-Url"] == "/quittances?chorus=700002&statut_chorus=envoye"
    assert numbers_in(response.get_data(as_text=True)) == ["Q-REJ"]


def test_b1_an_invalid_status_is_ignored_with_a_warning(as_lecteur, documents):
    html = as_lecteur.get("/quittances?statut_chorus=<script>").get_data(as_text=True)
    assert "Filtre « Statut Chorus » ignoré : valeur invalide." in html
    assert len(numbers_in(html)) == 4


def test_b1_the_chorus_filters_do_not_exist_while_s1_is_off(as_lecteur, documents):
    store.put_bool(keys.CHORUS_ENABLED, False)
    db.session.commit()
    html = as_lecteur.get("/quittances?statut_chorus=REJETEE&chorus=700002").get_data(as_text=True)
    assert 'name="statut_chorus"' not in html and 'name="chorus"' not in html
    assert len(numbers_in(html)) == 4
    args = MultiDict({"statut_chorus": "REJETEE"})
    assert ReceiptFilters.from_args(args).chorus_status == ""


def test_b1_mass_actions_read_the_status_filter_back_from_the_criteria() -> None:
    filters = FeeInvoiceFilters.from_args(
        MultiDict({"statut_chorus": "en_cours", "chorus": "12"}), chorus_enabled=True
    )
    criteria = filters.criteria_args()
    assert criteria == {"chorus": "12", "statut_chorus": "en_cours"}
    posted = {f"filtre-{name}": value for name, value in criteria.items()}
    assert FeeInvoiceFilters.from_selection_form(posted, chorus_enabled=True) == filters


def test_b1_the_filtered_columns_are_indexed(app) -> None:
    for model in (Receipt, FeeInvoice):
        indexed = {
            column.name
            for index in model.__table__.indexes
            for column in index.columns
            if len(index.columns) == 1
        }
        assert {"chorus_state", "chorus_status", "chorus_invoice_id"} <= indexed
