"""An id in a URL beyond the database's integer range is « not found », never a 500."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from portal.models_base import MAX_ROW_ID


@pytest.mark.parametrize("job_id", [MAX_ROW_ID + 1, 10**18, 10**40])
def test_an_id_past_the_integer_range_is_a_404(as_admin: FlaskClient, job_id: int) -> None:
    assert as_admin.get(f"/taches/{job_id}").status_code == 404


def test_the_largest_row_id_is_still_looked_up(as_admin: FlaskClient) -> None:
    assert as_admin.get(f"/taches/{MAX_ROW_ID}").status_code == 404
