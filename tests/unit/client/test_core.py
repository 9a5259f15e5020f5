"""The SDK's signing, URLs and parsing, against a mock transport (no server)."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from mecm.client import (
    AsyncClient,
    BadSignature,
    Client,
    InvalidParameter,
    NotEnoughFunds,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)
from mecm.client._core import search_string

SPEC_KEY = "FBF3-4310-909C-C4BBC26F886F"
MESSAGE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><response><input>sendSMS</input><status>OK</status>'
    "<description>Completed</description><result><messages><message><id>42</id><carrier>movistar</carrier>"
    "<from>19893653744</from><to>13056708084</to><text>OGANGI TEST MESSAGE</text><status>PENDING</status>"
    "<statusDescription>Queued for delivery</statusDescription><encoding>UTF-8</encoding>"
    "<date>2013-09-17T10:13:59.176-04:30</date><timezone>America/Caracas</timezone><clientId>PUB</clientId>"
    "<segments>1</segments><dataCoding>GSM7</dataCoding><flags></flags></message></messages></result></response>"
)


def error_xml(status: str, description: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><response><input>x</input><status>{status}</status>'
            f"<description>{description}</description><result></result></response>")


def recording(body: str, status_code: int = 200) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status_code, text=body)

    return seen, httpx.MockTransport(handler)


def test_send_sms_signs_the_spec_worked_example() -> None:
    seen, transport = recording(MESSAGE_XML)
    with Client("http://h", 8, "PUB", SPEC_KEY, transport=transport) as client:
        message = client.send_sms("13056708084", "OGANGI TEST MESSAGE", from_="19893653744", carrier="movistar")
    assert seen[0].url.raw_path.decode() == (
        "/rest/api/tools/sendSMS/8/movistar/19893653744/MTMwNTY3MDgwODQ=/T0dBTkdJIFRFU1QgTUVTU0FHRQ==/PUB/"
        "b9d950ad7dcb014e4be6d7f7055765067c97cb53b117ab1d84fa23e9dfb069e1"
    )
    assert (message.id, message.status, message.segments, message.data_coding) == (42, "PENDING", 1, "GSM7")
    assert message.date == "2013-09-17T10:13:59.176-04:30"


def test_method_paths_put_parameters_in_each_methods_order() -> None:
    seen, transport = recording(MESSAGE_XML)
    with Client("http://h/", 3, "PUB", SPEC_KEY, transport=transport) as client:
        client.send_mt("584141234567", "hi", from_="12345", flags="flash,priority=high")
        client.send_mt("584141234567", "hi", from_="12345")
        client.get_message(42)
    paths = [r.url.raw_path.decode().split("/")[3:-2] for r in seen]
    assert paths[0] == ["sendMT", "3", "12345", "null", "584141234567", "aGk=", "flash,priority=high"]
    assert paths[1] == ["sendMT", "3", "12345", "null", "584141234567", "aGk="]
    assert paths[2] == ["tools", "getMessage", "3", "42"]


def test_fire_message_with_a_code_posts_a_descriptor() -> None:
    xml = ('<response><status>OK</status><description>Completed</description><result><MOMessage><id>7</id>'
           "<text>STOP</text><from>13055468310</from><to>12345</to><encoding>UTF-8</encoding><keyword>^STOP</keyword>"
           "<carrier>movistar</carrier><sendDate>d</sendDate><campaign>optout</campaign>"
           "<responseMessageId>99</responseMessageId></MOMessage></result></response>")
    seen, transport = recording(xml)
    with Client("http://h", 3, "PUB", SPEC_KEY, transport=transport) as client:
        mo = client.fire_message("13055468310", "STOP", code="12345")
    assert seen[0].method == "POST"
    assert seen[0].url.raw_path.decode().startswith("/rest/api/fireMessage/3/PUB/")
    assert b'"sender_id_id": "12345"' in seen[0].content
    assert (mo.id, mo.campaign, mo.response_message_id, mo.keyword) == (7, "optout", 99, "^STOP")


def test_search_string_percent_encodes_values_and_joins_alternatives() -> None:
    assert search_string({"from": None, "keyword": None}) == "null"
    text = search_string({"from": ["13056708084", "58414"], "keyword": "^A{1,3}&b", "order": "asc"})
    assert text == "from=13056708084,58414&keyword=%5EA%7B1%2C3%7D%26b&order=asc"
    assert unquote(text.split("&")[1].split("=")[1]) == "^A{1,3}&b"


@pytest.mark.parametrize(
    ("status", "description", "error"),
    [
        ("BAD_SIGNATURE", "Invalid signature, access denied", BadSignature),
        ("INVALID_PARAMETER", "Invalid parameter mobileNumber: not a valid phone number", InvalidParameter),
        ("NOT_FOUND", "Unknown method /rest/api/nope", NotFound),
        ("RATE_LIMITED", "Too many requests, retry after 3 s", RateLimited),
        ("NOT_ENOUGH_FUNDS", "Not enough funds", NotEnoughFunds),
        ("ERROR", "Internal error", ServerError),
    ],
)
def test_each_status_raises_its_error(status: str, description: str, error: type[Exception]) -> None:
    _, transport = recording(error_xml(status, description), status_code=200)
    with Client("http://h", 3, "PUB", SPEC_KEY, transport=transport) as client, pytest.raises(error) as raised:
        client.get_message(1)
    assert raised.value.status == status and raised.value.description == description
    if error is InvalidParameter:
        assert (raised.value.parameter, raised.value.reason) == ("mobileNumber", "not a valid phone number")
    if error is RateLimited:
        assert raised.value.retry_after_s == 3


def test_http_error_codes_still_carry_the_status() -> None:
    _, transport = recording(error_xml("BAD_SIGNATURE", "Invalid signature, access denied"), status_code=403)
    with Client("http://h", 3, "PUB", SPEC_KEY, transport=transport) as client, pytest.raises(BadSignature):
        client.get_message(1)


def test_a_non_api_answer_is_a_transport_error() -> None:
    _, transport = recording("<html>502 Bad Gateway</html", status_code=502)
    with Client("http://h", 3, "PUB", SPEC_KEY, transport=transport) as client, pytest.raises(TransportError):
        client.get_message(1)


async def test_async_client_builds_the_same_request() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=MESSAGE_XML)

    async with AsyncClient("http://h", 8, "PUB", SPEC_KEY, transport=httpx.MockTransport(handler)) as client:
        message = await client.send_sms("13056708084", "OGANGI TEST MESSAGE", from_="19893653744", carrier="movistar")
    assert seen[0].url.raw_path.decode().endswith("b9d950ad7dcb014e4be6d7f7055765067c97cb53b117ab1d84fa23e9dfb069e1")
    assert message.id == 42
