"""B8: every known refusal or failure has a plain-French explanation and its fix."""

from __future__ import annotations

import re

import pytest

from portal.chorus.emulator.codes import LIBELLES, Code
from portal.chorus.errors import (
    ChorusAuthenticationError,
    ChorusConfigurationError,
    ChorusError,
    ChorusRefused,
    ChorusUnavailable,
)
from portal.dematerialization import playbook
from portal.dematerialization.playbook import PLAYBOOK, Explanation, Kind, explain
from portal.sending import rules


def entry_for(code: str) -> playbook.Entry:
    return next(entry for entry in PLAYBOOK if code in entry.codes)


def test_b8_service_code_required_says_what_to_do() -> None:
    explained = explain("20104", "Le code service est obligatoire pour ce destinataire.")
    assert explained.explanation == "Code service obligatoire pour cette structure."
    assert explained.fix.startswith("Renseignez-le sur le contrat")
    assert explained.kind is Kind.CHORUS and explained.is_refusal


def test_every_code_appears_once_in_the_table() -> None:
    codes = [code.upper() for entry in PLAYBOOK for code in entry.codes]
    assert len(codes) == len(set(codes))


def test_every_entry_is_french_prose_with_a_fix() -> None:
    for entry in PLAYBOOK:
        for text in (entry.explanation, entry.fix):
            assert text[0].isupper(), text
            assert text.endswith("."), text
        for pattern in entry.patterns:
            re.compile(pattern)
            assert pattern == pattern.lower(), "patterns are matched on lower-case text"


@pytest.mark.parametrize("code", sorted(rules.REASONS))
def test_every_pre_send_reason_of_the_rules_is_covered(code: str) -> None:
    explained = explain(code, rules.REASONS[code].message)
    assert explained.kind is Kind.PORTAL
    assert "non répertoriée" not in explained.explanation


@pytest.mark.parametrize("code", [c for c in Code if c is not Code.OK], ids=lambda c: c.name)
def test_every_emulator_refusal_code_is_covered(code: Code) -> None:
    explained = explain(str(int(code)), LIBELLES[code])
    assert "non répertoriée" not in explained.explanation
    assert explained.kind is Kind.CHORUS
    assert entry_for(str(int(code))).explanation == explained.explanation


@pytest.mark.parametrize(
    "code",
    [c for c in Code if c not in (Code.OK, Code.INVALID_REQUEST)],
    ids=lambda c: c.name,
)
def test_an_emulator_libelle_alone_is_recognised_when_the_code_is_unknown(code: Code) -> None:
    # The real Chorus codes of most business refusals are not published: the libellé decides.
    explained = explain("99999", LIBELLES[code])
    assert explained.explanation == entry_for(str(int(code))).explanation


def test_a_generic_code_gives_way_to_a_more_precise_libelle() -> None:
    message = "Paramètre d'entrée invalide. Le numéro de facture a déjà été utilisé."
    assert explain("20001", message).explanation == entry_for("20117").explanation
    assert explain("400", "Le code service est obligatoire pour ce destinataire.").explanation == (
        "Code service obligatoire pour cette structure."
    )
    assert explain("20001", "Paramètre d'entrée invalide.").explanation == (
        entry_for("20001").explanation
    )


def test_matching_ignores_accents_case_and_typographic_apostrophes() -> None:
    assert explain(None, "LE NUMERO D’ENGAGEMENT EST OBLIGATOIRE POUR CE DESTINATAIRE").fix == (
        entry_for("20105").fix
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AUTHENTIFICATION", Kind.TECHNICAL),
        ("401", Kind.TECHNICAL),
        ("HTTP_403", Kind.TECHNICAL),
        ("INDISPONIBLE", Kind.TECHNICAL),
        ("HTTP 503", Kind.TECHNICAL),
        ("429", Kind.TECHNICAL),
        ("500", Kind.TECHNICAL),
        ("ISSUE_INCONNUE", Kind.TECHNICAL),
        ("CONFIGURATION", Kind.TECHNICAL),
        ("ERREUR_INTERNE", Kind.TECHNICAL),
        ("DOCUMENT_SUPPRIME", Kind.TECHNICAL),
        ("413", Kind.CHORUS),
        ("HTTP_400", Kind.CHORUS),
        ("REJETEE", Kind.STATUS),
        ("SUSPENDUE", Kind.STATUS),
        ("A_RECYCLER", Kind.STATUS),
    ],
)
def test_http_level_failures_and_returned_statuses_are_covered(code: str, kind: Kind) -> None:
    explained = explain(code, None)
    assert explained.kind is kind
    assert "non répertoriée" not in explained.explanation
    assert explained.is_refusal is (kind is not Kind.TECHNICAL)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413, 415, 429, 500, 502, 503, 504])
