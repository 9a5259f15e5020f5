"""What ``mecm serve``'s worker keeps up in the background, on a real server process: the index of
messages by number (store/number_index.py) and the dashboard's hours (services/dashboard_keeper.py),
for messages it finds in the database when it starts, as after an upgrade."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mecm.domain.ids import first_id_at
from tests.support.server import make_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000


def test_old_messages_are_indexed_by_number_and_their_hours_kept(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    ws = server.creds["instance_id"]
    at = int(time.time() * 1000) - 3 * HOUR_MS  # older than a piece waits to fill, in a closed hour
    for n, to in enumerate(("584147770001", "584147770002", "584147770001")):
        server.query(
            "INSERT INTO messages (id, workspace_id, client_id, kind, carrier, sender, recipient, text, flags,"
            " data_coding, segments, priority, status, created_at_ms, updated_at_ms, next_attempt_at_ms, attempts,"
            " expires_at_ms) VALUES (?, ?, 'K', 'sms', 'sim', '55501', ?, ?, '', 'GSM7', 1, 1,"
            " 'DELIVERED_TO_DEVICE', ?, ?, 0, 1, ?)",
            first_id_at(at) + n, ws, to, f"old message {n}", at, at + 1000, at + HOUR_MS)
    server.start()
    try:
        wait_until(lambda: server.count("number_pieces") == 1, timeout=60)
        assert server.count("message_numbers") == 3
        wait_until(lambda: server.count("dashboard_message_counts", "workspace_id = ?", ws) == 1, timeout=60)
        assert server.query("SELECT messages FROM dashboard_message_counts WHERE workspace_id = ?", ws) == [(3,)]
        found = server.cli("admin", "message", "search", "--workspace", str(ws), "--number", "584147770001")
        assert [m["text"] for m in found["messages"]] == ["old message 2", "old message 0"]
    finally:
        server.stop()
