"""Every method of SPEC section 1 against a real server process, answered per SPEC section 4."""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET

import httpx

from mecm.domain.b64 import encode as b64
from mecm.domain.signature import sign
from tests.support.server import Server
from tests.support.waiting import wait_until

TO = "13056708084"


def call(server: Server, path: str, **kwargs: object) -> ET.Element:
    response = httpx.request(kwargs.pop("method", "GET"), server.url + path, timeout=10, **kwargs)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "response"
    assert response.headers["x-mecm-status"] == root.findtext("status")
    return root


def ok(root: ET.Element) -> ET.Element:
    assert root.findtext("status") == "OK", root.findtext("description")
    assert root.findtext("description") == "Completed"
    return root.find("result")


def send_sms_path(server: Server, text: str = "hello", to: str = TO, carrier: str | None = None,
                  code: str | None = None) -> str:
    c = server.creds
    params = [str(c["instance_id"]), carrier or c["carrier"], code or c["code"], b64(to), b64(text)]
    return server.signed_path("sendSMS", params)


def wait_status(server: Server, message_id: str, wanted: str, timeout: float = 30.0) -> ET.Element:
    """getMessage's message once its status is ``wanted``; its last answer if that did not come in time."""
    last: list[ET.Element] = []

    def look() -> ET.Element | None:
        path = server.signed_path("getMessage", [str(server.creds["instance_id"]), message_id])
        last[:] = [ok(call(server, path)).find("messages/message")]
        return last[0] if last[0].findtext("status") == wanted else None

    with contextlib.suppress(AssertionError):  # the caller's assertion says what came instead
        return wait_until(look, timeout)
    return last[0]


def test_send_sms_is_accepted_and_delivered(server: Server) -> None:
    result = ok(call(server, send_sms_path(server, "OGANGI TEST MESSAGE")))
    message = result.find("messages/message")
    assert message.findtext("status") == "PENDING"
    assert message.findtext("statusDescription") == "Queued for delivery"
    assert message.findtext("to") == TO
    assert message.findtext("from") == server.creds["code"]
    assert message.findtext("text") == "OGANGI TEST MESSAGE"
    assert message.findtext("dataCoding") == "GSM7"
    assert message.findtext("segments") == "1"
    assert message.findtext("encoding") == "UTF-8"
    assert message.findtext("timezone") == "America/Caracas"
    assert message.findtext("clientId") == server.creds["public_key"]
    assert message.findtext("date").endswith("-04:00")
    final = wait_status(server, message.findtext("id"), "DELIVERED_TO_DEVICE")
    assert final.findtext("status") == "DELIVERED_TO_DEVICE"
    assert final.findtext("statusDescription") == "Delivered to device"


def test_unicode_long_text_counts_segments(server: Server) -> None:
    text = "Olá 😀 " * 20  # UCS-2: 7 chars + emoji surrogate pair per repetition
    message = ok(call(server, send_sms_path(server, text))).find("messages/message")
    assert message.findtext("dataCoding") == "UCS2"
    assert message.findtext("segments") == "3"
    assert message.findtext("text") == text


def test_send_mt_with_flags_and_null_carrier(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["code"], "null", TO, b64("flagged"), "flash,priority=high,custom"]
    message = ok(call(server, server.signed_path("sendMT", params, tools=False))).find("messages/message")
    assert message.findtext("carrier") == c["carrier"]  # routed: the workspace's default carrier
    assert message.findtext("flags") == "flash,priority=high,custom"
    params = params[:5]
    message = ok(call(server, server.signed_path("sendMT", params, tools=False))).find("messages/message")
    assert message.findtext("flags") == ""


def test_send_mt_leading_plus_is_normalised(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["code"], c["carrier"], "+" + TO, b64("plus")]
    message = ok(call(server, server.signed_path("sendMT", params, tools=False))).find("messages/message")
    assert message.findtext("to") == TO


