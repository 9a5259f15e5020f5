"""Acknowledged means durable: 1,000 acknowledged sends survive a SIGKILL, each reaches a final
status, and each is submitted to the carrier exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import xml.etree.ElementTree as ET

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
FINAL = {"DELIVERED_TO_DEVICE", "UNDELIVERED", "EXPIRED", "UNREACHABLE", "NOT_SENT", "BAD_FROM", "BAD_TO",
         "BAD_CARRIER", "NOT_ENOUGH_FUNDS"}


async def send_many(server: Server, carrier: str, count: int) -> list[int]:
    c = server.creds
    ids: list[int] = []
    limits = httpx.Limits(max_connections=50)
    # 50 requests at a time: one waiting its turn for a connection would count that wait against its
    # timeout, and on a busy machine hundreds of queued ones run out of it (httpx.PoolTimeout).
    gate = asyncio.Semaphore(50)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
        async def one(i: int) -> None:
            number = f"1305670{8000 + i:04d}"
            params = [str(c["instance_id"]), carrier, c["code"], b64(number), b64(f"crash test {i}")]
            async with gate:
                response = await client.get(server.signed_path("sendSMS", params))
            root = ET.fromstring(response.content)
            assert root.findtext("status") == "OK", root.findtext("description")
            ids.append(int(root.findtext("result/messages/message/id")))

        await asyncio.gather(*(one(i) for i in range(count)))
    return ids


def test_sigkill_loses_nothing_and_submits_once(tmp_path) -> None:
    server = make_server(tmp_path)
    # Receipts come late (1.5 s) and a fifth fail, so the kill lands with messages in every state.
    server.cli("admin", "carrier", "add", "--name", "slowsim", "--connector", "simulator",
               "--delivery-delay-ms", "1500", "--failure-rate", "0.2")
    server.start()
    try:
        ids = asyncio.run(send_many(server, "slowsim", 1000))
        assert len(set(ids)) == 1000
        server.kill()
        states = dict(server.query("SELECT status, COUNT(*) FROM messages GROUP BY status"))
        assert sum(states.values()) == 1000, "an acknowledged message was not stored"
        assert set(states) - FINAL, f"the kill came too late to test anything: {states}"

        server.start()
        not_final = "status NOT IN (%s)" % ",".join(f"'{s}'" for s in FINAL)
        wait_until(lambda: server.count("messages", not_final) == 0, timeout=60, interval=0.2)
        statuses = dict(server.query("SELECT status, COUNT(*) FROM messages GROUP BY status"))
        assert set(statuses) <= {"DELIVERED_TO_DEVICE", "UNDELIVERED"}, statuses
        assert sum(statuses.values()) == 1000
        assert statuses.get("UNDELIVERED", 0) > 0  # the failure share shows up

        with sqlite3.connect(tmp_path / "simulator-slowsim.db") as carrier_db:
            submits = dict(carrier_db.execute("SELECT client_ref, submit_count FROM submissions").fetchall())
        assert sorted(submits) == sorted(ids), "a message never reached the carrier"
        duplicates = {ref: n for ref, n in submits.items() if n != 1}
        assert duplicates == {}, f"submitted more than once: {len(duplicates)}"
    finally:
        server.stop()
