"""The console dashboard through a running ``mecm serve`` with kept hours (services/admin/dashboard.py):
a view keeps the closed hours, and the figures are the rows' own again when a message's status
changes after its hour was kept (a late receipt) and that hour is counted again. The rule itself,
with a clock the tests set, is tests/unit/services/test_dashboard.py."""

from __future__ import annotations

import re
import time

import pytest

from mecm.domain.ids import first_id_at
from mecm.services.admin.dashboard import RECOUNT_AFTER_MS
from tests.support.console import ConsoleClient, add_people
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("dashboard"))
    add_people(srv, {"viewer": "viewer"})
    srv.start()
    yield srv
    srv.stop()


def tile(page: str, label: str) -> dict[str, int]:
    """The figures of one of the dashboard's tiles ("Last day", ...)."""
    found = re.search(rf"<h2>{label}</h2>(.*?)</dl>", page, re.S)
    assert found, f"no {label} tile"
    values = dict(re.findall(r'class="series-(\w+)">([\d,]+)<', found.group(1)))
    return {name: int(value.replace(",", "")) for name, value in values.items()}


def kept_hour(server: Server, hour_ms: int) -> list[tuple]:
    """The open messages kept for the demo workspace's hour: [(n,)], or [] while it is not kept."""
    return server.query("SELECT open_messages FROM dashboard_hours WHERE workspace_id = ? AND hour_ms = ?",
                        server.creds["instance_id"], hour_ms)


def add_message(server: Server, message_id: int, created_at_ms: int, status: str) -> None:
    server.query(
        "INSERT INTO messages (id, workspace_id, client_id, kind, carrier, sender, recipient, text, flags,"
        " data_coding, segments, priority, status, created_at_ms, updated_at_ms, next_attempt_at_ms, attempts,"
        " expires_at_ms) VALUES (?, ?, 'K', 'sms', 'claro', '123', '13056708084', 'hi', '', 'GSM7', 1, 1, ?, ?, ?,"
        " 0, 1, ?) RETURNING id",  # RETURNING: server.query fetches on both databases
        message_id, server.creds["instance_id"], status, created_at_ms, created_at_ms + 2000, created_at_ms + 10**9)


def test_a_late_receipt_reaches_the_kept_days_figures(server: Server) -> None:
    workspace = server.creds["instance_id"]
    five_hours_ago = int(time.time() * 1000) - 5 * HOUR_MS
    waiting, delivered = first_id_at(five_hours_ago) + 1, first_id_at(five_hours_ago) + 2
    add_message(server, waiting, five_hours_ago, "SENT_TO_CARRIER")
    add_message(server, delivered, five_hours_ago, "DELIVERED_TO_DEVICE")
    client = ConsoleClient(server)
    try:
        assert client.sign_in("viewer").status_code == 303
        page = client.http.get(f"/w/{workspace}")
        assert page.status_code == 200, page.text[:300]
        assert tile(page.text, "Last day") == {"accepted": 2, "delivered": 1, "failed": 0, "mos": 0}
        # Once the view's answer had gone, it kept the week's closed hours, that one among them, with a
        # message still on its way.
        hour = five_hours_ago // HOUR_MS * HOUR_MS
        assert wait_until(lambda: kept_hour(server, hour)) == [(1,)]
        assert server.count("dashboard_hours", "workspace_id = ?", workspace) >= 7 * 24 - 3
        # As if that view had been RECOUNT_AFTER_MS ago (the server's clock is the real one): an hour
        # with a message on its way is counted again at a view once its count is that old.
        server.query("UPDATE dashboard_hours SET counted_at_ms = counted_at_ms - ? WHERE workspace_id = ?"
                     " RETURNING hour_ms", RECOUNT_AFTER_MS, workspace)
        # Its receipt, late.
        server.query("UPDATE messages SET status = 'UNDELIVERED' WHERE id = ? RETURNING id", waiting)
        live = client.http.get(f"/w/{workspace}?part=live")  # the live part's next refresh
        assert tile(live.text, "Last day") == {"accepted": 2, "delivered": 1, "failed": 1, "mos": 0}
        assert tile(live.text, "Last week") == {"accepted": 2, "delivered": 1, "failed": 1, "mos": 0}
        assert wait_until(lambda: kept_hour(server, hour) == [(0,)])  # counted again, and kept: all final
    finally:
        client.close()
