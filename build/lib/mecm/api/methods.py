"""The seven methods (SPEC section 1) and the extensions (SPEC section 9), each a function of the
authenticated call.

Parameters arrive percent-decoded, in path order. Each function validates in path order and raises
InvalidParameter naming the first bad one; only then does it write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection

from mecm.api import dry_run, limits, trees
from mecm.api.idempotency import answering, idempotent
from mecm.api.reads import ReadShare, client_read
from mecm.api.render import Node
from mecm.domain import b64
from mecm.domain import pin as pin_policy
from mecm.domain.descriptor import parse_fire_descriptor
from mecm.domain.flags import Flags, parse_flags
from mecm.domain.phone import normalize_mt_number
from mecm.domain.search import parse_search
from mecm.errors import InvalidParameter
from mecm.runtime import Runtime
from mecm.services import reports
from mecm.services.catalog import ApiKey, Workspace
from mecm.services.idempotency import Claim
from mecm.services.inbound import InboundMO, mo_view_of
from mecm.services.sending import SendRequest


@dataclass(frozen=True)
class Call:
    runtime: Runtime
    workspace: Workspace
    key: ApiKey
    params: list[str]  # percent-decoded path parameters, instanceId first
    raw_params: list[str]  # as they appeared in the URL
    body: bytes
    reads: ReadShare | None = None  # the workspaces' shares of the reader threads (api/reads.py)
    receive: Any = None  # the request's ASGI receive, watched for a disconnect during reads
    dry_run: bool = False  # X-Mecm-Dry-Run: a sending method answers a quote (api/dry_run.py)
    idempotency_key: str | None = None  # the Idempotency-Key header as sent (api/idempotency.py)
    claim: Claim | None = None  # a checked key the send must store with its message


async def _client_read(call: Call, fn: Callable[[Connection], T]) -> T:
    settings = call.runtime.settings
    share = call.reads or ReadShare(settings.reads_per_workspace)
    return await client_read(call.runtime.writer, share, call.workspace.id,  # type: ignore[arg-type]
                             settings.read_budget_s, call.receive, fn)


Handler = Callable[[Call], Awaitable[list[Node]]]
T = TypeVar("T")

MAX_MESSAGE_ID = (1 << 63) - 1  # ids are signed 64-bit integers (SPEC section 4)


def _carrier(value: str) -> str | None:
    return None if value == "null" else value


async def _send(call: Call, kind: str, carrier: str, sender: str, number: str, text: str, flags: Flags) -> list[Node]:
    runtime, timezone = call.runtime, call.workspace.timezone
    claim = answering(call, lambda view: trees.message_tree(view, timezone))
    request = SendRequest(call.workspace, call.key.public_key, kind, _carrier(carrier), sender, number, text, flags,
                          claim=claim)
    if call.dry_run:
        return await dry_run.quote(runtime, request)
    message = await runtime.sending.send(request, runtime.catalog, limits.for_send(call))
    return trees.message_tree(message, timezone)


async def send_sms(call: Call) -> list[Node]:
    _, carrier, sender, number_b64, text_b64 = call.params
    number = b64.decode_param(number_b64, "mobileNumber")
    text = b64.decode_param(text_b64, "text")
    return await _send(call, "sms", carrier, sender, number, text, Flags())


async def send_mt(call: Call) -> list[Node]:
    _, sender, carrier, number, text_b64 = call.params[:5]
    text = b64.decode_param(text_b64, "text")
    flags = Flags()
    if len(call.params) == 6:
        flags = parse_flags(call.params[5])
        _refuse_second_reading(text_b64, call.params[5])
    return await _send(call, "mt", carrier, sender, number, text, flags)


def _refuse_second_reading(text_b64: str, flags: str) -> None:
    """SPEC section 2, one reading per signature: a sendMT whose text and flags, joined by the "/"
    between them, are themselves a valid Base64 text is the same signed string as a sendMT *without*
    flags whose text held a "/" (a client that signed its standard-Base64 text in decoded form). The
    signature cannot tell which the client meant, so neither reading is carried out.

    A text that ends on a Base64 quantum (the usual, padded case) never triggers this: a "/" at the
    start of a quantum begins a byte 0xFC-0xFF, which is not UTF-8. So it only refuses an unpadded
    text followed by flags that continue it; padding the text with "=" removes the doubt."""
    try:
        b64.decode_param(f"{text_b64}/{flags}", "text")
    except InvalidParameter:
        return
    raise InvalidParameter("flags", "text and flags together read as one Base64 text; pad the text with =")


async def send_pin(call: Call) -> list[Node]:
    _, carrier, sender, number, text_b64, length_raw = call.params
    text = b64.decode_param(text_b64, "text")
    length = pin_policy.parse_length(length_raw)
    runtime, timezone, show_pin = call.runtime, call.workspace.timezone, call.workspace.pin_in_response
    claim = answering(call, lambda view: trees.pin_tree(view, timezone, show_pin=show_pin))
    request = SendRequest(call.workspace, call.key.public_key, "pin", _carrier(carrier), sender, number, text,
                          claim=claim)
    if call.dry_run:  # quoted as stored: masked, with the PIN's length and coding
        masked = pin_policy.mask_pin_text(text, length)
        return await dry_run.quote(runtime, SendRequest(call.workspace, call.key.public_key, "pin",
                                                        _carrier(carrier), sender, number, masked))
    pin = await runtime.sending.send_pin(request, runtime.catalog, length, limits.for_pin_send(call))
    return trees.pin_tree(pin, timezone, show_pin=show_pin)


async def verify_pin(call: Call) -> list[Node]:
    """SPEC section 9: the newest PIN sent to the number by this workspace."""
    _, number, pin_raw = call.params
    number = normalize_mt_number(number, "mobileNumber")  # as the send stored it
    guess = pin_policy.parse_pin(pin_raw)
    await limits.take(call, "pins")
    verification = await call.runtime.pins.verify(call.workspace.id, number, guess)
    return trees.pin_verification_tree(verification)


async def fire_message_get(call: Call) -> list[Node]:
    _, number, text_b64 = call.params
    text = b64.decode_param(text_b64, "text")
    code = call.workspace.default_code
    if code is None:
        raise InvalidParameter("instanceId", "the workspace has no code to receive on")
    return await _fire(call, number, code, text, "mobileNumber")


async def fire_message_post(call: Call) -> list[Node]:
    fire = parse_fire_descriptor(call.body)
    code = fire.sender or call.workspace.default_code
    if code is None:
        raise InvalidParameter("sender_id_id", "absent and the workspace has no default code")
    if not call.runtime.catalog.owns_code(call.workspace.id, code):
        raise InvalidParameter("sender_id_id", "code not assigned to this workspace")
    return await _fire(call, fire.recipient, code, fire.text, "recipient_address")


async def _fire(call: Call, number: str, code: str, text: str, number_param: str) -> list[Node]:
    runtime, timezone = call.runtime, call.workspace.timezone
    mo = InboundMO(call.workspace, number, code, text, client_id=call.key.public_key)
    claim = answering(call, lambda row: trees.fired_tree(mo_view_of(row), timezone))
    view = await runtime.inbound.receive(mo, runtime.catalog, number_param=number_param,
                                         admit=limits.for_class(call, "sends"), claim=claim)
    return trees.fired_tree(view, timezone)


def _whole_number(raw: str, name: str, low: int, high: int | None) -> int:
    if not _ascii_digits(raw) or len(raw) > 9:
        raise InvalidParameter(name, "must be a whole number")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bounds = f"from {low}" if high is None else f"{low} to {high}"
        raise InvalidParameter(name, f"must be {bounds}")
    return value


async def get_mo_messages(call: Call) -> list[Node]:
    page = _whole_number(call.params[1], "page", 1, None)
    per_page = _whole_number(call.params[2], "resultsPerPage", 1, 1000)
    # SPEC section 6: split on the raw separators first, so use the segment as it was in the URL.
    search = parse_search(call.raw_params[3])
    await limits.take(call, "reads")
    workspace_id = call.workspace.id
    result = await _client_read(call, lambda c: reports.search_mo(c, workspace_id, search, page, per_page))
    return trees.mo_page_tree(result, call.workspace.timezone)


async def get_message(call: Call) -> list[Node]:
    raw = call.params[1]
    if not _ascii_digits(raw) or len(raw) > 19 or int(raw) > MAX_MESSAGE_ID:
        raise InvalidParameter("messageId", "must be a message id")
    await limits.take(call, "reads")
    message_id, workspace_id = int(raw), call.workspace.id
    message = await _client_read(call, lambda c: reports.get_message(c, workspace_id, message_id))
    if message is None:
        raise InvalidParameter("messageId", "no such message in this workspace")
    return trees.message_tree(message, call.workspace.timezone)


def _ascii_digits(raw: str) -> bool:
    """0-9 only: str.isdigit alone also passes "²" and other digits int() cannot read."""
    return raw.isascii() and raw.isdigit()


# (HTTP method, API method, number of parameters before publicKey) -> handler
METHODS: dict[tuple[str, str, int], Handler] = {
    ("GET", "sendSMS", 5): send_sms,
    ("GET", "sendMT", 5): send_mt,
    ("GET", "sendMT", 6): send_mt,
    ("GET", "sendSMSPinMobileNumberConfirm", 6): send_pin,
    ("GET", "fireMessage", 3): fire_message_get,
    ("POST", "fireMessage", 1): fire_message_post,
    ("GET", "getMOMessages", 4): get_mo_messages,
    ("GET", "getMessage", 2): get_message,
    ("GET", "verifyPin", 3): verify_pin,
}
# SPEC section 9: the sending methods and fireMessage answer a retry under the same Idempotency-Key
# with their first answer (api/idempotency.py); a request without a key goes straight through.
for _route in [r for r in METHODS if r[1] in ("sendSMS", "sendMT", "sendSMSPinMobileNumberConfirm", "fireMessage")]:
    METHODS[_route] = idempotent(_route[0], _route[1], METHODS[_route])
