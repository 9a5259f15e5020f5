"""Idempotency-Key against a real server process (SPEC section 9): a retry under the same key is
answered with the first answer and stores nothing new, on every sending method and fireMessage;
another request under a used key, and a malformed key, are INVALID_PARAMETER naming the key."""

from __future__ import annotations

import asyncio
import itertools
import json
import xml.etree.ElementTree as ET

import httpx
import pytest

from mecm.client import AsyncClient, Client, InvalidParameter
from mecm.domain.b64 import encode as b64
from tests.api.test_methods import wait_status
from tests.support.server import Server, run_mecm
from tests.support.waiting import wait_until

KEYS = (f"key-{n}" for n in itertools.count())
NUMBERS = (f"1305670{n:04d}" for n in itertools.count(7100))
REPLAYED = "idempotent-replayed"


def request(server: Server, path: str, key: str | None, **kwargs: object) -> tuple[httpx.Response, ET.Element]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = httpx.request(kwargs.pop("method", "GET"), server.url + path, headers=headers, timeout=10, **kwargs)
    assert response.status_code == 200
    return response, ET.fromstring(response.content)


def status_of(root: ET.Element) -> tuple[str, str]:
    return root.findtext("status"), root.findtext("description")


def sms_path(server: Server, to: str, text: str = "hello", creds: dict | None = None, code: str | None = None) -> str:
    c = creds or server.creds
    params = [str(c["instance_id"]), server.creds["carrier"], code or c["code"], b64(to), b64(text)]
    return server.signed_path("sendSMS", params, creds=creds)


def mt_path(server: Server, to: str, flags: str, text: str = "hello") -> str:
    c = server.creds
    return server.signed_path("sendMT", [str(c["instance_id"]), c["code"], c["carrier"], to, b64(text), flags],
                              tools=False)


def message_id(root: ET.Element) -> str:
    assert root.findtext("status") == "OK", root.findtext("description")
    return root.findtext("result/messages/message/id")


def age(server: Server, key: str, by_ms: int) -> None:
    """Make the key's row ``by_ms`` older, as if that much time had passed since its request."""
    aged = server.query("UPDATE idempotency_keys SET created_at_ms = created_at_ms - ? WHERE key = ? RETURNING key",
                        by_ms, key)
    assert aged == [(key,)]


def messages_to(server: Server, number: str) -> int:
    return server.count("messages", "recipient = ?", number)


@pytest.fixture(scope="module")
def other(server: Server) -> dict:
    """A second workspace, with its own key and code."""
    ws = server.cli("admin", "workspace", "create", "--name", "idempotency-other")
    server.cli("admin", "code", "add", "--workspace", str(ws["instance_id"]), "--code", "5550077")
    key = server.cli("admin", "key", "create", "--workspace", str(ws["instance_id"]))
    # Used once the server knows the key (its catalog is re-read every 0.2 s): a bad message id answers
    # INVALID_PARAMETER for a known key, BAD_SIGNATURE before.
    probe = server.signed_path("getMessage", [str(ws["instance_id"]), "not-an-id"], creds=key)
    wait_until(lambda: ET.fromstring(httpx.get(server.url + probe, timeout=10).content).findtext("status")
               == "INVALID_PARAMETER")
    return {**key, "code": "5550077"}


def test_a_retry_gets_the_first_answer_and_stores_nothing(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)
    first, first_root = request(server, sms_path(server, number), key)
    first_id = message_id(first_root)
    assert REPLAYED not in first.headers
    # The message moves on; the retry still gets the first answer (PENDING), not today's state.
    assert wait_status(server, first_id, "DELIVERED_TO_DEVICE", timeout=30).findtext("status") == "DELIVERED_TO_DEVICE"
    again, _ = request(server, sms_path(server, number), key)
    assert again.headers[REPLAYED] == "true"
    assert again.content == first.content
    assert messages_to(server, number) == 1
    assert server.count("idempotency_keys", "key = ?", key) == 1


def test_a_used_key_with_other_parameters_is_refused_naming_it(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)
    message_id(request(server, sms_path(server, number, "first"), key)[1])
    response, root = request(server, sms_path(server, number, "second"), key)
    assert status_of(root) == ("INVALID_PARAMETER",
                               "Invalid parameter Idempotency-Key: already used for a request with other parameters")
    assert REPLAYED not in response.headers
    assert messages_to(server, number) == 1


