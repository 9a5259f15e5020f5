"""Issue 12's fixes at the API, against a real server: one reading per signature, clear errors
instead of ERROR, a bounded schedule horizon, and the operators' routes behind a token."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from mecm.domain.signature import sign
from tests.support.server import Server, make_server, run_cli
from tests.support.waiting import wait_until

TO = "13056708084"
# "Transfer approved? No, declined." in standard Base64: it holds one "/".
SPLIT_TEXT = "VHJhbnNmZXIgYXBwcm92ZWQ/IE5vLCBkZWNsaW5lZC4="


def answer(server: Server, path: str, method: str = "GET", body: bytes | None = None) -> tuple[str, str]:
    response = httpx.request(method, server.url + path, content=body, timeout=10)
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # well-formed, whatever the outcome
    return root.findtext("status"), root.findtext("description")


def signed_over(server: Server, method: str, url_params: list[str], signed: str) -> str:
    """A path whose segments are ``url_params`` as given, signed over the string ``signed``."""
    c = server.creds
    return f"/rest/api/{method}/{'/'.join(url_params)}/{c['public_key']}/{sign(c['private_key'], signed)}"


def mt_params(server: Server, text_b64: str) -> list[str]:
    c = server.creds
    return [str(c["instance_id"]), c["code"], c["carrier"], TO, text_b64]


def test_a_text_signed_in_decoded_form_cannot_be_replayed_as_text_and_flags(server: Server) -> None:
    params = mt_params(server, SPLIT_TEXT)
    signed = "/".join(params)  # the client signed the decoded form, a "/" inside the text
    before = server.count("messages")

    encoded = params[:-1] + [SPLIT_TEXT.replace("/", "%2F")]
    assert answer(server, signed_over(server, "sendMT", encoded, signed))[0] == "BAD_SIGNATURE"

    status, description = answer(server, signed_over(server, "sendMT", params, signed))
    assert status == "INVALID_PARAMETER"
    assert description.startswith("Invalid parameter flags: 'IE5vLCBkZWNsaW5lZC4=' is not a flag")
    assert server.count("messages") == before, "no part of either reading was sent"


def test_flags_that_continue_the_text_as_base64_are_refused_even_in_flag_shape(server: Server) -> None:
    # "ce?rn!" is Y2U/cm4h: its tail "cm4h" has the shape of a flag, so only the joined reading tells.
    params = mt_params(server, "Y2U/cm4h")
    before = server.count("messages")
    status, description = answer(server, signed_over(server, "sendMT", params, "/".join(params)))
    assert (status, description) == (
        "INVALID_PARAMETER", "Invalid parameter flags: text and flags together read as one Base64 text; "
                             "pad the text with =")
    assert server.count("messages") == before


def test_flags_beside_a_padded_text_are_taken(server: Server) -> None:
    params = mt_params(server, b64("Transfer approved")) + ["cm4h,priority=high"]
    status, _ = answer(server, signed_over(server, "sendMT", params, "/".join(params)))
    assert status == "OK"


def test_standard_base64_still_works_signed_raw_or_decoded(server: Server) -> None:
    raw_signed = mt_params(server, "w7/Dvw==".replace("/", "%2F"))  # "ÿÿ", the "/" sent as %2F
    assert answer(server, signed_over(server, "sendMT", raw_signed, "/".join(raw_signed)))[0] == "OK"
    decoded = mt_params(server, "fn5+")  # "~~~": a "+" the client percent-encodes but signs decoded
    url = decoded[:-1] + ["fn5%2B"]
    assert answer(server, signed_over(server, "sendMT", url, "/".join(decoded)))[0] == "OK"


@pytest.mark.parametrize(("method", "params", "parameter"), [
    ("getMessage", ["9223372036854775808"], "messageId"),
    ("getMessage", ["99999999999999999999"], "messageId"),
    ("getMOMessages", ["%C2%B2", "20", "null"], "page"),
    ("getMOMessages", ["1", "%C2%B2", "null"], "resultsPerPage"),
])
def test_numbers_out_of_range_or_not_ascii_name_their_parameter(
        server: Server, method: str, params: list[str], parameter: str) -> None:
    path = server.signed_path(method, [str(server.creds["instance_id"]), *params], encode=False)
    status, description = answer(server, path)
    assert status == "INVALID_PARAMETER"
    assert description.startswith(f"Invalid parameter {parameter}: ")


def test_a_lone_surrogate_in_a_fire_message_body_is_refused(server: Server) -> None:
    body = json.dumps({"event": {"fld-val-list": {"recipient_address": TO, "keyword_value": "\ud800"}}})
    assert "\\ud800" in body
    before = server.count("mo_messages")
    path = server.signed_path("fireMessage", [str(server.creds["instance_id"])], tools=False)
    status, description = answer(server, path, "POST", body.encode())
    assert (status, description) == (
        "INVALID_PARAMETER", "Invalid parameter body: keyword_value is not valid Unicode (a lone surrogate)")
    assert server.count("mo_messages") == before


def test_a_send_scheduled_past_the_horizon_is_refused(server: Server) -> None:
    params = mt_params(server, b64("see you in 5138")) + ["at=99999999999999"]
    before = server.count("messages")
    status, description = answer(server, signed_over(server, "sendMT", params, "/".join(params)))
    assert (status, description) == ("INVALID_PARAMETER", "Invalid parameter flags: at= is more than 365 days ahead")
    assert server.count("messages") == before


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("ops"), ops_token="ops-secret")
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("route", ["/metrics", "/admin/carriers/status"])
def test_operators_routes_want_the_ops_token_when_one_is_set(guarded_server: Server, route: str) -> None:
    url = guarded_server.url + route
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer ops-secret"}, timeout=10).status_code in (200, 503)
    assert httpx.get(guarded_server.url + "/readyz", timeout=10).status_code == 200


def test_carrier_status_command_sends_the_ops_token(guarded_server: Server) -> None:
    wait_until(lambda: httpx.get(guarded_server.url + "/admin/carriers/status", timeout=10,
                                 headers={"Authorization": "Bearer ops-secret"}).status_code == 200, timeout=30)
    assert guarded_server.cli("admin", "carrier", "status")["carriers"]  # the token from mecm.toml
    with pytest.raises(RuntimeError, match="wants its ops token"):
        run_cli({**guarded_server.env, "MECM_OPS_TOKEN": "stale"}, "admin", "carrier", "status")
