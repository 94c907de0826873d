"""Small building blocks: exact JSON amounts, token cache, result parsing, error messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from portal.chorus import jsonbody
from portal.chorus.errors import ChorusRefused, ChorusUnavailable
from portal.chorus.results import (
    InvoiceHistory,
    ServiceSummary,
    StructureSummary,
    parse_date,
    parse_datetime,
)
from portal.chorus.tokens import TokenCache, credentials_key
from portal.clock import PARIS


def test_decimals_are_written_as_exact_numbers():
    body = {"a": Decimal("1090.00"), "b": [Decimal("-0.50"), 1, 2.5, None, True], "c": "é"}
    assert jsonbody.dumps(body) == '{"a":1090.00,"b":[-0.50,1,2.5,null,true],"c":"é"}'


@pytest.mark.parametrize(
    ("value", "error"),
    [({1: "x"}, TypeError), (Decimal("NaN"), ValueError), (object(), TypeError), (b"x", TypeError)],
)
def test_what_json_cannot_carry_is_refused(value, error):
    with pytest.raises(error):
        jsonbody.dumps(value)


def test_the_cache_key_does_not_contain_the_secret():
    key = credentials_key("https://oauth", "id", "very-secret")
    assert "very-secret" not in key
    assert key != credentials_key("https://oauth", "id", "other-secret")


def test_invalidation_keeps_a_newer_token():
    now = [0.0]
    cache = TokenCache(clock=lambda: now[0])
    cache.put("k", "old", 3600)
    cache.put("k", "new", 3600)
    cache.invalidate("k", "old")
    assert cache.get("k") == "new"
    cache.invalidate("k")
    assert cache.get("k") is None
    assert cache.remaining_seconds("k") == 0


def test_chorus_dates_are_read_in_every_format():
    assert parse_date("2026-03-02") == date(2026, 3, 2)
    assert parse_date("2026-03-02T23:30:00Z") == date(2026, 3, 3)  # in Paris
    assert parse_date(1767225600000) == date(2026, 1, 1)
    assert parse_date("n'importe quoi") is None
    assert parse_date(None) is None
    naive = parse_datetime("2026-03-02T10:00:00")
    assert naive == datetime(2026, 3, 2, 10, tzinfo=PARIS)
    assert parse_datetime("1767225600000") == datetime.fromtimestamp(1767225600, tz=UTC)


def test_history_without_entries_or_comment():
    history = InvoiceHistory.from_json({"codeRetour": 0, "statutCourantCode": "DEPOSEE"})
    assert history.entries == ()
    assert history.latest_comment is None
    assert history.current_status == "DEPOSEE"


def test_the_public_service_is_never_usable():
    public = ServiceSummary.from_json(
        {"idService": 1, "codeService": "FACTURES_PUBLIQUES", "estActif": True}
    )
    closed = ServiceSummary.from_json({"idService": 2, "codeService": "X", "estActif": False})
    open_ = ServiceSummary.from_json({"idService": 3, "codeService": "Y", "estActif": "true"})
    assert [s.is_usable for s in (public, closed, open_)] == [False, False, True]


def test_results_tolerate_missing_and_odd_fields():
    structure = StructureSummary.from_json({"idStructureCPP": "26000100", "statut": "INACTIVE"})
    assert structure.id_structure_cpp == 26000100
    assert not structure.is_active
    assert structure.designation is None


def test_error_messages_are_french_sentences():
    assert str(ChorusRefused(None, "", http_status=404)) == (
        "Chorus Pro a refusé la demande (HTTP 404) : aucun motif fourni"
    )
    error = ChorusUnavailable("Chorus Pro est injoignable.", retry_after=3)
    assert (str(error), error.retry_after, error.outcome_unknown) == (
        "Chorus Pro est injoignable.",
        3,
        False,
    )
