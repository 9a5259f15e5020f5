"""Every bad input of the Core issue: answered per SPEC with the named parameter, and no row written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import Server

TO = "13056708084"


def counts(server: Server) -> tuple[int, int, int]:
    return server.count("messages"), server.count("mo_messages"), server.count("pins")


def answer(server: Server, path: str, method: str = "GET", body: str | None = None) -> tuple[str, str]:
    before = counts(server)
    response = httpx.request(method, server.url + path, content=body, timeout=10)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert counts(server) == before, "a refused request wrote a row"
    return root.findtext("status"), root.findtext("description")


def answer_writes(server: Server, path: str) -> tuple[str, str]:
    root = ET.fromstring(httpx.get(server.url + path, timeout=10).content)
    return root.findtext("status"), root.findtext("description")


@pytest.fixture(scope="module")
def other(server: Server) -> dict:
    """A second workspace with its own key and code."""
    ws = server.cli("admin", "workspace", "create", "--name", "other")
    server.cli("admin", "code", "add", "--workspace", str(ws["instance_id"]), "--code", "5550001")
    return server.cli("admin", "key", "create", "--workspace", str(ws["instance_id"]))


def sms(server: Server, *, carrier: str | None = None, code: str | None = None, to: str | None = None,
        text: str | None = None, creds: dict | None = None, instance: str | None = None) -> str:
    c = server.creds
    params = [instance or str(c["instance_id"]), carrier or c["carrier"], code or c["code"],
              to if to is not None else b64(TO), text if text is not None else b64("hi")]
    return server.signed_path("sendSMS", params, creds=creds)


def pin(server: Server, length: str) -> str:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], TO, b64("{pin}"), length]
    return server.signed_path("sendSMSPinMobileNumberConfirm", params)


def mo_list(server: Server, page: str = "1", per_page: str = "20", search: str = "null") -> str:
    return server.signed_path("getMOMessages", [str(server.creds["instance_id"]), page, per_page, search],
                              encode=False)


BAD_SIGNATURE = ("BAD_SIGNATURE", "Invalid signature, access denied")


def test_wrong_signature(server: Server) -> None:
    path = sms(server)
    tampered = path[:-4] + ("0000" if not path.endswith("0000") else "1111")
    assert answer(server, tampered) == BAD_SIGNATURE


def test_unknown_instance(server: Server) -> None:
    assert answer(server, sms(server, instance="999999")) == BAD_SIGNATURE
    assert answer(server, sms(server, instance="abc")) == BAD_SIGNATURE


def test_key_of_another_workspace(server: Server, other: dict) -> None:
    # Signed correctly with the other workspace's key, but naming this workspace's instance.
    assert answer(server, sms(server, creds=other)) == BAD_SIGNATURE


def test_revoked_key(server: Server) -> None:
    c = server.creds
    fresh = server.cli("admin", "key", "create", "--workspace", str(c["instance_id"]))
    server.wait_for_catalog()  # the server re-reads keys every catalog_refresh_s
    status, _ = answer_writes(server, sms(server, text=b64("before revoke"), creds=fresh))
    assert status == "OK"
    server.cli("admin", "key", "revoke", "--public-key", fresh["public_key"])
    server.wait_for_catalog()
    assert answer(server, sms(server, creds=fresh)) == BAD_SIGNATURE


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda s: sms(s, text="%%%"), "Invalid parameter text: not valid Base64"),
        (lambda s: sms(s, text="a"), "Invalid parameter text: not valid Base64"),
        (lambda s: sms(s, text="_w=="), "Invalid parameter text: not valid UTF-8"),
        (lambda s: sms(s, to="!!"), "Invalid parameter mobileNumber: not valid Base64"),
        (lambda s: sms(s, to=b64("12345")), "Invalid parameter mobileNumber: not a valid phone number"),
        (lambda s: sms(s, to=b64("1305670808x")), "Invalid parameter mobileNumber: not a valid phone number"),
        (lambda s: sms(s, carrier="nosuchcarrier"), "Invalid parameter carrier: unknown carrier 'nosuchcarrier'"),
        (lambda s: sms(s, code="5550001"), "Invalid parameter from: code not assigned to this workspace"),
        (lambda s: sms(s, text=b64("")), "Invalid parameter text: empty"),
        (lambda s: sms(s, text=b64("x" * 1531)), "Invalid parameter text: 11 segments, at most 10 allowed"),
        (lambda s: pin(s, "3"), "Invalid parameter length: must be 4 to 10 digits"),
        (lambda s: pin(s, "11"), "Invalid parameter length: must be 4 to 10 digits"),
        (lambda s: mo_list(s, page="0"), "Invalid parameter page: must be from 1"),
        (lambda s: mo_list(s, per_page="0"), "Invalid parameter resultsPerPage: must be 1 to 1000"),
        (lambda s: mo_list(s, per_page="1001"), "Invalid parameter resultsPerPage: must be 1 to 1000"),
        (lambda s: mo_list(s, search="colour=red"), "Invalid parameter parameters: unknown search name 'colour'"),
        (lambda s: mo_list(s, search="keyword=%28a"), "Invalid parameter keyword: regular expression does not compile"),
    ],
    ids=["b64-chars", "b64-length", "not-utf8", "number-b64", "number-short", "number-letters", "carrier",
         "code", "empty-text", "over-10-segments", "pin-3", "pin-11", "page-0", "per-page-0", "per-page-1001",
         "search-name", "search-regex"],
)
def test_invalid_parameter(server: Server, other: dict, build: Callable[[Server], str], expected: str) -> None:
    assert answer(server, build(server)) == ("INVALID_PARAMETER", expected)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not valid JSON"),
        ('{"event": {}}', "not a fire-message descriptor"),
        ('{"event": {"fld-val-list": {"keyword_value": "x"}}}', "recipient_address"),
        ("[1, 2]", "not a fire-message descriptor"),
    ],
)
def test_fire_message_bad_descriptor(server: Server, body: str, reason: str) -> None:
    path = server.signed_path("fireMessage", [str(server.creds["instance_id"])], tools=False)
    status, description = answer(server, path, method="POST", body=body)
    assert status == "INVALID_PARAMETER"
    assert description.startswith("Invalid parameter body: ") and reason in description


def test_fire_message_to_a_code_of_another_workspace(server: Server, other: dict) -> None:
    path = server.signed_path("fireMessage", [str(server.creds["instance_id"])], tools=False)
    body = '{"event": {"fld-val-list": {"sender_id_id": "5550001", "keyword_value": "x", "recipient_address": "13055468310"}}}'
    assert answer(server, path, method="POST", body=body) == (
        "INVALID_PARAMETER", "Invalid parameter sender_id_id: code not assigned to this workspace")


@pytest.mark.parametrize("segments", [3, 4, 6])
def test_wrong_segment_count_is_not_found(server: Server, segments: int) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), b64("x"), "extra"][:segments]
    status, description = answer(server, server.signed_path("sendSMS", params))
    assert status == "NOT_FOUND"
    assert description.startswith("Unknown method /rest/api/tools/sendSMS/")


def test_unknown_method_is_not_found(server: Server) -> None:
    assert answer(server, "/rest/api/tools/sendFax/1/2/3/4")[0] == "NOT_FOUND"


def test_route_is_checked_before_signature(server: Server) -> None:
    assert answer(server, "/rest/api/tools/sendSMS/1/x/y/badkey/badsig")[0] == "NOT_FOUND"


def test_signature_is_checked_before_parameters(server: Server) -> None:
    path = sms(server, to=b64("12"))
    assert answer(server, path[:-2] + "zz") == BAD_SIGNATURE
