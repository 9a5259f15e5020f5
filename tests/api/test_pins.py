"""PINs against a real server process (SPEC sections 1 and 9): verifyPin's answers, its attempts,
expiry and single use under concurrent calls, the workspace option that keeps the PIN out of the
send's answer, the SDK and the CLI, and no PIN in clear anywhere mecm keeps data."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mecm.client import AsyncClient, Client, PinVerification
from mecm.domain.b64 import encode as b64
from tests.api.test_methods import call, ok, wait_status
from tests.support.server import Server, make_server, run_mecm
from tests.support.waiting import wait_until

NUMBERS = iter(f"1305670{n:04d}" for n in range(8100, 9999))  # one number per test: PINs are per number


def send_pin(server: Server, number: str, text: str = "Your code is {pin}", length: int = 6) -> ET.Element:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], number, b64(text), str(length)]
    return ok(call(server, server.signed_path("sendSMSPinMobileNumberConfirm", params))).find("PinSMSConfirmation")


def verify(server: Server, number: str, pin: str) -> tuple[str, int]:
    path = server.signed_path("verifyPin", [str(server.creds["instance_id"]), number, pin])
    result = ok(call(server, path)).find("PinVerification")
    return result.findtext("result"), int(result.findtext("attemptsLeft"))


def test_the_right_pin_is_approved_once(server: Server) -> None:
    number = next(NUMBERS)
    pin = send_pin(server, number).findtext("pin")
    assert verify(server, number, pin) == ("approved", 0)
    assert verify(server, number, pin) == ("none", 0)  # used: a PIN approves once


def test_five_wrong_guesses_lock_the_pin(server: Server) -> None:
    number = next(NUMBERS)
    pin = send_pin(server, number).findtext("pin")
    wrong = "0000000" if pin != "0000000" else "1111111"  # 7 digits: never the 6-digit PIN
    assert [verify(server, number, wrong) for _ in range(5)] == [("denied", n) for n in (4, 3, 2, 1, 0)]
    assert verify(server, number, pin) == ("locked", 0)  # even the right one now
    fresh = send_pin(server, number).findtext("pin")  # a new PIN supersedes the locked one
    assert verify(server, number, fresh) == ("approved", 0)


def test_a_number_without_a_pin_is_none_and_a_leading_plus_is_the_same_number(server: Server) -> None:
    number = next(NUMBERS)
    assert verify(server, number, "123456") == ("none", 0)
    pin = send_pin(server, number).findtext("pin")
    assert verify(server, "+" + number, pin) == ("approved", 0)


@pytest.mark.parametrize(("number", "pin", "parameter"), [
    ("13056708084", "123", "pin"),
    ("13056708084", "12345678901", "pin"),
    ("13056708084", "12a456", "pin"),
    ("13056708084", "%C2%B2%C2%B2%C2%B2%C2%B2", "pin"),  # superscript two: isdigit, not a digit
    ("not-a-number", "123456", "mobileNumber"),
    ("1", "123456", "mobileNumber"),
])
def test_bad_input_names_the_parameter(server: Server, number: str, pin: str, parameter: str) -> None:
    path = server.signed_path("verifyPin", [str(server.creds["instance_id"]), number, pin], encode=False)
    root = call(server, path)
    assert root.findtext("status") == "INVALID_PARAMETER"
    assert root.findtext("description").startswith(f"Invalid parameter {parameter}:")


def test_concurrent_verifications_approve_once_and_count_no_more_than_the_attempts(server: Server) -> None:
    right_number, wrong_number = next(NUMBERS), next(NUMBERS)
    pin = send_pin(server, right_number).findtext("pin")
    send_pin(server, wrong_number)
    c = server.creds

    async def run() -> tuple[list[PinVerification], list[PinVerification]]:
        async with AsyncClient(server.url, c["instance_id"], c["public_key"], c["private_key"]) as api:
            rights = asyncio.gather(*(api.verify_pin(right_number, pin) for _ in range(20)))
            wrongs = asyncio.gather(*(api.verify_pin(wrong_number, f"{i:07d}") for i in range(20)))
            return list(await rights), list(await wrongs)

    rights, wrongs = asyncio.run(run())
    assert Counter(v.result for v in rights) == {"approved": 1, "none": 19}
    assert Counter(v.result for v in wrongs) == {"denied": 5, "locked": 15}


def test_the_sdk_and_the_cli_verify(server: Server) -> None:
    c = server.creds
    number = next(NUMBERS)
    with Client(server.url, c["instance_id"], c["public_key"], c["private_key"]) as api:
        pin = api.send_pin(number, "Code {pin}", from_=c["code"]).pin
        assert api.verify_pin(number, "9999999") == PinVerification("denied", 4)
    creds = ["--url", server.url, "--instance", str(c["instance_id"]), "--public-key", c["public_key"],
             "--private-key", c["private_key"], "--json"]
    denied = run_mecm(["send", "verify-pin", number, "8888888", *creds], env=server.env)
    assert denied.returncode == 1 and '"result": "denied"' in denied.stdout and '"attempts_left": 3' in denied.stdout
    approved = run_mecm(["send", "verify-pin", number, pin, *creds], env=server.env)
    assert approved.returncode == 0 and '"result": "approved"' in approved.stdout
    assert pin not in approved.stdout


def test_a_workspace_can_keep_the_pin_out_of_the_answer(server: Server) -> None:
    instance = str(server.creds["instance_id"])
    number = next(NUMBERS)
    try:
        server.cli("admin", "workspace", "set-pin-in-response", "--workspace", instance, "--off")
        # until the server re-reads the catalog (every second; seconds on a loaded machine)
        hidden = wait_until(lambda: (p := send_pin(server, number)).findtext("pin") == "" and p, timeout=30)
        assert hidden.find("pin") is not None  # the element stays: the tree keeps its shape
        assert hidden.findtext("messageId") and hidden.findtext("expiresAt")
        assert {w["instance_id"]: w["pin_in_response"] for w in server.cli("admin", "workspace", "list")["workspaces"]
                }[int(instance)] is False
        # The admin API turns it on again.
        token = server.cli("admin", "token")["admin_token"]
        answer = httpx.patch(f"{server.url}/admin/api/workspaces/{instance}", json={"pin_in_response": True},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["pin_in_response"] is True
        shown = send_pin(server, number).findtext("pin")
        assert shown.isdigit() and len(shown) == 6
        refused = httpx.patch(f"{server.url}/admin/api/workspaces/{instance}", json={"pin_in_response": "no"},
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert refused.status_code == 400 and refused.json()["parameter"] == "pin_in_response"
    finally:
        server.cli("admin", "workspace", "set-pin-in-response", "--workspace", instance, "--on")


def text_columns(server: Server) -> list[tuple[str, str]]:
    """(table, column) of every column that can hold text, in mecm's database."""
    if server.database_url.startswith("sqlite:///"):
        tables = [t for (t,) in server.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(t, column[1]) for t in tables for column in server.query(f"PRAGMA table_info('{t}')")
                if column[2].upper() not in ("INTEGER", "BIGINT", "BOOLEAN", "FLOAT", "REAL")]
    return [tuple(r) for r in server.query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')")]


def test_no_pin_in_clear_anywhere_mecm_keeps_data(server: Server) -> None:
    number = next(NUMBERS)
    sent = send_pin(server, number, "Your code is {pin}", length=10)  # 10 digits: no chance match
    pin, message_id = sent.findtext("pin"), sent.findtext("messageId")
    final = wait_status(server, message_id, "DELIVERED_TO_DEVICE")
    assert final.findtext("status") == "DELIVERED_TO_DEVICE"  # it reached the carrier (with its text)
    assert final.findtext("text") == "Your code is **********"
    columns = text_columns(server)
    assert ("messages", "text") in columns and ("pins", "pin_hash") in columns
    for table, column in columns:
        hits = server.query(f'SELECT COUNT(*) FROM {table} WHERE CAST("{column}" AS TEXT) LIKE ?', f"%{pin}%")
        assert hits == [(0,)], f"the PIN is in {table}.{column}"
    for path in Path(server.home).rglob("*"):  # the SQLite files (-wal too), the logs, the simulator's record
        if path.is_file():
            assert pin.encode() not in path.read_bytes(), f"the PIN is in {path.name}"


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """PINs that live a second. (Attempts are counted on another server: a PIN this short-lived could
    expire between two verifications on a loaded machine.)"""
    server = make_server(tmp_path_factory.mktemp("mecm-pin-ttl"), pin_ttl_s="1")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_attempts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("mecm-pin-attempts"), pin_max_attempts="2")
    server.start()
    yield server
    server.stop()


def test_the_setting_bounds_a_pin_s_attempts(two_attempts: Server) -> None:
    number = next(NUMBERS)
    send_pin(two_attempts, number)
    assert [verify(two_attempts, number, "0000000") for _ in range(3)] == [("denied", 1), ("denied", 0), ("locked", 0)]


def test_the_setting_bounds_a_pin_s_life(short_lived: Server) -> None:
    server = short_lived
    number = next(NUMBERS)
    sent = send_pin(server, number)
    pin = sent.findtext("pin")
    message_id = int(sent.findtext("messageId"))
    (expires_at_ms,) = server.query("SELECT expires_at_ms FROM pins WHERE message_id = ?", message_id)[0]
    wait_until(lambda: time.time() * 1000 > expires_at_ms + 50, timeout=5)
    assert verify(server, number, pin) == ("expired", 0)
