"""« Mise en service » (issue 10 §7): each step's ✔ and ✘ against the emulator, access, inputs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import requests

from portal.chorus.emulator import operations
from portal.connection import health, throttle
from portal.extensions import db
from portal.settings import chorus as keys
from portal.settings import reference_lists, store
from portal.settings.models import Setting
from tests.chorus.emulator_fixtures import (
    BANK_DETAILS_ID,
    CLIENT_SECRET,
    SIRET_PAID,
    TECH_PASSWORD,
)
from tests.connection.conftest import HX, chorus_off, text
from tests.factories import (
    csrf_token_from,
    make_bank_account,
    make_client,
    make_company,
    make_contract,
)

URL = "/administration/mise-en-service/"
CLIENTS_URL = "/administration/mise-en-service/clients"
CONTRACTS_URL = "/administration/mise-en-service/contrats"
SYSTEM_URL = "/administration/parametres/systeme"
SIRET_UNKNOWN = "11000201100044"  # valid, but no structure of the emulator's directory
SIRET_INACTIVE = "28603208107374"  # « Commune désactivée de Vieux-Moulin »
SIRET_SERVICE_REQUIRED = "28797309311412"  # codeServiceDoitEtreRenseigne
VAT_CODE = operations.VAT_EXEMPTION_REASONS[0][0]

STEP_LABELS = [
    "Jeton d&#39;accès PISTE",
    "Compte technique (en-tête cpro-account)",
    "Structure du fournisseur active",
    "Coordonnées bancaires du fournisseur",
    "Motif d&#39;exonération de TVA",
    "Types de pièces jointes",
    "Structure du client public",
    "Service du contrat",
]


def _steps(html: str) -> list[str]:
    return [
        part.split('"', 1)[0] for part in html.split('data-testid="chorus-step" data-status="')[1:]
    ]


def _step(html: str, label: str) -> str:
    """The markup of one step (from its label to the next step)."""
    start = html.index(f"<strong>{label}</strong>")
    end = html.find('data-testid="chorus-step"', start)
    return html[start : end if end != -1 else len(html)]


def _allow_another_run() -> None:
    """Forget the last run's start (the throttle is tested on its own)."""
    row = db.session.get(Setting, throttle.PREFIX + "go_live")
    if row is not None:
        db.session.delete(row)
        db.session.commit()


@pytest.fixture
def ready(chorus) -> dict[str, Any]:
    """Settings and portfolio that pass every step with the emulator's default directory."""
    store.put(keys.VAT_EXEMPTION_CODE, VAT_CODE)
    company = make_company(name="Cabinet Dupont")
    account = make_bank_account(
        company, label="Compte courant", chorus_bank_details_id=BANK_DETAILS_ID
    )
    client = make_client(name="Commune de Saint-Aubin", siret=SIRET_PAID)
    contract = make_contract(
        client=client,
        company=company,
        bank_account=account,
        chorus_service_code="TECHNIQUE",
        chorus_engagement_number="EJ-2026-001",
    )
    db.session.commit()
    return {"client": client, "contract": contract, "account": account}


@pytest.fixture
def run(post):
    def do_run(client_id: Any = "", contract_id: Any = "", *, htmx: bool = True):
        _allow_another_run()
        data = {"client_id": str(client_id), "contract_id": str(contract_id)}
        return post(URL, data, htmx=htmx)

    return do_run


def _calls(emulator) -> int:
    return sum(emulator.state.stats.calls.values())


# -- reaching the page ---------------------------------------------------------------------------


def test_the_admin_navigation_and_the_system_tab_lead_to_the_go_live_page(as_admin, chorus) -> None:
    html = text(as_admin.get(SYSTEM_URL))
    assert 'data-testid="go-live-nav"' in html
    assert f'href="{URL}"' in html
    assert 'data-testid="go-live-link"' in html
    page = as_admin.get(URL)
    assert page.status_code == 200
    html = text(page)
    assert "Mise en service de Chorus Pro" in html
    assert 'data-testid="go-live-run"' in html and "Lancer" in html
    assert f'hx-post="{URL}"' in html
    assert "Émulateur intégré" in html


