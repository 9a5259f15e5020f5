"""Rate limits and the SMS-pumping defence against a real server process (SPEC sections 4 and 9):
a burst, then RATE_LIMITED with a Retry-After and nothing stored; a bad request never charged;
reads, sends and PINs counted apart; a key's limit beside its workspace's; PIN sends per number, per
block of numbers and per country. Each test has a workspace of its own, so buckets do not mix."""

from __future__ import annotations

import asyncio
import itertools
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.api.test_methods import ok
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

# Rates so low that no token comes back while a test runs: what a test sees is the burst alone.
SETTINGS = {
    "rate_sends_per_s": "0.001", "rate_sends_burst": "5",
    "rate_reads_per_s": "0.001", "rate_reads_burst": "3",
    "rate_pins_per_s": "0.001", "rate_pins_burst": "50",
    "pin_sends_per_number": "2", "pin_sends_per_block": "100",
}
CODES = itertools.count(5551000)
TO = "13056708084"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("limits"), **SETTINGS)
    srv.admin_token = srv.cli("admin", "token")["admin_token"]  # type: ignore[attr-defined]
    srv.start()
    yield srv
    srv.stop()


def new_workspace(server: Server) -> dict:
    ws = server.cli("admin", "workspace", "create", "--name", "limited")
    code = str(next(CODES))
    server.cli("admin", "code", "add", "--workspace", str(ws["instance_id"]), "--code", code, "--default")
    key = server.cli("admin", "key", "create", "--workspace", str(ws["instance_id"]))
    return known({**key, "code": code, "carrier": server.creds["carrier"]}, server)


def second_key(server: Server, creds: dict) -> dict:
    return known({**creds, **server.cli("admin", "key", "create", "--workspace", str(creds["instance_id"]))},
                 server)


def known(creds: dict, server: Server) -> dict:
    """``creds`` once the running server knows its key (its catalog is re-read every 0.2 s): asked with
    a bad message id, which answers INVALID_PARAMETER and, being a bad request, takes no token."""
    wait_until(lambda: status(get(server, get_message(server, creds, "not-an-id"))) == "INVALID_PARAMETER")
    return creds


def admin(server: Server, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.admin_token}"}  # type: ignore[attr-defined]
    return httpx.request(method, f"{server.url}/admin/api/workspaces/{path}", headers=headers, timeout=30, **kwargs)


def get(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=10)


def status(response: httpx.Response) -> str:
    return ET.fromstring(response.content).findtext("status") or ""


def description(response: httpx.Response) -> str:
    return ET.fromstring(response.content).findtext("description") or ""


def sms(server: Server, creds: dict, text: str = "hello", to: str = TO) -> str:
    params = [str(creds["instance_id"]), creds["carrier"], creds["code"], b64(to), b64(text)]
    return server.signed_path("sendSMS", params, creds=creds)


def pin(server: Server, creds: dict, number: str) -> str:
    params = [str(creds["instance_id"]), creds["carrier"], creds["code"], number, b64("Code {pin}"), "6"]
    return server.signed_path("sendSMSPinMobileNumberConfirm", params, creds=creds)


def get_message(server: Server, creds: dict, message_id: str = "1") -> str:
    return server.signed_path("getMessage", [str(creds["instance_id"]), message_id], creds=creds)


def messages_of(server: Server, creds: dict) -> int:
    return server.count("messages", "workspace_id = ?", creds["instance_id"])


def test_a_burst_then_rate_limited_with_retry_after_and_nothing_stored(server: Server) -> None:
    creds = new_workspace(server)
    answers = [get(server, sms(server, creds, f"burst {i}")) for i in range(8)]
    assert [status(a) for a in answers] == ["OK"] * 5 + ["RATE_LIMITED"] * 3
    refused = answers[-1]
    # One token in 1,000 s (rate 0.001/s), less the time the test took: the header and the description
    # say the same whole seconds.
    wait = refused.headers["retry-after"]
    assert 900 <= int(wait) <= 1000
    assert description(refused) == f"Too many requests, retry after {wait} s: sends of this workspace"
    assert refused.headers["x-mecm-status"] == "RATE_LIMITED"
    assert "retry-after" not in answers[0].headers
    assert messages_of(server, creds) == 5