def test_pin_is_generated_and_stored_hashed_and_masked(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], TO, b64("Your code: {pin}."), "6"]
    result = ok(call(server, server.signed_path("sendSMSPinMobileNumberConfirm", params)))
    pin = result.findtext("PinSMSConfirmation/pin")
    message_id = result.findtext("PinSMSConfirmation/messageId")
    assert pin.isdigit() and len(pin) == 6
    assert result.findtext("PinSMSConfirmation/expiresAt")
    (text, sealed) = server.query("SELECT text, sealed_text FROM messages WHERE id = ?", int(message_id))[0]
    assert text == "Your code: ******."
    assert sealed is None or pin not in sealed  # sealed until the carrier took it, then erased
    (stored,) = server.query("SELECT pin_hash FROM pins WHERE message_id = ?", int(message_id))[0]
    assert pin not in stored.split("$")
    assert pin not in (server.home / "server.log").read_text()
    # getMessage shows the text as stored: masked.
    message = ok(call(server, server.signed_path("getMessage", [str(c["instance_id"]), message_id])))
    assert message.findtext("messages/message/text") == "Your code: ******."


def test_pin_without_placeholder_is_appended(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], TO, b64("Code"), "4"]
    result = ok(call(server, server.signed_path("sendSMSPinMobileNumberConfirm", params)))
    message_id = int(result.findtext("PinSMSConfirmation/messageId"))
    (text,) = server.query("SELECT text FROM messages WHERE id = ?", message_id)[0]
    assert text == "Code ****"


def test_fire_message_get_matches_campaign_and_replies(server: Server) -> None:
    c = server.creds
    path = server.signed_path("fireMessage", [str(c["instance_id"]), "584125551234", b64("ogangi please")], tools=False)
    mo = ok(call(server, path)).find("MOMessage")
    assert mo.findtext("from") == "584125551234"
    assert mo.findtext("to") == c["code"]
    assert mo.findtext("campaign") == "welcome"
    assert mo.findtext("keyword") == "^OGANGI"
    reply_id = mo.findtext("responseMessageId")
    assert reply_id and mo.findtext("suppressed") == ""
    # getMOMessages shows the MO as stored, with the campaign and reply fireMessage answered.
    path = server.signed_path("getMOMessages", [str(c["instance_id"]), "1", "10", "from=584125551234"], encode=False)
    (listed,) = [m for m in ok(call(server, path)).findall("MOMessageList/MOMessage")
                 if m.findtext("id") == mo.findtext("id")]
    assert [(e.tag, e.text or "") for e in listed] == [(e.tag, e.text or "") for e in mo]
    reply = wait_status(server, reply_id, "DELIVERED_TO_DEVICE")
    assert reply.findtext("status") == "DELIVERED_TO_DEVICE"
    assert reply.findtext("to") == "584125551234"
    assert reply.findtext("text").startswith("Thanks for writing to OGANGI")


def test_fire_message_post_with_trailing_commas(server: Server) -> None:
    c = server.creds
    path = server.signed_path("fireMessage", [str(c["instance_id"])], tools=False)
    body = ('{"event": {"fld-val-list": {"sender_id_id": "%s", "keyword_value": "no match here", '
            '"recipient_address": "13055468310",},},}' % c["code"])
    mo = ok(call(server, path, method="POST", content=body)).find("MOMessage")
    assert mo.findtext("text") == "no match here"
    assert mo.findtext("campaign") == ""
    assert mo.findtext("responseMessageId") == ""