def test_s1_off_the_page_does_not_exist_and_the_navigation_hides_it(as_admin, chorus) -> None:
    chorus_off()
    assert as_admin.get(URL).status_code == 404
    assert 'data-testid="go-live-nav"' not in text(as_admin.get("/administration/"))


@pytest.mark.parametrize(
    ("method", "url"), [("GET", URL), ("POST", URL), ("GET", CLIENTS_URL), ("GET", CONTRACTS_URL)]
)
@pytest.mark.parametrize("role", ["as_gestionnaire", "as_lecteur"])
def test_only_admins_may_open_or_run_the_checklist(request, chorus, role, method, url) -> None:
    client = request.getfixturevalue(role)
    if method == "GET":
        response = client.get(url, headers=HX)
    else:
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        response = client.post(url, data={}, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403
    assert _calls(chorus) == 0


def test_anonymous_users_are_sent_to_log_in(client, chorus) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_the_run_needs_the_csrf_token(as_admin, chorus) -> None:
    response = as_admin.post(URL, data={}, headers=HX)
    assert response.status_code == 400
    assert _calls(chorus) == 0


# -- every step passing --------------------------------------------------------------------------


def test_a_ready_environment_passes_every_step_with_chorus_answers_and_no_secret(
    as_admin, run, ready
) -> None:
    response = run(ready["client"].id, ready["contract"].id)
    html = text(response)
    assert response.status_code == 200
    assert _steps(html) == ["ok"] * 8, html
    for label in STEP_LABELS:
        assert f"<strong>{label}</strong>" in html
    assert "Toutes les étapes sont validées" in html
    # Chorus's exact answer, per step.
    assert "token → HTTP 200" in _step(html, STEP_LABELS[0])
    account = _step(html, STEP_LABELS[1])
    assert (
        "transverses/recuperer/structures/actives/fournisseur → HTTP 200 · codeRetour 0" in account
    )
    assert "25000001" in _step(html, STEP_LABELS[2])
    assert "valable jusqu&#39;au 30/06/2027" in html
    assert "45000001" in _step(html, STEP_LABELS[3])
    assert VAT_CODE in _step(html, STEP_LABELS[4])
    structure = _step(html, STEP_LABELS[6])
    assert "26000100" in structure and "structures/consulter → HTTP 200" in structure
    service = _step(html, STEP_LABELS[7])
    assert "Service « TECHNIQUE »" in service
    assert "Numéro d&#39;engagement exigé par le service : oui" in service
    assert "EJ-2026-001" in service
    assert 'data-testid="go-live-rules"' in html
    assert 'data-testid="chorus-step-advice"' not in html
    assert CLIENT_SECRET not in html and TECH_PASSWORD not in html
    assert "Bearer" not in html


def test_a_run_stores_the_password_expiry_and_the_vat_reasons_read_on_the_way(
    as_admin, run, ready
) -> None:
    run(ready["client"].id)
    db.session.expire_all()
    assert store.get_date(health.PASSWORD_EXPIRES_ON) == date(2027, 6, 30)
    settings = keys.load()
    stored = reference_lists.load(reference_lists.VAT_EXEMPTION_REASONS, api_url=settings.api_url)
    assert VAT_CODE in stored
    types = reference_lists.load(reference_lists.ATTACHMENT_TYPES, api_url=settings.api_url)
    assert types.is_known and types.codes


def test_without_a_client_the_client_steps_are_not_checked(as_admin, run, ready) -> None:
    html = text(run())
    assert _steps(html) == ["ok"] * 6 + ["skipped"] * 2
    assert "Non vérifié : aucun client public n&#39;a été choisi." in html
    assert "Aucune étape en échec" in html
    assert ">Non vérifié<" in html


def test_without_a_contract_the_service_step_is_not_checked(as_admin, run, ready) -> None:
    html = text(run(ready["client"].id))
    assert _steps(html) == ["ok"] * 7 + ["skipped"]
    assert "Non vérifié : aucun contrat n&#39;a été choisi." in html


def test_without_htmx_the_run_answers_the_whole_page(as_admin, run, ready) -> None:
    response = run(ready["client"].id, htmx=False)
    html = text(response)
    assert response.status_code == 200
    assert "<html" in html and "Mise en service de Chorus Pro" in html
    assert _steps(html)[:7] == ["ok"] * 7


# -- each step failing ---------------------------------------------------------------------------


def test_a_wrong_piste_secret_fails_the_token_and_leaves_the_rest_unchecked(
    as_admin, run, ready
) -> None:
    store.put_secret(keys.CLIENT_SECRET, "secret-faux-123")
    db.session.commit()
    html = text(run(ready["client"].id, ready["contract"].id))
    assert _steps(html) == ["failed"] + ["skipped"] * 7
    token = _step(html, STEP_LABELS[0])
    assert "token → HTTP 401" in token
    assert "client ID et le client secret PISTE" in token
    assert "Non vérifié : aucun jeton d&#39;accès n&#39;a pu être obtenu." in html
    assert "secret-faux-123" not in html


def test_a_wrong_technical_password_fails_the_account_step_with_what_to_do(
    as_admin, run, ready
) -> None:
    store.put_secret(keys.TECH_PASSWORD, "mauvais-mot-de-passe")
    db.session.commit()
    html = text(run(ready["client"].id))
    assert _steps(html) == ["ok", "failed"] + ["skipped"] * 6
    account = _step(html, STEP_LABELS[1])
    assert "HTTP 401" in account
    assert "424 jours" in account
    assert "mauvais-mot-de-passe" not in html and TECH_PASSWORD not in html


def test_an_unreachable_chorus_fails_the_token_with_the_unavailable_advice(
    as_admin, run, chorus_down
) -> None:
    html = text(run())
    assert _steps(html) == ["failed"] + ["skipped"] * 7
    assert "injoignable" in html
    assert "relancez la vérification dans quelques minutes" in html


def test_missing_credentials_are_listed_without_calling_chorus(as_admin, run, chorus) -> None:
    store.put(keys.CLIENT_SECRET, None)
    db.session.commit()
    html = text(run())
    assert 'data-testid="go-live-configuration"' in html
    assert "Client secret PISTE" in html
    assert _calls(chorus) == 0


def test_a_supplier_id_outside_the_accounts_structures_fails_and_skips_the_bank_step(
    as_admin, run, ready
) -> None:
    store.put(keys.SUPPLIER_ID, "25000999")
    db.session.commit()
    html = text(run())
    assert _steps(html)[2:4] == ["failed", "skipped"]
    supplier = _step(html, STEP_LABELS[2])
    assert "La structure 25000999 n&#39;est pas parmi les structures actives" in supplier
    assert "À faire" in supplier
    assert "Non vérifié : la structure du fournisseur n&#39;est pas validée." in html


def test_a_bank_account_code_unknown_to_chorus_fails_the_bank_step(as_admin, run, ready) -> None:
    make_bank_account(
        make_company(name="Cabinet Martin"),
        label="Compte honoraires",
        chorus_bank_details_id=45009999,
    )
    db.session.commit()
    html = text(run())
    assert _steps(html)[3] == "failed"
    bank = _step(html, STEP_LABELS[3])
    assert "Cabinet Martin — Compte honoraires : code 45009999 inconnu de Chorus Pro" in bank
    assert "transverses/recuperer/coordbanc/valides → HTTP 200" in bank
    assert "Récupérer depuis Chorus Pro" in bank


def test_a_chorus_contracts_bank_account_without_a_code_fails_the_bank_step(
    as_admin, run, ready
) -> None:
    ready["account"].chorus_bank_details_id = None
    make_bank_account(
        make_company(name="Cabinet Libre"), label="Compte libre", chorus_bank_details_id=None
    )
    db.session.commit()
    html = text(run())
    bank = _step(html, STEP_LABELS[3])
    assert _steps(html)[3] == "failed"
    assert "Cabinet Dupont — Compte courant : aucun code" in bank
    assert "Cabinet Libre" not in bank.split("À faire")[0].split("Coordonnées valides")[0]


def test_an_unused_bank_account_without_a_code_is_only_mentioned(as_admin, run, ready) -> None:
    make_bank_account(
        make_company(name="Cabinet Libre"), label="Compte libre", chorus_bank_details_id=None
    )
    db.session.commit()
    html = text(run())
    assert _steps(html)[3] == "ok"
    assert (
        "Sans code (aucun contrat Chorus Pro ne les utilise) : Cabinet Libre — Compte libre."
        in html
    )


@pytest.mark.parametrize(
    ("key", "value", "step", "messages"),
    [
        pytest.param(
            keys.SUPPLIER_ID,
            None,
            2,
            ["L&#39;identifiant fournisseur n&#39;est pas renseigné."],
            id="a_missing_supplier_id_fails_the_supplier_step",
        ),
        pytest.param(
            keys.VAT_EXEMPTION_CODE,
            None,
            4,
            [
                "Aucun motif n&#39;est choisi (4 proposés par Chorus Pro).",
                "Choisir parmi les motifs de Chorus Pro",
            ],
            id="no_vat_exemption_code_fails_the_vat_step_with_what_to_do",
        ),
        pytest.param(
            keys.VAT_EXEMPTION_CODE,
            "MOTIF_DISPARU",
            4,
            ["Le motif « MOTIF_DISPARU » n&#39;est plus dans la liste de Chorus Pro"],
            id="a_vat_exemption_code_chorus_no_longer_lists_fails_the_vat_step",
        ),
        pytest.param(
            keys.DEFAULT_ATTACHMENT_TYPE,
            "TYPE_DISPARU",
            5,
            [
                "Le type de pièce jointe par défaut « TYPE_DISPARU » n&#39;est pas dans la liste",
                "transverses/recuperer/typespj → HTTP 200 · codeRetour 0",
            ],
            id="a_default_attachment_type_chorus_does_not_list_fails_its_step",
        ),
    ],
)
def test_a_setting_chorus_cannot_take_fails_its_step_with_what_to_do(
    as_admin, run, ready, key, value, step, messages
) -> None:
    store.put(key, value)
    db.session.commit()
    html = text(run())
    assert _steps(html)[step] == "failed"
    for message in messages:
        assert message in _step(html, STEP_LABELS[step])


def test_a_failing_list_fails_its_step_only_with_the_http_answer(
    as_admin, run, ready, chorus
) -> None:
    operation = "transverses/recuperer/motifs/exonerationtva"
    script = [{"kind": "error", "operation": operation, "times": 2, "status": 500}]
    requests.post(f"{chorus.base_url}/_emulator/faults", json={"script": script}, timeout=5)
    html = text(run())
    assert _steps(html)[4] == "failed"
    vat = _step(html, STEP_LABELS[4])
    assert "HTTP 500" in vat and "2 tentatives" in vat
    assert "relancez la vérification dans quelques minutes" in vat
    assert _steps(html)[5] == "ok"


def test_a_siret_unknown_to_chorus_fails_the_structure_step(as_admin, run, ready) -> None:
    client = make_client(name="Mairie inconnue", siret=SIRET_UNKNOWN)
    contract = make_contract(client=client, chorus_service_code="FINANCES")
    db.session.commit()
    html = text(run(client.id, contract.id))
    assert _steps(html)[6:] == ["failed", "skipped"]
    structure = _step(html, STEP_LABELS[6])
    assert "Aucune structure Chorus Pro ne correspond au SIRET du client" in structure
    assert "structures/rechercher → HTTP 200 · codeRetour 20000" in structure
    assert "Non vérifié : la structure du client n&#39;est pas validée." in html


def test_an_inactive_structure_fails_the_structure_step(as_admin, run, ready) -> None:
    client = make_client(name="Vieux-Moulin", siret=SIRET_INACTIVE)
    db.session.commit()
    html = text(run(client.id))
    assert _steps(html)[6] == "failed"
    assert "La structure destinataire est inactive dans Chorus Pro." in html


def test_the_structure_rules_are_shown(as_admin, run, ready) -> None:
    client = make_client(name="Villeneuve", siret=SIRET_SERVICE_REQUIRED)
    db.session.commit()
    html = text(run(client.id))
    structure = _step(html, STEP_LABELS[6])
    assert "code service obligatoire : oui" in structure
    assert "numéro d&#39;engagement obligatoire : non" in structure
    rules = html[html.index('data-testid="go-live-rules"') :]
    assert "Code service obligatoire</th><td>Oui" in rules


@pytest.mark.parametrize(
    ("service_code", "engagement", "expected"),
    [
        ("INCONNU", "EJ-1", "Le code service du contrat n&#39;existe pas dans la structure"),
        ("ANCIEN-SVC", "EJ-1", "Le service du contrat est inactif dans Chorus Pro."),
        ("FACTURES_PUBLIQUES", "EJ-1", "réservé aux factures entre entités publiques"),
        ("TECHNIQUE", None, "Le service destinataire exige un numéro d&#39;engagement"),
        (None, "EJ-1", "Le contrat n&#39;a pas de code service."),
    ],
)
def test_a_contract_whose_service_breaks_a_rule_fails_the_service_step(
    as_admin, run, ready, service_code, engagement, expected
) -> None:
    contract = ready["contract"]
    contract.chorus_service_code = service_code
    contract.chorus_engagement_number = engagement
    db.session.commit()
    html = text(run(ready["client"].id, contract.id))
    assert _steps(html)[7] == "failed"
    service = _step(html, STEP_LABELS[7])
    assert expected in service
    assert "À faire" in service
    assert "Services actifs de la structure" in service or engagement is None
    assert "FACTURES_PUBLIQUES," not in service.split("Services actifs de la structure")[-1]


def test_a_service_without_engagement_rule_passes_without_an_engagement_number(
    as_admin, run, ready
) -> None:
    contract = ready["contract"]
    contract.chorus_service_code = "FINANCES"
    contract.chorus_engagement_number = None
    db.session.commit()
    html = text(run(ready["client"].id, contract.id))
    assert _steps(html)[7] == "ok"
    assert "Le contrat n&#39;a pas de numéro d&#39;engagement." in html
    assert "structures/consulter/service → HTTP 200" in _step(html, STEP_LABELS[7])


# -- bad inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "contract_id", "field", "message"),
    [
        ("abc", "", "client_id", "Choisissez un client de la liste."),
        ("-3", "", "client_id", "Choisissez un client de la liste."),
        ("9" * 40, "", "client_id", "Choisissez un client de la liste."),
        ("999999999", "", "client_id", "Ce client n&#39;existe pas ou plus"),
        ("", "1", "contract_id", "Choisissez d&#39;abord le client du contrat."),
        ("CLIENT", "x" * 500, "contract_id", "Choisissez un contrat de la liste."),
        ("CLIENT", "999999999999999999", "contract_id", "Choisissez un contrat de la liste."),
        ("CLIENT", "999999999", "contract_id", "n&#39;est pas un contrat Chorus Pro"),
    ],
)
def test_a_bad_choice_is_refused_in_french_next_to_its_field_without_calling_chorus(
    as_admin, run, ready, chorus, client_id, contract_id, field, message
) -> None:
    if client_id == "CLIENT":
        client_id = ready["client"].id
    response = run(client_id, contract_id)
    html = text(response)
    assert response.status_code == 200
    assert message in html
    select = html[html.index(f'name="{field}"') :]
    assert "is-invalid" in select[: select.index(">")]
    assert 'data-testid="chorus-step"' not in html
    assert _calls(chorus) == 0
    assert db.session.get(Setting, throttle.PREFIX + "go_live") is None


