"""What the sync and async clients share: signed request building and response parsing.

No I/O here (httpx's habit): each API method is a function from its arguments to a ``Request``
(HTTP method, path, body), and ``parse`` turns the answer's XML into a typed result or raises the
typed error for its status.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from mecm.client._errors import BY_STATUS, ApiStatusError, TransportError
from mecm.client._models import Message, MOMessage, MOPage, PinConfirmation, PinVerification
from mecm.domain.b64 import encode as b64
from mecm.domain.signature import sign

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None
    parse: Callable[[ET.Element], Any]  # the <result> element -> the typed result
    headers: dict[str, str] | None = None


def with_idempotency_key(request: Request, key: str | None) -> Request:
    """``request`` sent with an ``Idempotency-Key`` header (SPEC section 9): a retry with the same key
    and the same arguments gets the first answer, and the server sends nothing twice."""
    if key is None:
        return request
    return Request(request.method, request.path, request.body, request.parse,
                   {**(request.headers or {}), "Idempotency-Key": key})


def request_headers(request: Request) -> dict[str, str] | None:
    """What the clients send besides the path: the body's type, an idempotency key."""
    if request.body is None:
        return request.headers
    return {"content-type": "application/json", **(request.headers or {})}


@dataclass(frozen=True)
class Signer:
    instance_id: int
    public_key: str
    private_key: str

    def path(self, method_path: str, params: Sequence[str]) -> str:
        """``/rest/api/{method_path}/{params...}/{publicKey}/{signature}``, signed over the params as written."""
        joined = "/".join([str(self.instance_id), *params])
        signature = sign(self.private_key, joined)
        return f"/rest/api/{method_path}/{joined}/{quote(self.public_key, safe='')}/{signature}"


def _segment(value: str) -> str:
    return quote(value, safe="=,")


def _carrier(carrier: str | None) -> str:
    return "null" if carrier is None else _segment(carrier)


def send_sms(signer: Signer, to: str, text: str, from_: str, carrier: str | None) -> Request:
    params = [_carrier(carrier), _segment(from_), b64(to), b64(text)]
    return Request("GET", signer.path("tools/sendSMS", params), None, _message)


def send_mt(signer: Signer, to: str, text: str, from_: str, carrier: str | None, flags: str | None) -> Request:
    params = [_segment(from_), _carrier(carrier), _segment(to), b64(text)]
    if flags:
        params.append(_segment(flags))
    return Request("GET", signer.path("sendMT", params), None, _message)


def send_pin(signer: Signer, to: str, text: str, from_: str, length: int, carrier: str | None) -> Request:
    params = [_carrier(carrier), _segment(from_), _segment(to), b64(text), str(length)]
    return Request("GET", signer.path("tools/sendSMSPinMobileNumberConfirm", params), None, _pin)


def verify_pin(signer: Signer, number: str, pin: str) -> Request:
    return Request("GET", signer.path("tools/verifyPin", [_segment(number), _segment(pin)]), None, _verification)


def fire_message(signer: Signer, from_number: str, text: str, code: str | None) -> Request:
    """GET without a code (the workspace's default code); POST with a fire-message descriptor when
    a code is named (SPEC section 7)."""
    if code is None:
        return Request("GET", signer.path("fireMessage", [_segment(from_number), b64(text)]), None, _fired)
    descriptor = {"event": {"fld-val-list": {"sender_id_id": code, "keyword_value": text,
                                             "recipient_address": from_number}}}
    body = json.dumps(descriptor, ensure_ascii=False).encode()
    return Request("POST", signer.path("fireMessage", []), body, _fired)


def get_mo_messages(signer: Signer, page: int, results_per_page: int, filters: dict[str, Any]) -> Request:
    params = [str(page), str(results_per_page), search_string(filters)]
    return Request("GET", signer.path("tools/getMOMessages", params), None, _mo_page)


def get_message(signer: Signer, message_id: int) -> Request:
    return Request("GET", signer.path("tools/getMessage", [str(message_id)]), None, _message)


def search_string(filters: dict[str, Any]) -> str:
    """SPEC section 6: name=value pairs joined by &, several values of a name joined by "," (OR),
    each value percent-encoded (so a "," inside a value is %2C); "null" for no filter."""
    pairs = []
    for name, value in filters.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.append(f"{name}=" + ",".join(quote(str(v), safe="") for v in values))
    return "&".join(pairs) or "null"


def parse(content: bytes, http_status: int, request: Request) -> Any:
    """The typed result of an OK answer, or the typed error of its status."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        raise TransportError(f"HTTP {http_status}: the answer is not an API response") from None
    status = root.findtext("status") or ""
    description = root.findtext("description") or ""
    if status != "OK":
        raise BY_STATUS.get(status, ApiStatusError)(description)
    result = root.find("result")
    if result is None:
        raise TransportError("the answer has no result")
    return request.parse(result)


def _text(element: ET.Element, path: str) -> str:
    return element.findtext(path) or ""


def _message(result: ET.Element) -> Message:
    m = result.find("messages/message")
    if m is None:
        raise TransportError("the answer holds no message")
    return Message(
        id=int(_text(m, "id")), carrier=_text(m, "carrier"), from_=_text(m, "from"), to=_text(m, "to"),
        text=_text(m, "text"), status=_text(m, "status"), status_description=_text(m, "statusDescription"),
        encoding=_text(m, "encoding"), date=_text(m, "date"), timezone=_text(m, "timezone"),
        client_id=_text(m, "clientId"), segments=int(_text(m, "segments") or 0),
        data_coding=_text(m, "dataCoding"), flags=_text(m, "flags"),
    )


def _pin(result: ET.Element) -> PinConfirmation:
    p = result.find("PinSMSConfirmation")
    if p is None:
        raise TransportError("the answer holds no PIN confirmation")
    return PinConfirmation(_text(p, "pin"), int(_text(p, "messageId")), _text(p, "expiresAt"))


def _verification(result: ET.Element) -> PinVerification:
    v = result.find("PinVerification")
    if v is None:
        raise TransportError("the answer holds no PIN verification")
    return PinVerification(_text(v, "result"), int(_text(v, "attemptsLeft") or 0))


def _mo(m: ET.Element) -> MOMessage:
    response_id = m.findtext("responseMessageId")
    return MOMessage(
        id=int(_text(m, "id")), text=_text(m, "text"), from_=_text(m, "from"), to=_text(m, "to"),
        encoding=_text(m, "encoding"), keyword=_text(m, "keyword"), carrier=_text(m, "carrier"),
        send_date=_text(m, "sendDate"), campaign=m.findtext("campaign"),
        response_message_id=int(response_id) if response_id else None, suppressed=m.findtext("suppressed"),
    )


def _fired(result: ET.Element) -> MOMessage:
    m = result.find("MOMessage")
    if m is None:
        raise TransportError("the answer holds no MO")
    return _mo(m)


def _mo_page(result: ET.Element) -> MOPage:
    page = result.find("MOMessageList")
    if page is None:
        raise TransportError("the answer holds no MO list")
    return MOPage(int(_text(page, "records")), int(_text(page, "page")), int(_text(page, "resultsPerPage")),
                  [_mo(m) for m in page.findall("MOMessage")])