def test_get_mo_messages_filters_orders_and_pages(server: Server) -> None:
    c = server.creds
    for i in range(5):
        path = server.signed_path("fireMessage", [str(c["instance_id"]), "584125550000", b64(f"page test {i}")],
                                  tools=False)
        ok(call(server, path))
    search = "from=584125550000&order=asc&keyword=%5Epage%20test%20%5B0-3%5D"
    path = server.signed_path("getMOMessages", [str(c["instance_id"]), "1", "3", search], encode=False)
    listing = ok(call(server, path)).find("MOMessageList")
    assert listing.findtext("records") == "4"
    assert listing.findtext("page") == "1"
    assert listing.findtext("resultsPerPage") == "3"
    texts = [m.findtext("text") for m in listing.findall("MOMessage")]
    assert texts == ["page test 0", "page test 1", "page test 2"]
    path = server.signed_path("getMOMessages", [str(c["instance_id"]), "2", "3", search], encode=False)
    texts = [m.findtext("text") for m in ok(call(server, path)).findall("MOMessageList/MOMessage")]
    assert texts == ["page test 3"]
    path = server.signed_path("getMOMessages", [str(c["instance_id"]), "1", "2", "from=584125550000"], encode=False)
    texts = [m.findtext("text") for m in ok(call(server, path)).findall("MOMessageList/MOMessage")]
    assert texts == ["page test 4", "page test 3"]  # default order: newest first


def test_get_mo_messages_null_means_no_filter(server: Server) -> None:
    c = server.creds
    path = server.signed_path("getMOMessages", [str(c["instance_id"]), "1", "1000", "null"])
    listing = ok(call(server, path)).find("MOMessageList")
    assert int(listing.findtext("records")) == server.count("mo_messages", "workspace_id = ?", c["instance_id"])


def test_json_form_mirrors_the_tree(server: Server) -> None:
    response = httpx.get(server.url + send_sms_path(server, "json please"), headers={"Accept": "application/json"})
    body = response.json()
    assert body["status"] == "OK" and body["input"] == "sendSMS"
    (message,) = body["result"]["messages"]["message"]
    assert message["text"] == "json please" and isinstance(message["id"], str)


def test_percent_encoded_slash_in_standard_base64_does_not_split(server: Server) -> None:
    # "???" in standard Base64 is "Pz8/": its "/" travels percent-encoded as %2F.
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), "Pz8/"]
    message = ok(call(server, server.signed_path("sendSMS", params))).find("messages/message")
    assert message.findtext("text") == "???"


def test_signature_over_decoded_segments_is_accepted(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), "Pz8+"]
    raw = [p.replace("+", "%2B") for p in params]
    signature = sign(c["private_key"], "/".join(params)).upper()
    path = f"/rest/api/tools/sendSMS/{'/'.join(raw)}/{c['public_key']}/{signature}"
    assert ok(call(server, path)).find("messages/message/text").text == "??>"


def test_signature_over_decoded_segments_holding_a_slash_is_refused(server: Server) -> None:
    # SPEC section 2: a decoded "/" would give the signed string a second reading, so only the raw
    # form (%2F as sent) is checked.
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), "Pz8/"]
    raw = [p.replace("/", "%2F") for p in params]
    decoded_signature = sign(c["private_key"], "/".join(params))
    path = f"/rest/api/tools/sendSMS/{'/'.join(raw)}/{c['public_key']}/{decoded_signature}"
    assert call(server, path).findtext("status") == "BAD_SIGNATURE"
    raw_signature = sign(c["private_key"], "/".join(raw))
    path = f"/rest/api/tools/sendSMS/{'/'.join(raw)}/{c['public_key']}/{raw_signature}"
    assert ok(call(server, path)).find("messages/message/text").text == "???"


def test_xml_escapes_text_and_replaces_control_characters(server: Server) -> None:
    message = ok(call(server, send_sms_path(server, "a<b & c>\x01"))).find("messages/message")
    assert message.findtext("text") == "a<b & c>\ufffd"
    (stored,) = server.query("SELECT text FROM messages WHERE id = ?", int(message.findtext("id")))[0]
    assert stored == "a<b & c>\x01"


def test_http_error_codes_setting_is_off_by_default(server: Server) -> None:
    response = httpx.get(server.url + "/rest/api/tools/nothing/1/2/3")
    assert response.status_code == 200
    assert ET.fromstring(response.content).findtext("status") == "NOT_FOUND"
    assert json.loads(httpx.get(server.url + "/healthz").text) == {"status": "ok"}
