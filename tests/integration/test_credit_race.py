"""64 concurrent senders racing for the last units of credit (issue 12's acceptance): exactly as many
sends are accepted as the credit covers, the others answer NOT_ENOUGH_FUNDS and store nothing, and
the balance never goes below zero. On SQLite one ``mecm serve``; on PostgreSQL ``mecm api --workers
2``, two API processes debiting the same account side by side."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.integration.test_scale_out import processes
from tests.support.databases import on_postgresql
from tests.support.server import Server, make_server

pytestmark = pytest.mark.integration

SENDERS = 64
PER_SENDER = 3
COVERED = 50  # sends the credit pays for: fewer than the 192 tried
PRICE = "0.013"  # per segment: 50 x 0.013 = 0.65


async def race(server: Server) -> Counter[str]:
    c = server.creds
    paths = [server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"],
                                            b64(f"1305672{n:04d}"), b64("race")])
             for n in range(SENDERS * PER_SENDER)]
    statuses: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                 limits=httpx.Limits(max_connections=SENDERS)) as client:
        async def sender(mine: list[str]) -> None:
            for path in mine:
                response = await client.get(path)
                statuses[ET.fromstring(response.content).findtext("status")] += 1

        await asyncio.gather(*(sender(paths[i::SENDERS]) for i in range(SENDERS)))
    return statuses


def priced_server(tmp_path: Path) -> Server:
    server = make_server(tmp_path / "mecm")
    ws = str(server.creds["instance_id"])
    server.cli("admin", "credit", "top-up", "--workspace", ws, "--amount", "0.65")
    server.cli("admin", "price", "set", "--workspace", ws, "--per-segment", PRICE)
    return server


def check(server: Server, statuses: Counter[str]) -> None:
    assert statuses == Counter({"OK": COVERED, "NOT_ENOUGH_FUNDS": SENDERS * PER_SENDER - COVERED})
    assert server.count("messages") == COVERED
    assert server.query("SELECT balance FROM credit_accounts") == [(0,)]
    # Every send is paid for by a debit row of the ledger (one per transaction: it counts them), and
    # no balance after any movement was below zero.
    assert server.query("SELECT SUM(messages) FROM credit_ledger WHERE kind = 'debit'") == [(COVERED,)]
    assert server.query("SELECT MIN(balance_after), SUM(amount) FROM credit_ledger") == [(0, 0)]


@pytest.mark.skipif(on_postgresql(), reason="the PostgreSQL run uses two API processes (below)")
def test_racing_senders_get_exactly_what_the_credit_covers(tmp_path: Path) -> None:
    server = priced_server(tmp_path)
    server.start()
    try:
        statuses = asyncio.run(race(server))
    finally:
        server.stop()
    check(server, statuses)


@pytest.mark.skipif(not on_postgresql(), reason="several API processes share a PostgreSQL database only")
def test_racing_senders_on_two_api_processes_get_exactly_what_the_credit_covers(tmp_path: Path) -> None:
    server = priced_server(tmp_path)
    with processes(server, "api", "worker1", "worker2"):  # started after the price was set: their catalogs have it
        statuses = asyncio.run(race(server))
    check(server, statuses)
