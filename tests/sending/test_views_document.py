"""Document Chorus panel, action menu entry and list badges (S9, S11, B8, B9, S1, roles)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from portal.dematerialization.models import ChorusExchange
from portal.extensions import db
from portal.jobs.models import ItemState, Job, JobItem, JobKind
from portal.models_base import ChorusState
from tests import factories
from tests.billing.helpers import counting_statements
from tests.sending.conftest import sendable_contract, sendable_receipt
from tests.sending.view_helpers import enable_chorus


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def panel_of(html: str) -> str:
    start = html.index('data-testid="chorus-panel"')
    return html[start : html.index("</details>", start)]


def test_s9_an_eligible_receipt_shows_the_badge_the_note_and_the_send_action(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    receipt = sendable_receipt()

    html = page(as_gestionnaire, f"/quittances/{receipt.id}")

    panel = panel_of(html)
    assert "Dématérialisable" in panel
    assert "Destinataire non encore vérifié" in panel  # non-blocking B3 note
    assert f'href="/dematerialisation/quittances/{receipt.id}/envoyer"' in html
    assert 'data-testid="chorus-send-action"' in html
    assert "Aucun échange avec Chorus Pro" in panel


def test_s9_an_ineligible_receipt_lists_every_reason_and_offers_a_disabled_entry(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    contract = factories.make_contract(chorus_service_code=" ", is_chorus_enabled=False)
    receipt = factories.make_receipt(contract=contract)  # no due notice
    db.session.commit()

    html = page(as_gestionnaire, f"/quittances/{receipt.id}")

    panel = panel_of(html)
    assert "Non dématérialisable" in panel
    for message in (
        "Chorus Pro n&#39;est pas activé sur le contrat.",
        "Le contrat n&#39;a pas de code service.",
        "L&#39;avis d&#39;échéance (PDF) de la quittance n&#39;existe pas.",
    ):
        assert message in panel
    assert 'data-testid="chorus-send-action"' not in html
    assert 'data-testid="chorus-send-action-disabled"' in html
    assert "voir les conditions" in html


def test_s11_a_sent_receipt_shows_its_chorus_number_status_and_deposit_date(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    receipt = sendable_receipt()
    receipt.chorus_state = ChorusState.SENT
    receipt.chorus_invoice_id = 8800123
    receipt.chorus_status = "DEPOSEE"
    receipt.chorus_deposited_at = factories.utcnow()
    db.session.commit()

    html = page(as_gestionnaire, f"/quittances/{receipt.id}")

    panel = panel_of(html)
    assert "8800123" in panel
    assert 'data-status="DEPOSEE"' in panel
    assert "Déposée le" in panel
    assert 'data-testid="chorus-send-action"' not in html
    assert "Déjà dématérialisé : voir les conditions" in html


def test_s13_a_receipt_in_progress_links_to_the_running_job(
    as_gestionnaire: FlaskClient, gestionnaire
) -> None:
    enable_chorus()
    receipt = sendable_receipt()
    receipt.chorus_state = ChorusState.IN_PROGRESS
    job = Job(kind=JobKind.MASS_SEND, total=1, created_by_id=gestionnaire.id)
    job.items.append(
        JobItem(
            document_type="receipt",
            document_id=receipt.id,
            document_number=receipt.number,
            state=ItemState.PENDING,
        )
    )
    db.session.add(job)
    db.session.commit()

    html = page(as_gestionnaire, f"/quittances/{receipt.id}")

    assert 'data-testid="chorus-in-progress"' in html
    assert f'href="/dematerialisation/envois/{job.id}"' in html
    # The progress link of a mass send leads to the job page.
    response = as_gestionnaire.get(f"/dematerialisation/envois/{job.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/taches/{job.id}")


def test_b9_the_panel_lists_every_exchange_in_french_with_job_user_and_ids(
    as_gestionnaire: FlaskClient, gestionnaire
) -> None:
    enable_chorus()
    receipt = sendable_receipt()
    job = Job(kind=JobKind.SINGLE_SEND, total=1, created_by_id=gestionnaire.id)
    db.session.add(job)
    db.session.flush()
    db.session.add_all(
        [
            ChorusExchange(
                document_type="receipt",
                document_id=receipt.id,
                job_id=job.id,
                user_id=gestionnaire.id,
                operation="transverses/ajouter/fichier",
                outcome="ok",
                message="Pièce « Avis.pdf » déposée",
                attachment_id=555,
            ),
            ChorusExchange(
                document_type="receipt",
                document_id=receipt.id,
                job_id=job.id,
                user_id=gestionnaire.id,
                operation="factures/soumettre",
                outcome="refused",
                code_retour="20003",
                message="Code service obligatoire",
            ),
            ChorusExchange(  # another document's exchange is not shown
                document_type="fee_invoice",
                document_id=receipt.id,
                operation="factures/soumettre",
                outcome="ok",
                chorus_invoice_id=999999,
            ),
        ]
    )
    db.session.commit()

    panel = panel_of(page(as_gestionnaire, f"/quittances/{receipt.id}"))

    assert "Dépôt d&#39;une pièce jointe" in panel
    assert "Soumission de la facture" in panel
    assert f'href="/taches/{job.id}"' in panel
    assert "gestionnaire" in panel
    assert "Refus" in panel and "<code>20003</code>" in panel
    assert "Pièce 555" in panel
    assert "999999" not in panel


def test_a_fee_invoice_gets_the_same_panel_and_action(as_gestionnaire: FlaskClient) -> None:
    enable_chorus()
    contract = sendable_contract()
    invoice = factories.make_fee_invoice(client=contract.client, contract=contract)
    from portal.billing.services import store_generated_pdf

    store_generated_pdf(invoice)
    db.session.commit()

    html = page(as_gestionnaire, f"/factures/{invoice.id}")

    assert "Dématérialisable" in panel_of(html)
    assert f'href="/dematerialisation/factures/{invoice.id}/envoyer"' in html


def test_a_reader_sees_the_panel_but_no_action(as_lecteur: FlaskClient) -> None:
    enable_chorus()
    receipt = sendable_receipt()

    html = page(as_lecteur, f"/quittances/{receipt.id}")

    assert "Dématérialisable" in panel_of(html)
    assert "Dématérialiser dans Chorus Pro" not in html


def test_s1_while_off_nothing_chorus_shows_and_every_route_is_404(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus(False)
    receipt = sendable_receipt()

    html = page(as_gestionnaire, f"/quittances/{receipt.id}")
    listing = page(as_gestionnaire, "/quittances")

    assert 'data-testid="chorus-panel"' not in html
    assert "Dématérialiser" not in html
    assert "chorus-badge" not in listing and "Dématérialisation Chorus Pro" not in listing
    for url in (
        f"/dematerialisation/quittances/{receipt.id}/envoyer",
        f"/dematerialisation/quittances/{receipt.id}/budget",
        f"/dematerialisation/quittances/badges?ids={receipt.id}",
        "/dematerialisation/envois/1",
    ):
        assert as_gestionnaire.get(url).status_code == 404, url


# -- list badges ---------------------------------------------------------------------------------


def test_the_list_renders_first_then_one_request_fills_every_badge(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    contract = sendable_contract()
    good = sendable_receipt(contract)
    missing_pdf = factories.make_receipt(contract=contract)
    sent = sendable_receipt(contract)
    sent.chorus_state = ChorusState.SENT
    sent.chorus_invoice_id = 4242
    db.session.commit()

    listing = page(as_gestionnaire, "/quittances")

    for receipt in (good, missing_pdf, sent):
        assert f'<span id="chorus-badge-receipt-{receipt.id}"></span>' in listing
    loader = re.search(r'hx-get="(/dematerialisation/quittances/badges\?[^"]+)"', listing)
    assert loader is not None
    url = loader.group(1).replace("&amp;", "&")
    badges = page(as_gestionnaire, url)
    assert badges.count('hx-swap-oob="true"') == 3
    good_badge = _badge(badges, "receipt", good.id)
    assert "Dématérialisable" in good_badge and "Non dématérialisable" not in good_badge
    assert "non encore vérifié" in good_badge  # the note, in the title
    missing = _badge(badges, "receipt", missing_pdf.id)
    assert "Non dématérialisable" in missing
    assert "L&#39;avis d&#39;échéance (PDF) de la quittance n&#39;existe pas." in missing
    assert "N° Chorus 4242" in _badge(badges, "receipt", sent.id)


def _badge(html: str, prefix: str, document_id: int) -> str:
    start = html.index(f'id="chorus-badge-{prefix}-{document_id}"')
    return html[start : html.index("</span>\n", start)]


def test_the_badges_of_a_page_cost_one_query_whatever_the_number_of_rows(
    as_gestionnaire: FlaskClient,
) -> None:
    enable_chorus()
    contract = sendable_contract()
    receipts = [sendable_receipt(contract) for _ in range(12)]
    factories.make_recipient(contract.client.siret)
    db.session.commit()

    def statements_for(ids: list[int]) -> list[str]:
        query = "&".join(f"ids={i}" for i in ids)
        with counting_statements() as statements:
            response = as_gestionnaire.get(f"/dematerialisation/quittances/badges?{query}")
        assert response.status_code == 200
        return statements

    statements_for([receipts[0].id])  # warm-up: the session keeps the logged-in user
    few = statements_for([r.id for r in receipts[:2]])
    many = statements_for([r.id for r in receipts])
    assert len(few) == len(many)
    assert len([s for s in many if "FROM receipts" in s]) == 1


def test_fee_invoice_badges_use_their_own_slots(as_gestionnaire: FlaskClient) -> None:
    enable_chorus()
    invoice = factories.make_fee_invoice()
    db.session.commit()

    listing = page(as_gestionnaire, "/factures")
    assert f'<span id="chorus-badge-fee-invoice-{invoice.id}"></span>' in listing
    badges = page(as_gestionnaire, f"/dematerialisation/factures/badges?ids={invoice.id}")
    assert f'id="chorus-badge-fee-invoice-{invoice.id}"' in badges
    assert "Aucun contrat n&#39;est rattaché à la facture." in badges