@pytest.mark.parametrize("bad", ["", "a" * 65, "two words", "key/slash", "clé", "key.dot"])
def test_a_malformed_key_is_refused_and_nothing_is_stored(server: Server, bad: str) -> None:
    number = next(NUMBERS)
    response = httpx.get(server.url + sms_path(server, number), headers={"Idempotency-Key": bad.encode()},
                         timeout=10)
    root = ET.fromstring(response.content)
    assert root.findtext("status") == "INVALID_PARAMETER"
    assert root.findtext("description").startswith("Invalid parameter Idempotency-Key: must be 1 to 64")
    assert messages_to(server, number) == 0


def test_a_key_of_64_characters_is_accepted(server: Server) -> None:
    number = next(NUMBERS)
    key = "A-z_9" * 12 + "abcd"
    assert message_id(request(server, sms_path(server, number), key)[1])


def test_authentication_comes_before_the_key(server: Server) -> None:
    path = sms_path(server, next(NUMBERS))
    wrong = path[:-64] + ("0" * 64 if not path.endswith("0" * 64) else "1" * 64)
    _, root = request(server, wrong, "not a key")
    assert root.findtext("status") == "BAD_SIGNATURE"


def test_the_flags_token_works_for_clients_that_cannot_set_headers(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)
    flags = f"priority=high,idem={key}"
    first, first_root = request(server, mt_path(server, number, flags), None)
    first_id = message_id(first_root)
    assert first_root.findtext("result/messages/message/flags") == flags  # kept and echoed
    again, again_root = request(server, mt_path(server, number, flags), None)
    assert (message_id(again_root), again.headers[REPLAYED]) == (first_id, "true")
    # The header with the same key is the same request; with another key it contradicts the flags.
    assert request(server, mt_path(server, number, flags), key)[0].headers[REPLAYED] == "true"
    assert status_of(request(server, mt_path(server, number, flags), "another")[1]) == (
        "INVALID_PARAMETER", "Invalid parameter Idempotency-Key: the header and the flags token idem= differ")
    assert status_of(request(server, mt_path(server, number, "idem=bad.key"), None)[1])[1].startswith(
        "Invalid parameter Idempotency-Key: must be")
    assert messages_to(server, number) == 1


def test_keys_are_per_workspace(server: Server, other: dict) -> None:
    key, number = next(KEYS), next(NUMBERS)
    mine = message_id(request(server, sms_path(server, number), key)[1])
    response, root = request(server, sms_path(server, number, creds=other, code=other["code"]), key)
    assert REPLAYED not in response.headers
    assert message_id(root) != mine
    assert messages_to(server, number) == 2


def test_a_key_older_than_the_window_is_ignored(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)
    first_id = message_id(request(server, sms_path(server, number), key)[1])
    # 24 h and a millisecond pass for this key (the default window is 86,400 s).
    age(server, key, 86_400_001)
    response, root = request(server, sms_path(server, number, "other text now"), key)
    assert REPLAYED not in response.headers
    second_id = message_id(root)
    assert second_id != first_id
    assert messages_to(server, number) == 2
    assert server.query("SELECT message_id FROM idempotency_keys WHERE key = ?", key) == [(int(second_id),)]


def test_a_key_just_inside_the_window_is_still_answered(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)
    first_id = message_id(request(server, sms_path(server, number), key)[1])
    age(server, key, 86_340_000)  # 23 h 59 min
    response, root = request(server, sms_path(server, number), key)
    assert (message_id(root), response.headers.get(REPLAYED)) == (first_id, "true")


def test_fire_message_post_and_get_with_a_key(server: Server) -> None:
    c = server.creds
    key = next(KEYS)
    body = ('{"event": {"fld-val-list": {"sender_id_id": "%s", "keyword_value": "idempotent fire", '
            '"recipient_address": "13055467001"}}}' % c["code"])
    path = server.signed_path("fireMessage", [str(c["instance_id"])], tools=False)
    first, first_root = request(server, path, key, method="POST", content=body)
    assert first_root.findtext("status") == "OK", first_root.findtext("description")
    again, _ = request(server, path, key, method="POST", content=body)
    assert (again.headers[REPLAYED], again.content) == ("true", first.content)
    other_body = body.replace("idempotent fire", "another text")
    assert status_of(request(server, path, key, method="POST", content=other_body)[1])[0] == "INVALID_PARAMETER"
    assert server.count("mo_messages", "sender = ?", "13055467001") == 1

    get_key = next(KEYS)
    get_path = server.signed_path("fireMessage", [str(c["instance_id"]), "13055467002", b64("by GET")], tools=False)
    first, _ = request(server, get_path, get_key)
    again, _ = request(server, get_path, get_key)
    assert (again.headers[REPLAYED], again.content) == ("true", first.content)
    assert server.count("mo_messages", "sender = ?", "13055467002") == 1


