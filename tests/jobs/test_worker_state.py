"""A worker's own state lives on its job handler (one per worker): its HTTP session, its memo."""

from __future__ import annotations

from portal.followup.handler import StatusSyncHandler
from portal.sending.handler import SendHandler


def test_a_worker_keeps_one_session_across_its_documents_and_shares_it_with_no_other() -> None:
    # The runner makes a handler per worker: connections stay open from one document to the
    # next (bench/send.py), and two threads never share a session.
    for make in (SendHandler, StatusSyncHandler):
        worker, other = make(), make()
        assert worker.session is worker.session
        assert worker.session is not other.session
