"""The fireMessage POST body, a "fire message descriptor" (SPEC section 7).

    {"event": {"fld-val-list": {"sender_id_id": "SHORTCODE", "keyword_value": "STOP",
                                "recipient_address": "13055468310",}}}

The documented examples carry trailing commas, which JSON forbids, and clients copied them.
So when strict JSON fails we drop every comma that is followed (after JSON whitespace) by "}"
or "]" and try once more. The drop is done by a tokenising regex that consumes whole string
literals first, so ",}" *inside* a string value is left alone; a plain ``re.sub(r",\\s*}")``
would corrupt a message text such as ``"a,}"``. Strict JSON never pays for this.

Field names can be renamed per workspace, so they come in as a mapping of our roles
(recipient, text, sender) to the document's keys; a role left out keeps its default key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mecm.errors import InvalidParameter

DEFAULT_FIELDS: Mapping[str, str] = MappingProxyType(
    {"sender": "sender_id_id", "text": "keyword_value", "recipient": "recipient_address"}
)

# A string literal (possessive, so an unterminated one is consumed to the end in linear time
# instead of being retried from every later quote), or a comma before a closing bracket.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)|,(?=[ \t\r\n]*[}\]])', re.DOTALL)


@dataclass(frozen=True)
class FireMessage:
    recipient: str  # the subscriber who "sends" the MO, as written (normalise it separately)
    text: str  # the MO text; may be empty
    sender: str | None  # the code it goes to; None means the workspace's default code


def _bad(reason: str) -> InvalidParameter:
    return InvalidParameter("body", reason)


def _strip_trailing_commas(doc: str) -> str:
    return _TOKEN.sub(lambda m: m.group() if m.group()[0] == '"' else "", doc)


def _load(body: bytes) -> object:
    try:
        doc = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("not valid UTF-8") from None
    try:
        return json.loads(doc)
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(_strip_trailing_commas(doc))
    except (ValueError, RecursionError):
        raise _bad("not valid JSON") from None


def _scalar(value: object) -> str | None:
    """Strings as they are; JSON integers (a number written unquoted) as decimal; else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse_fire_descriptor(body: bytes, fields: Mapping[str, str] = DEFAULT_FIELDS) -> FireMessage:
    """The MO a descriptor describes, or InvalidParameter("body", reason).

    recipient is required and non-empty; text is required and must be a string (empty is
    allowed: the MO is a fact); sender is optional, and null or "" count as absent. Recipient
    and sender may also be JSON integers, since numbers and codes are digits and some clients
    leave them unquoted.
    """
    doc = _load(body)
    event = doc.get("event") if isinstance(doc, dict) else None
    values = event.get("fld-val-list") if isinstance(event, dict) else None
    if not isinstance(values, dict):
        raise _bad("not a fire-message descriptor: missing event.fld-val-list")

    recipient_key, text_key, sender_key = (
        fields.get(role, DEFAULT_FIELDS[role]) for role in ("recipient", "text", "sender")
    )
    if recipient_key not in values:
        raise _bad(f"missing {recipient_key}")
    recipient = _scalar(values[recipient_key])
    if recipient is None:
        raise _bad(f"{recipient_key} must be a string")
    if not recipient.strip():
        raise _bad(f"empty {recipient_key}")

    if text_key not in values:
        raise _bad(f"missing {text_key}")
    text = values[text_key]
    if not isinstance(text, str):
        raise _bad(f"{text_key} must be a string")

    sender_value = values.get(sender_key)
    sender = None if sender_value is None else _scalar(sender_value)
    if sender_value is not None and sender is None:
        raise _bad(f"{sender_key} must be a string")
    for key, value in ((recipient_key, recipient), (text_key, text), (sender_key, sender or "")):
        _require_unicode(key, value)
    return FireMessage(recipient=recipient, text=text, sender=sender or None)


def _require_unicode(key: str, value: str) -> None:
    """JSON's \\u escapes can spell a lone surrogate ("\\ud800"), which is no character: it cannot
    be stored, sent or shown, so the body is refused rather than failing later."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(f"{key} is not valid Unicode (a lone surrogate)") from None
