"""B4 « Récupérer depuis Chorus Pro » on a bank account: the supplier's codes to choose from."""

from __future__ import annotations

from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import store
from tests import factories
from tests.connection.conftest import chorus_off, text

URL = "/administration/chorus/coordonnees-bancaires"
HX = {"HX-Request": "true"}


def test_b4_the_bank_account_form_offers_the_lookup_in_its_chorus_block(
    as_gestionnaire, chorus
) -> None:
    company = factories.make_company()
    db.session.commit()
    html = text(as_gestionnaire.get(f"/societes/{company.id}/comptes/nouveau"))
    block = html.split('id="bank-account-chorus-lookup"', 1)[1]
    assert 'data-testid="chorus-bank-lookup-button"' in block
    assert "Récupérer depuis Chorus Pro" in block
    assert f'hx-get="{URL}"' in block


def test_s1_off_the_bank_account_form_shows_nothing_of_chorus(as_gestionnaire, chorus) -> None:
    chorus_off()
    company = factories.make_company()
    db.session.commit()
    html = text(as_gestionnaire.get(f"/societes/{company.id}/comptes/nouveau"))
    assert "Récupérer depuis Chorus Pro" not in html
    assert 'id="bank-account-chorus' not in html
    assert "Code du compte bancaire fournisseur" not in html


def test_b4_the_lookup_lists_bank_details_and_services_to_fill_the_form_with(
    as_gestionnaire, chorus
) -> None:
    response = as_gestionnaire.get(URL, headers=HX)
    html = text(response)
    assert response.status_code == 200
    assert 'data-fill-target="chorus_bank_details_id" data-fill-value="45000001"' in html
    assert 'data-fill-target="chorus_bank_details_id" data-fill-value="45000002"' in html
    assert "45000001 — Compte courant Dupont (Crédit Agricole)" in html
    assert 'data-fill-target="chorus_supplier_service_id" data-fill-value="35000001"' in html
    assert "COMPTA (Comptabilité clients)" in html
    assert "choisissez celles de ce compte par leur nom" in html  # Chorus gives no IBAN
    assert 'data-testid="chorus-bank-iban-hint"' not in html


def test_b4_a_name_containing_the_iban_typed_in_the_form_is_only_a_hint(
    as_gestionnaire, chorus
) -> None:
    html = text(
        as_gestionnaire.get(
            URL, query_string={"iban": "fr60 3000 3035 4000 0500 0012 345"}, headers=HX
        )
    )
    assert html.count('data-testid="chorus-bank-iban-hint"') == 1
    hinted = html.split('data-testid="chorus-bank-iban-hint"')[0].rsplit("list-group-item", 1)[1]
    assert "45000002" in hinted
    assert "le nom contient l&#39;IBAN …2345 du compte" in html
    # Both remain choosable: the hint never decides.
    assert 'data-fill-target="chorus_bank_details_id" data-fill-value="45000001"' in html
    assert 'data-fill-target="chorus_bank_details_id" data-fill-value="45000002"' in html


def test_b4_an_iban_found_in_no_name_gives_no_hint_and_a_silly_one_no_error(
    as_gestionnaire, chorus
) -> None:
    for iban in ("FR7630006000011234567890189", "x" * 5000, "<script>"):
        response = as_gestionnaire.get(URL, query_string={"iban": iban}, headers=HX)
        assert response.status_code == 200
        assert 'data-testid="chorus-bank-iban-hint"' not in text(response)


def test_b4_without_a_supplier_id_the_lookup_says_what_to_do_first(as_gestionnaire, chorus) -> None:
    store.put(keys.SUPPLIER_ID, None)
    db.session.commit()
    html = text(as_gestionnaire.get(URL, headers=HX))
    assert "L&#39;identifiant fournisseur n&#39;est pas renseigné" in html
    assert chorus.state.stats.calls.get("transverses/recuperer/coordbanc/valides", 0) == 0


def test_b4_an_unreachable_chorus_is_reported_in_french(as_gestionnaire, chorus_down) -> None:
    html = text(as_gestionnaire.get(URL, headers=HX))
    assert "Recherche impossible." in html
    assert "Chorus Pro est injoignable" in html or "PISTE est injoignable" in html


def test_b4_a_refusal_from_chorus_is_shown_with_its_french_message(as_gestionnaire, chorus) -> None:
    store.put(keys.SUPPLIER_ID, "99999999")
    db.session.commit()
    html = text(as_gestionnaire.get(URL, headers=HX))
    assert "Recherche impossible." in html
    assert "Chorus Pro a refusé la demande" in html
