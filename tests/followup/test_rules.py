"""The pure follow-up rules (final statuses, history merge, labels) and their SQL twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.billing import rules as billing_rules
from portal.chorus.results import StatusEntry
from portal.extensions import db
from portal.followup import queries, rules
from portal.followup.rules import KnownEvent, is_final, merge_history
from portal.models_base import ChorusState
from tests import factories

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAIN_PATH = [
    "DEPOSEE",
    "EN_COURS_ACHEMINEMENT",
    "MISE_A_DISPOSITION",
    "PRISE_EN_COMPTE_DESTINATAIRE",
    "SERVICE_FAIT",
    "MANDATEE",
    "MISE_A_DISPOSITION_COMPTABLE",
    "COMPTABILISEE",
    "MISE_EN_PAIEMENT",
]


@pytest.mark.parametrize(
    ("status", "not_reported", "final"),
    [
        ("MISE_EN_PAIEMENT", False, True),
        ("MISE_EN_PAIEMENT", True, True),
        ("REJETEE", False, True),
        ("ABANDONNEE", False, True),
        ("SUPPRIMEE", False, True),
        ("MANDATEE", False, False),
        ("MANDATEE", True, True),
        ("COMPTABILISEE", True, True),
        ("SERVICE_FAIT", True, False),
        ("SUSPENDUE", False, False),
        ("A_RECYCLER", True, False),
        ("DEPOSEE", False, False),
        ("UN_STATUT_INCONNU", False, False),
        (None, True, False),
    ],
)
def test_b1_final_statuses(status, not_reported, final) -> None:
    assert is_final(status, not_reported) is final


def test_b1_every_status_has_a_french_label_and_unknown_codes_stay_readable() -> None:
    for code in [*MAIN_PATH, "REJETEE", "SUSPENDUE", "A_RECYCLER", "COMPLETEE"]:
        assert rules.status_label(code) != code
    assert rules.status_label("A_RECYCLER") == "À recycler"
    assert rules.status_label("NOUVEAU_STATUT") == "NOUVEAU_STATUT"  # shown as it came
    assert rules.status_label(None) == "Inconnu"
    assert rules.status_tone("MISE_EN_PAIEMENT") == "success"
    assert rules.status_tone("REJETEE") == "danger"
    assert rules.status_tone("SUSPENDUE") == "warning"


def entries(*codes: str, comment: str | None = None) -> list[StatusEntry]:
    return [
        StatusEntry(code, T0 + timedelta(hours=index), comment) for index, code in enumerate(codes)
    ]


def test_merge_inserts_only_what_is_new() -> None:
    known = [KnownEvent(1, "DEPOSEE", T0, None)]
    merge = merge_history(known, entries("DEPOSEE", "EN_COURS_ACHEMINEMENT"), default_time=T0)
    assert [e.code for e in merge.inserts] == ["EN_COURS_ACHEMINEMENT"]
    assert merge.updates == ()
    again = merge_history(
        [*known, KnownEvent(2, "EN_COURS_ACHEMINEMENT", T0 + timedelta(hours=1), None)],
        entries("DEPOSEE", "EN_COURS_ACHEMINEMENT"),
        default_time=T0,
    )
    assert again == rules.HistoryMerge()


def test_merge_gives_the_row_recorded_at_sending_chorus_s_own_instant() -> None:
    sent_at = T0 - timedelta(minutes=3)  # the portal's clock, not Chorus's
    merge = merge_history(
        [KnownEvent(7, "DEPOSEE", sent_at, None)], entries("DEPOSEE"), default_time=T0
    )
    assert merge.inserts == ()
    assert merge.updates == ((7, StatusEntry("DEPOSEE", T0, None)),)


def test_merge_keeps_each_occurrence_of_a_returned_status_as_its_own_row() -> None:
    first = T0 + timedelta(hours=4)
    known = [KnownEvent(1, "SUSPENDUE", first, "pièce manquante")]
    history = [
        StatusEntry("SUSPENDUE", first, "pièce manquante"),
        StatusEntry("COMPLETEE", first + timedelta(hours=1), None),
        StatusEntry("SUSPENDUE", first + timedelta(hours=5), "encore une pièce"),
    ]
    merge = merge_history(known, history, default_time=T0)
    assert [(e.code, e.comment) for e in merge.inserts] == [
        ("COMPLETEE", None),
        ("SUSPENDUE", "encore une pièce"),
    ]
    # Never paired with an older row, even an unmatched one.
    stale = merge_history([KnownEvent(1, "SUSPENDUE", T0, None)], [history[2]], default_time=T0)
    assert [e.code for e in stale.inserts] == ["SUSPENDUE"] and stale.updates == ()


def test_merge_refreshes_a_comment_added_later_and_dates_undated_entries() -> None:
    known = [KnownEvent(3, "REJETEE", T0, None)]
    merge = merge_history(known, entries("REJETEE", comment="motif"), default_time=T0)
    assert merge.updates == ((3, StatusEntry("REJETEE", T0, "motif")),)
    undated = merge_history([], [StatusEntry("DEPOSEE", None, None)], default_time=T0)
    assert undated.inserts == (StatusEntry("DEPOSEE", T0, None),)
    known_undated = merge_history(known, [StatusEntry("REJETEE", None, None)], default_time=T0)
    assert known_undated == rules.HistoryMerge()


# -- the SQL selection agrees with is_final ------------------------------------------------------


def test_b1_the_documents_to_read_are_exactly_the_sent_non_final_ones(app) -> None:
    """Feed every (status × structure rule × type) to the SQL and to ``is_final``."""
    reporting = factories.make_client(siret=factories.VALID_SIRET)
    silent = factories.make_client(siret=factories.OTHER_VALID_SIRET)
    no_siret = factories.make_client(siret=None)
    factories.make_recipient(factories.OTHER_VALID_SIRET, payment_not_reported=True)
    factories.make_recipient(factories.VALID_SIRET, payment_not_reported=False)
    expected = set()
    statuses = [None, "DEPOSEE", "MANDATEE", "COMPTABILISEE", "SUSPENDUE", "REJETEE",
                "MISE_EN_PAIEMENT", "INCONNU"]  # fmt: skip
    for client in (reporting, silent, no_siret):
        contract = factories.make_contract(client=client)
        for status in statuses:
            for state in ChorusState:
                receipt = factories.make_receipt(
                    contract=contract,
                    chorus_state=state,
                    chorus_status=status,
                    chorus_invoice_id=None if state is ChorusState.NOT_SENT else 1000,
                )
                invoice = factories.make_fee_invoice(
                    client=client,
                    chorus_state=state,
                    chorus_status=status,
                    chorus_invoice_id=None if state is ChorusState.NOT_SENT else 1000,
                )
                if state is ChorusState.SENT and not is_final(status, client is silent):
                    expected.add(("receipt", receipt.id))
                    expected.add(("fee_invoice", invoice.id))
    db.session.commit()

    found = {(kind, document_id) for kind, document_id, _number in queries.candidates()}

    assert found == expected
    assert len(found) == 2 * (6 + 4 + 6)  # silent structure: MANDATEE, COMPTABILISEE final


# -- B10: linking a refund ------------------------------------------------------------------------


def test_b10_a_refund_links_only_to_a_positive_receipt_of_the_same_contract_or_client() -> None:
    def error(**changes):
        values = {"total": -100, "original_total": 1090, "is_self": False}
        values.update(same_contract=True, same_client=True)
        values.update(changes)
        return billing_rules.refund_link_error(**values)

    assert error() is None
    assert error(same_contract=False) is None
    assert "même contrat ou du même client" in error(same_contract=False, same_client=False)
    assert "Seul un remboursement" in error(total=50)
    assert "pas un remboursement" in error(original_total=-20)
    assert "sa propre quittance" in error(is_self=True)