def test_a_pin_is_replayed_with_its_pin_and_the_pin_is_not_kept_in_clear(server: Server) -> None:
    c = server.creds
    key, number = next(KEYS), next(NUMBERS)
    params = [str(c["instance_id"]), c["carrier"], c["code"], number, b64("Your code is {pin}"), "8"]
    path = server.signed_path("sendSMSPinMobileNumberConfirm", params)
    first, first_root = request(server, path, key)
    pin = first_root.findtext("result/PinSMSConfirmation/pin")
    assert pin and len(pin) == 8
    again, _ = request(server, path, key)
    assert (again.headers[REPLAYED], again.content) == ("true", first.content)
    assert messages_to(server, number) == 1
    (answer,), = server.query("SELECT answer FROM idempotency_keys WHERE key = ?", key)
    assert pin not in answer


def test_sixteen_concurrent_requests_with_one_key_store_one_message(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)
    path = sms_path(server, number, "all at once")

    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(client.get(path, headers={"Idempotency-Key": key}) for _ in range(16)))

    responses = asyncio.run(all_at_once())
    ids = {message_id(ET.fromstring(r.content)) for r in responses}
    assert len(ids) == 1
    assert sum(r.headers.get(REPLAYED) == "true" for r in responses) == 15
    assert messages_to(server, number) == 1


def test_sixteen_concurrent_requests_with_one_key_and_different_texts_store_one(server: Server) -> None:
    key, number = next(KEYS), next(NUMBERS)

    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(client.get(sms_path(server, number, f"text {i}"),
                                                     headers={"Idempotency-Key": key}) for i in range(16)))

    roots = [ET.fromstring(r.content) for r in asyncio.run(all_at_once())]
    assert sorted(root.findtext("status") for root in roots) == ["INVALID_PARAMETER"] * 15 + ["OK"]
    assert messages_to(server, number) == 1


def test_requests_without_a_key_store_no_key(server: Server) -> None:
    number = next(NUMBERS)
    before = server.count("idempotency_keys")
    message_id(request(server, sms_path(server, number), None)[1])
    message_id(request(server, sms_path(server, number), None)[1])
    assert messages_to(server, number) == 2
    assert server.count("idempotency_keys") == before


def test_the_sdk_sends_the_key(server: Server) -> None:
    c = server.creds
    key, number = next(KEYS), next(NUMBERS)
    with Client(server.url, c["instance_id"], c["public_key"], c["private_key"]) as client:
        first = client.send_sms(number, "sdk retry", from_=c["code"], idempotency_key=key)
        again = client.send_sms(number, "sdk retry", from_=c["code"], idempotency_key=key)
        with pytest.raises(InvalidParameter) as raised:
            client.send_mt(number, "sdk other", from_=c["code"], idempotency_key=key)
    assert again == first
    assert raised.value.parameter == "Idempotency-Key"
    assert messages_to(server, number) == 1


async def test_the_async_sdk_sends_the_key_with_a_fire_message_post(server: Server) -> None:
    c = server.creds
    key = next(KEYS)
    async with AsyncClient(server.url, c["instance_id"], c["public_key"], c["private_key"]) as client:
        first = await client.fire_message("13055467003", "async fire", code=c["code"], idempotency_key=key)
        again = await client.fire_message("13055467003", "async fire", code=c["code"], idempotency_key=key)
    assert again == first
    assert server.count("mo_messages", "sender = ?", "13055467003") == 1


def test_the_cli_sends_the_key(server: Server) -> None:
    c = server.creds
    key, number = next(KEYS), next(NUMBERS)
    env = {**server.env, "MECM_URL": server.url, "MECM_INSTANCE_ID": str(c["instance_id"]),
           "MECM_PUBLIC_KEY": c["public_key"], "MECM_PRIVATE_KEY": c["private_key"]}
    args = ["send", "sms", number, "cli retry", "--from", c["code"], "--idempotency-key", key, "--json"]
    answers = [run_mecm(args, env=env) for _ in range(2)]
    assert [a.returncode for a in answers] == [0, 0], answers[0].stderr
    assert json.loads(answers[0].stdout)["id"] == json.loads(answers[1].stdout)["id"]
    assert messages_to(server, number) == 1
