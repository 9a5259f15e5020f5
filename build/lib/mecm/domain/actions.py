"""What a campaign does with an MO that matched it: an ordered list of actions.

Each action is one small, validated value here, and one branch where it is carried out
(services/inbound.py for those done in the transaction that stores the MO, services/outbox.py for
those delivered afterwards):

- ``reply``   an SMS to the subscriber from the code, from a template;
- ``forward`` the MO to another number, as an SMS ("{{from}}: {{text}}" unless a template is given);
- ``webhook`` POST a JSON description of the MO to a URL, signed, retried; a text answer is sent to
  the subscriber as the reply;
- ``email``   an e-mail through the configured SMTP server, subject and body from templates;
- ``subscribe`` / ``unsubscribe`` the subscriber joins or leaves a list of the workspace.

On the command line an action is written ``TYPE:ARGUMENT``: ``reply:Hello {{from}}``,
``forward:584145550000``, ``webhook:https://example.com/mo``, ``email:ops@example.com``,
``subscribe:vip``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from mecm.domain import addresses
from mecm.domain.addresses import Network
from mecm.domain.phone import normalize_mt_number
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter

TYPES = ("reply", "forward", "webhook", "email", "subscribe", "unsubscribe")
DEFAULT_FORWARD = "{{from}}: {{text}}"
DEFAULT_SUBJECT = "SMS from {{from}} to {{to}}"
DEFAULT_BODY = "{{text}}"


def parse_action(spec: str, *, email_subject: str | None = None, email_body: str | None = None,
                 param: str = "action", allow: Iterable[Network] = ()) -> dict[str, Any]:
    """One ``TYPE:ARGUMENT`` action, checked; InvalidParameter(param, ...) otherwise. ``allow``: the
    networks the setting ``outbound_allow`` opens to webhooks (see check_url)."""
    kind, sep, argument = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in TYPES:
        raise InvalidParameter(param, f"{spec!r} is not TYPE:ARGUMENT with TYPE one of {', '.join(TYPES)}")
    argument = argument.strip()
    if kind == "reply":
        return {"type": "reply", "text": _template(argument, param)}
    if kind == "forward":
        number, _, template = argument.partition(" ")
        return {"type": "forward", "to": normalize_mt_number(number, param),
                "text": _template(template.strip() or DEFAULT_FORWARD, param)}
    if kind == "webhook":
        return {"type": "webhook", "url": check_url(argument, param, allow)}
    if kind in ("subscribe", "unsubscribe"):
        if not argument:
            raise InvalidParameter(param, "no list named")
        return {"type": kind, "list": argument}  # the list's id is added where lists are known
    if "@" not in argument or argument.startswith("@") or argument.endswith("@") or " " in argument:
        raise InvalidParameter(param, f"{argument!r} is not an e-mail address")
    return {"type": "email", "to": argument, "subject": email_subject or DEFAULT_SUBJECT,
            "body": email_body or DEFAULT_BODY}


def spec_of(action: dict[str, Any]) -> str:
    """A stored action written back as ``TYPE:ARGUMENT`` (parse_action reads it back the same; an
    e-mail's subject and body are the campaign's, given beside)."""
    kind = action["type"]
    argument = {"reply": lambda: action["text"], "forward": lambda: f"{action['to']} {action['text']}",
                "webhook": lambda: action["url"], "email": lambda: action["to"],
                "subscribe": lambda: action["list"], "unsubscribe": lambda: action["list"]}[kind]()
    return f"{kind}:{argument}"


def check_url(url: str, param: str, allow: Iterable[Network] = ()) -> str:
    """An http(s) URL mecm may post to. A host written as an address (in any spelling) must be one
    the outbound policy allows (domain/addresses.py); a name is checked when it is resolved, at each
    connection (delivery/outbound.py), as what it resolves to may change."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise InvalidParameter(param, f"{url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameter(param, f"{url!r} is not an http(s) URL")
    address = addresses.literal(parts.hostname or "")
    why = addresses.refusal(address, allow) if address is not None else None
    if why is not None:
        raise InvalidParameter(param, f"{why}, where mecm sends no request unless the setting outbound_allow "
                                      "(MECM_OUTBOUND_ALLOW) holds it")
    return url


def _template(text: str, param: str) -> str:
    if not text:
        raise InvalidParameter(param, "empty text")
    check_text(text, param)
    return text


def dump(actions: list[dict[str, Any]]) -> str | None:
    return json.dumps(actions) if actions else None


def load(raw: str | None) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(raw)) if raw else ()