def test_a_client_without_siret_and_another_clients_contract_are_refused(
    as_admin, run, ready, chorus
) -> None:
    no_siret = make_client(name="Particulier", siret=None)
    other = make_contract(client=make_client(name="Autre", siret=SIRET_INACTIVE))
    not_chorus = make_contract(client=ready["client"], is_chorus_enabled=False)
    db.session.commit()
    assert "n&#39;a pas de SIRET" in text(run(no_siret.id))
    assert "n&#39;est pas un contrat Chorus Pro de ce client" in text(
        run(ready["client"].id, other.id)
    )
    assert "n&#39;est pas un contrat Chorus Pro de ce client" in text(
        run(ready["client"].id, not_chorus.id)
    )
    assert _calls(chorus) == 0


def test_without_htmx_a_bad_choice_is_a_422_page(as_admin, run, ready) -> None:
    response = run("abc", htmx=False)
    assert response.status_code == 422
    assert "Choisissez un client de la liste." in text(response)


def test_garbage_in_the_page_and_option_urls_is_ignored(as_admin, ready) -> None:
    for url in (
        f"{URL}?client_id=abc&contract_id={'9' * 40}",
        f"{URL}?client_id=-1&recherche_client={'x' * 5000}",
        f"{CLIENTS_URL}?client_id={'9' * 40}&recherche_client=%27%22",
        f"{CONTRACTS_URL}?client_id={'9' * 40}",
    ):
        assert as_admin.get(url, headers=HX).status_code == 200, url
    # A NUL character is refused app-wide, before any view (issue 12).
    nul = as_admin.get(f"{CLIENTS_URL}?recherche_client=%00%27", headers=HX)
    assert nul.status_code == 400