def test_every_http_status_chorus_or_the_emulator_answers_with_is_covered(status: int) -> None:
    # The emulator (portal/chorus/emulator/app.py) puts the HTTP status in ``codeRetour``.
    assert "non répertoriée" not in explain(status, None).explanation
    assert explain(f"HTTP_{status}", None) == explain(status, None)


def test_authentication_failure_points_to_the_technical_account_password() -> None:
    explained = explain("AUTHENTIFICATION", None)
    assert "424 jours" in explained.explanation
    assert "Paramètres › Système" in explained.fix


def test_unknown_outcome_explains_that_resending_cannot_duplicate() -> None:
    assert "aucun doublon" in explain("ISSUE_INCONNUE").fix


def test_statuses_returned_by_the_recipient_explain_the_chorus_action() -> None:
    assert "nouveau numéro" in explain("REJETEE").fix
    assert "compléter" in explain("SUSPENDUE").fix
    assert "recycler" in explain("A_RECYCLER").fix


def test_an_unknown_failure_still_shows_the_raw_code_and_message() -> None:
    explained = explain("98765", "Erreur exotique XYZ")
    assert explained.explanation == "Erreur non répertoriée (code 98765 : Erreur exotique XYZ)."
    assert "assistance Chorus Pro" in explained.fix
    assert explained.kind is Kind.CHORUS
    assert explain("BIZARRE", None).explanation == "Erreur non répertoriée (code BIZARRE)."
    assert explain("BIZARRE", None).kind is Kind.TECHNICAL
    assert explain(None, "Message brut").explanation == "Erreur non répertoriée (Message brut)."
    assert explain(None, None) == Explanation(
        "Erreur non répertoriée.", explain(None, None).fix, Kind.TECHNICAL
    )


def test_codes_are_read_loosely() -> None:
    assert explain(20104) == explain("20104")
    assert explain(" s9_no_siret ") == explain("S9_NO_SIRET")
    assert explain("http-401") == explain("401")


def test_several_codes_are_explained_together() -> None:
    explained = explain("S9_NO_SIRET,S9_NO_SERVICE_CODE", None)
    assert explained.explanation == " ".join(
        [explain("S9_NO_SIRET").explanation, explain("S9_NO_SERVICE_CODE").explanation]
    )
    assert explain("S9_NO_SIRET").fix in explained.fix
    assert explained.kind is Kind.PORTAL


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ChorusRefused(20104, "Le code service est obligatoire"), "20104"),
        (ChorusRefused(None, "Payload Too Large", http_status=413), "HTTP_413"),
        (ChorusRefused(None, ""), "REFUS"),
        (ChorusAuthenticationError("refus", http_status=401), "AUTHENTIFICATION"),
        (ChorusConfigurationError("incomplet"), "CONFIGURATION"),
        (ChorusUnavailable("panne", http_status=503), "INDISPONIBLE"),
        (ChorusUnavailable("délai dépassé", outcome_unknown=True), "INDISPONIBLE"),
        (ChorusError("autre"), "ERREUR_CHORUS"),
    ],
)
def test_each_chorus_failure_carries_the_one_code_stored_for_it(
    error: ChorusError, code: str
) -> None:
    assert error.code == code
    assert "non répertoriée" not in explain(code, str(error)).explanation