def test_http_error_codes_make_it_a_429(tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = make_server(tmp_path_factory.mktemp("limits-429"), http_error_codes="true", rate_sends_per_s="0.001",
                      rate_sends_burst="1")
    srv.start()
    try:
        assert get(srv, sms(srv, srv.creds)).status_code == 200
        refused = get(srv, sms(srv, srv.creds))
        assert refused.status_code == 429
        assert 900 <= int(refused.headers["retry-after"]) <= 1000
    finally:
        srv.stop()


def test_a_bad_request_is_never_charged(server: Server) -> None:
    creds = new_workspace(server)
    for i in range(10):
        bad = get(server, sms(server, creds, to="12"))  # not a number: INVALID_PARAMETER, before the limits
        assert status(bad) == "INVALID_PARAMETER", description(bad)
    assert [status(get(server, sms(server, creds, f"good {i}"))) for i in range(5)] == ["OK"] * 5


def test_reads_are_limited_apart_from_sends(server: Server) -> None:
    creds = new_workspace(server)
    sent = [get(server, sms(server, creds, f"s{i}")) for i in range(6)]
    assert status(sent[-1]) == "RATE_LIMITED"
    message_id = ET.fromstring(sent[0].content).findtext("result/messages/message/id")
    reads = [get(server, get_message(server, creds, message_id)) for _ in range(4)]  # sends used up: reads still go
    assert [status(r) for r in reads] == ["OK"] * 3 + ["RATE_LIMITED"]
    assert description(reads[-1]).endswith(": reads of this workspace")
    mo_page = server.signed_path("getMOMessages", [str(creds["instance_id"]), "1", "10", "null"], creds=creds)
    assert status(get(server, mo_page)) == "RATE_LIMITED"  # the same class as getMessage


def test_fire_message_counts_as_a_send(server: Server) -> None:
    creds = new_workspace(server)
    fire = server.signed_path("fireMessage", [str(creds["instance_id"]), "584121234567", b64("hi")],
                              tools=False, creds=creds)
    assert [status(get(server, fire)) for _ in range(6)] == ["OK"] * 5 + ["RATE_LIMITED"]
    assert server.count("mo_messages", "workspace_id = ?", creds["instance_id"]) == 5


def test_a_key_has_its_own_limit_within_its_workspace_limit(server: Server) -> None:
    creds = new_workspace(server)
    other = second_key(server, creds)
    workspace = str(creds["instance_id"])
    answer = admin(server, "PUT", f"{workspace}/limits",
                   json={"class": "sends", "key": creds["public_key"], "rate_per_s": 0.001, "burst": 2})
    assert answer.status_code == 200, answer.text
    assert admin(server, "PUT", f"{workspace}/limits", json={"class": "sends", "rate_per_s": 0.001,
                                                             "burst": 4}).status_code == 200
    first = [get(server, sms(server, creds, f"k1 {i}")) for i in range(3)]
    assert [status(a) for a in first] == ["OK", "OK", "RATE_LIMITED"]
    assert description(first[-1]).endswith(": sends of this key")
    second = [get(server, sms(server, other, f"k2 {i}")) for i in range(3)]  # the workspace has 2 tokens left
    assert [status(a) for a in second] == ["OK", "OK", "RATE_LIMITED"]
    assert description(second[-1]).endswith(": sends of this workspace")
    assert messages_of(server, creds) == 4
    listed = admin(server, "GET", f"{workspace}/limits").json()["limits"]
    assert {(row["key"], row["class"], row["burst"], row["source"]) for row in listed} >= {
        (creds["public_key"], "sends", 2, "set"), (None, "sends", 4, "set"), (None, "reads", 3, "default")}


def test_the_admin_api_refuses_bad_limits_naming_the_field(server: Server) -> None:
    workspace = str(new_workspace(server)["instance_id"])
    for body, field in (({"class": "writes", "rate_per_s": 1, "burst": 1}, "class"),
                        ({"class": "sends", "rate_per_s": 0, "burst": 1}, "rate_per_s"),
                        ({"class": "sends", "rate_per_s": 1, "burst": 0}, "burst"),
                        ({"class": "sends", "rate_per_s": 1, "burst": 1, "key": "NOPE"}, "key")):
        answer = admin(server, "PUT", f"{workspace}/limits", json=body)
        assert (answer.status_code, answer.json()["parameter"]) == (400, field)
    assert admin(server, "GET", "999999/limits").status_code == 404
    assert [row["source"] for row in admin(server, "GET", f"{workspace}/limits").json()["limits"]] == ["default"] * 3


def test_pin_sends_are_limited_per_number(server: Server) -> None:
    creds = new_workspace(server)
    answers = [get(server, pin(server, creds, "13056708001")) for _ in range(3)]
    assert [status(a) for a in answers] == ["OK", "OK", "RATE_LIMITED"]
    assert description(answers[-1]).startswith("Too many requests, retry after ")
    assert description(answers[-1]).endswith(": PIN sends to this number (2 in 3600 s)")
    assert 3590 <= int(answers[-1].headers["retry-after"]) <= 3600  # when the first of the two leaves the hour
    assert status(get(server, pin(server, creds, "13056708002"))) == "OK"  # another number
    assert server.count("pins", "workspace_id = ?", creds["instance_id"]) == 3
    assert messages_of(server, creds) == 3


def test_pin_sends_are_limited_per_block_of_numbers(server: Server) -> None:
    creds = new_workspace(server)
    workspace = str(creds["instance_id"])
    assert admin(server, "PATCH", f"{workspace}/pin-guard", json={"per_block": 3}).json()["per_block"] == 3
    numbers = [f"1305670{n:04d}" for n in (1000, 1001, 1002, 1003)]  # one block: 1305670xxxx
    assert [status(get(server, pin(server, creds, n))) for n in numbers] == ["OK"] * 3 + ["RATE_LIMITED"]
    refused = get(server, pin(server, creds, "13056701999"))
    assert description(refused).endswith(": PIN sends to numbers starting 1305670 (3 in 3600 s)")
    assert status(get(server, pin(server, creds, "13056711000"))) == "OK"  # the next block
    assert server.count("pins", "workspace_id = ?", creds["instance_id"]) == 4


def test_pins_go_only_to_the_countries_a_workspace_allows(server: Server) -> None:
    creds = new_workspace(server)
    workspace = str(creds["instance_id"])
    guard = admin(server, "PATCH", f"{workspace}/pin-guard", json={"countries": "ve, co"}).json()
    assert guard["countries"] == ["CO", "VE"]
    refused = get(server, pin(server, creds, TO))
    assert status(refused) == "RATE_LIMITED"
    assert description(refused) == ("Too many requests, retry after 3600 s: "
                                    "PIN sends to country US not allowed in this workspace")
    assert status(get(server, pin(server, creds, "584121234567"))) == "OK"
    assert status(get(server, sms(server, creds))) == "OK"  # the allow-list is for PINs only
    assert server.count("pins", "workspace_id = ?", creds["instance_id"]) == 1
    bad = admin(server, "PATCH", f"{workspace}/pin-guard", json={"countries": "VE,XX"})
    assert (bad.status_code, bad.json()["parameter"]) == (400, "countries")
    cleared = admin(server, "DELETE", f"{workspace}/pin-guard").json()
    assert (cleared["countries"], cleared["per_number"]) == ([], 2)


def test_verify_pin_counts_against_the_pins_class(server: Server) -> None:
    creds = new_workspace(server)
    workspace = str(creds["instance_id"])
    assert admin(server, "PUT", f"{workspace}/limits", json={"class": "pins", "rate_per_s": 0.001,
                                                             "burst": 2}).status_code == 200
    ok(ET.fromstring(get(server, pin(server, creds, "13056708077")).content))
    verify = server.signed_path("verifyPin", [workspace, "13056708077", "000000"], creds=creds)
    assert [status(get(server, verify)) for _ in range(2)] == ["OK", "RATE_LIMITED"]


def test_pin_sends_at_once_to_one_number_pass_the_limit_no_more(server: Server) -> None:
    """The count is taken where the PIN is stored (under a lock per block on PostgreSQL), so sends
    racing each other cannot all pass on the same count."""
    creds = new_workspace(server)
    path = pin(server, creds, "13056708055")

    async def race() -> list[str]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            answers = await asyncio.gather(*(client.get(path) for _ in range(12)))
        return [status(answer) for answer in answers]

    assert Counter(asyncio.run(race())) == {"OK": 2, "RATE_LIMITED": 10}
    assert server.count("pins", "workspace_id = ?", creds["instance_id"]) == 2