# -- choosing a client ----------------------------------------------------------------------------


def test_the_client_select_offers_only_clients_with_a_siret_and_narrows_on_search(
    as_admin, ready
) -> None:
    make_client(name="Particulier Sans Siret", siret=None)
    make_client(name="Lycée Jean-Moulin", siret="28093208819675")
    db.session.commit()
    html = text(as_admin.get(URL))
    assert "Commune de Saint-Aubin — SIRET 21588139298698" in html
    assert "Particulier Sans Siret" not in html
    options = text(as_admin.get(f"{CLIENTS_URL}?recherche_client=lycee", headers=HX))
    assert "Lycée Jean-Moulin" in options and "Saint-Aubin" not in options


def test_the_contract_select_offers_the_clients_chorus_contracts(as_admin, ready) -> None:
    make_contract(client=ready["client"], number="CT-HORS-CHORUS", is_chorus_enabled=False)
    db.session.commit()
    options = text(as_admin.get(f"{CONTRACTS_URL}?client_id={ready['client'].id}", headers=HX))
    assert ready["contract"].number in options and "(TECHNIQUE)" in options
    assert "CT-HORS-CHORUS" not in options


def test_the_page_preselects_the_client_given_in_its_url(as_admin, ready) -> None:
    html = text(as_admin.get(f"{URL}?client_id={ready['client'].id}"))
    assert f'<option value="{ready["client"].id}" selected>' in html
    assert ready["contract"].number in html


# -- throttling -----------------------------------------------------------------------------------


def test_a_second_run_within_the_interval_is_refused_without_calling_chorus(
    as_admin, post, ready, chorus
) -> None:
    first = text(post(URL, {"client_id": "", "contract_id": ""}))
    assert _steps(first)
    calls = _calls(chorus)
    response = post(URL, {"client_id": "", "contract_id": ""})
    html = text(response)
    assert response.status_code == 200
    assert 'data-testid="go-live-throttled"' in html
    assert "relancez-la dans" in html
    assert _calls(chorus) == calls
    page = post(URL, {"client_id": "", "contract_id": ""}, htmx=False)
    assert page.status_code == 429
