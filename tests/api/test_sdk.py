"""The SDK and the CLI built on it, against a real server process."""

from __future__ import annotations

import json

import pytest

from mecm.client import AsyncClient, BadSignature, Client, InvalidParameter
from tests.support.server import Server, run_mecm
from tests.support.waiting import wait_until

TO = "13056708084"


def client_of(server: Server, private_key: str | None = None) -> Client:
    c = server.creds
    return Client(server.url, c["instance_id"], c["public_key"], private_key or c["private_key"])


def test_send_then_follow_to_delivery(server: Server) -> None:
    with client_of(server) as client:
        sent = client.send_sms(TO, "Hello from the SDK", from_=server.creds["code"], carrier=server.creds["carrier"])
        assert (sent.status, sent.to, sent.text, sent.data_coding) == ("PENDING", TO, "Hello from the SDK", "GSM7")
        state = wait_until(lambda: (s := client.get_message(sent.id)).status == "DELIVERED_TO_DEVICE" and s, 30)
    assert state.id == sent.id


def test_mt_with_flags_pin_and_mo(server: Server) -> None:
    code = server.creds["code"]
    with client_of(server) as client:
        mt = client.send_mt(TO, "Señal ñ €", from_=code, flags="priority=high,validity=60,custom")
        assert mt.flags == "priority=high,validity=60,custom"
        pin = client.send_pin(TO, "Your code is {pin}", from_=code, length=8)
        assert len(pin.pin) == 8 and pin.pin.isdigit() and pin.message_id > 0
        fired = client.fire_message("584141234567", "sdk check, comma", code=code)
        page = client.get_mo_messages(1, 50, from_="584141234567", keyword="comma$")
    assert fired.id in [m.id for m in page.messages]
    assert page.records >= 1 and all(m.from_ == "584141234567" for m in page.messages)


def test_errors_are_typed(server: Server) -> None:
    with client_of(server, private_key="not-the-key") as client, pytest.raises(BadSignature):
        client.get_message(1)
    with client_of(server) as client, pytest.raises(InvalidParameter) as raised:
        client.send_sms("12", "x", from_=server.creds["code"], carrier=server.creds["carrier"])
    assert raised.value.parameter == "mobileNumber"


async def test_async_client(server: Server) -> None:
    c = server.creds
    async with AsyncClient(server.url, c["instance_id"], c["public_key"], c["private_key"]) as client:
        sent = await client.send_sms(TO, "async hello", from_=c["code"], carrier=c["carrier"])
        again = await client.get_message(sent.id)
    assert again.id == sent.id and again.text == "async hello"


def test_cli_send_and_get(server: Server) -> None:
    c = server.creds
    env = {**server.env, "MECM_URL": server.url, "MECM_INSTANCE_ID": str(c["instance_id"]),
           "MECM_PUBLIC_KEY": c["public_key"], "MECM_PRIVATE_KEY": c["private_key"]}

    def cli(*args: str) -> dict:
        done = run_mecm([*args, "--json"], env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    sent = cli("send", "sms", TO, "from the CLI", "--from", c["code"], "--carrier", c["carrier"])
    got = cli("message", "get", str(sent["id"]))
    assert got["id"] == sent["id"] and got["text"] == "from the CLI"
    bad = run_mecm(["send", "sms", "12", "x", "--from", c["code"], "--json"], env=env)
    assert bad.returncode == 1 and json.loads(bad.stdout)["status"] == "INVALID_PARAMETER"
