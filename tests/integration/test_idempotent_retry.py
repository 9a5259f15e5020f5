"""A client retrying with its Idempotency-Key after a SIGKILL of the server ends with exactly one
message (issue 12, Build 5): the requests the kill cut off, stored or not, are each sent again
after the restart, and each key ends with one message, answered with its id."""

from __future__ import annotations

import json
import socket
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
ROUNDS = 3
PER_ROUND = 60
KILL_AFTER = 10


@dataclass(frozen=True)
class Attempt:
    key: str
    kind: str  # sms (header), mt (idem= flag), fire (POST, header)
    text: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def raw(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
                 f"Content-Length: {len(self.body)}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def attempt(server: Server, round_: int, i: int) -> Attempt:
    c = server.creds
    key, text = f"crash-{round_}-{i}", f"crash idem {round_}-{i}"
    number = f"1305671{i:04d}"
    instance = str(c["instance_id"])
    if i % 3 == 0:
        path = server.signed_path("sendSMS", [instance, c["carrier"], c["code"], b64(number), b64(text)])
        return Attempt(key, "sms", text, "GET", path, {"Idempotency-Key": key})
    if i % 3 == 1:
        params = [instance, c["code"], c["carrier"], number, b64(text), f"priority=high,idem={key}"]
        return Attempt(key, "mt", text, "GET", server.signed_path("sendMT", params, tools=False), {})
    body = json.dumps({"event": {"fld-val-list": {"sender_id_id": c["code"], "keyword_value": text,
                                                  "recipient_address": number}}}).encode()
    path = server.signed_path("fireMessage", [instance], tools=False)
    return Attempt(key, "fire", text, "POST", path, {"Idempotency-Key": key, "Content-Type": "application/json"},
                   body)


def send_without_reading(server: Server, attempts: list[Attempt], sockets: list[socket.socket]) -> None:
    """Write each request and never read its answer (the client is cut off with the server)."""
    for a in attempts:
        try:
            s = socket.create_connection(("127.0.0.1", server.port), timeout=2)
            sockets.append(s)
            s.sendall(a.raw())
        except OSError:
            return  # the server is gone: the rest never reached it, and are retried all the same


def stored(server: Server) -> int:
    return server.count("idempotency_keys")


def retry_until_answered(client: httpx.Client, a: Attempt) -> tuple[str, bool]:
    """The id the answer carries, and whether it was a replay (the request is sent again while the
    connection fails, as a client retries)."""

    def answer() -> httpx.Response | None:
        try:
            return client.request(a.method, a.path, headers=a.headers, content=a.body or None)
        except httpx.HTTPError:
            return None

    response = wait_until(answer, timeout=30, interval=0.1)
    root = ET.fromstring(response.content)
    if root.findtext("status") != "OK":
        raise AssertionError(f"{a.key}: {root.findtext('status')} {root.findtext('description')}")
    found = root.findtext("result/messages/message/id") or root.findtext("result/MOMessage/id")
    return found, response.headers.get("idempotent-replayed") == "true"


def rows_of(server: Server, a: Attempt) -> list[int]:
    table = "mo_messages" if a.kind == "fire" else "messages"
    return [r[0] for r in server.query(f"SELECT id FROM {table} WHERE text = ?", a.text)]


def test_retrying_with_the_key_after_a_sigkill_ends_with_exactly_one_message(tmp_path) -> None:
    server = make_server(tmp_path)
    server.start()
    replayed = fresh = 0
    try:
        for round_ in range(ROUNDS):
            attempts = [attempt(server, round_, i) for i in range(PER_ROUND)]
            before = stored(server)
            sockets: list[socket.socket] = []
            sender = threading.Thread(target=send_without_reading, args=(server, attempts, sockets))
            sender.start()
            # Killed once a few of this round are committed, with the rest in flight or not yet sent.
            wait_until(lambda: stored(server) >= before + KILL_AFTER, timeout=30, interval=0.001)
            server.kill()
            sender.join(10)
            for s in sockets:
                s.close()
            stored_before_kill = stored(server) - before
            server.start()
            replays = 0
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for a in attempts:
                    answered_id, was_replayed = retry_until_answered(client, a)
                    assert rows_of(server, a) == [int(answered_id)], f"{a.key} ({a.kind}): not exactly one message"
                    replays += was_replayed
            # Exactly the requests the kill left stored (never answered) are answered from their key.
            assert replays == stored_before_kill
            replayed += replays
            fresh += PER_ROUND - replays
        assert replayed > 0, "no request was stored before the kill: the crash window was not tested"
        assert fresh > 0, "every request was stored before the kill: nothing was sent on retry"
    finally:
        server.stop()
