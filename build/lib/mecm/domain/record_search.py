"""The filters of a search of a workspace's messages (MTs) or MOs, as people write them: the admin
API's query parameters and ``mecm admin message search`` / ``mecm admin mo search``'s options have the
same names, and each refusal names the one that is wrong.

    since, until   ISO 8601 date or date and time; without an offset, in the workspace's zone
                   (since: from then on; until: before then)
    number         the subscriber: an MT's recipient, an MO's sender
    status         MTs only: one or more statuses, comma-separated (DELIVERED_TO_DEVICE,NOT_SENT)
    campaign       a campaign id: its MOs, or the MTs sent in answer to them
    code           the short or long code: an MT's sender, the code an MO was sent to
    carrier        the carrier's name: the one an MT went through, or an MO came from
    text           the text contains this (case-insensitive for A-Z; PIN messages hold the PIN masked)
    limit          rows in one page, 1 to 1000 (100)
    before         the page after a former one: that page's ``next`` (ids grow with time, so newest
                   first is highest id first)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mecm.domain.key_expiry import parse_instant
from mecm.domain.status import Status
from mecm.errors import InvalidParameter

KINDS = ("messages", "mos")
MAX_PAGE = 1000
_NAMES = {"since", "until", "number", "campaign", "code", "carrier", "text", "limit", "before"}
NAMES = {"messages": frozenset(_NAMES | {"status"}), "mos": frozenset(_NAMES)}
_WRITTEN = re.compile(r"[\s.()\-]")  # what people put between digits ("+58 414-555")
_MAX_ID = 2**63 - 1
_MAX_TEXT = 200
_MAX_CARRIER = 100  # tables.carriers' name


@dataclass(frozen=True)
class RecordSearch:
    kind: str  # messages | mos
    since_ms: int | None = None
    until_ms: int | None = None
    number: str | None = None
    statuses: tuple[str, ...] = ()
    campaign_id: int | None = None
    code: str | None = None
    carrier: str | None = None
    text: str | None = None
    limit: int = 100
    before_id: int | None = None


def parse_search(kind: str, params: Mapping[str, str | None], zone: str) -> RecordSearch:
    """Check every filter (absent or None: no condition); an unknown name is refused, naming it."""
    given = {name: value for name, value in params.items() if value is not None}
    for name in given:
        if name not in NAMES[kind]:
            raise InvalidParameter(name, f"not a filter of {kind}: one of {', '.join(sorted(NAMES[kind]))}")
    for name, value in given.items():
        if not value.strip() or "\0" in value:
            raise InvalidParameter(name, "empty" if not value.strip() else "contains a NUL character")
    tz = ZoneInfo(zone)
    since = parse_instant(given["since"], "since", tz) if "since" in given else None
    until = parse_instant(given["until"], "until", tz) if "until" in given else None
    if since is not None and until is not None and until <= since:
        raise InvalidParameter("until", "must be after since")
    text = given.get("text")
    if text is not None and len(text) > _MAX_TEXT:
        raise InvalidParameter("text", f"longer than {_MAX_TEXT} characters")
    return RecordSearch(
        kind=kind, since_ms=since, until_ms=until,
        number=_digits(given["number"], "number") if "number" in given else None,
        statuses=_statuses(given["status"]) if "status" in given else (),
        campaign_id=_whole(given["campaign"], "campaign", 1, 2**31 - 1) if "campaign" in given else None,
        code=_digits(given["code"], "code") if "code" in given else None,
        carrier=_carrier(given["carrier"]) if "carrier" in given else None,
        text=text,
        limit=_whole(given["limit"], "limit", 1, MAX_PAGE) if "limit" in given else 100,
        before_id=_whole(given["before"], "before", 1, _MAX_ID) if "before" in given else None,
    )


def _digits(raw: str, name: str) -> str:
    digits = _WRITTEN.sub("", raw).lstrip("+")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        raise InvalidParameter(name, f"{raw!r} is not a number: up to 20 digits, with an optional leading +")
    return digits


def _carrier(raw: str) -> str:
    name = raw.strip()
    if len(name) > _MAX_CARRIER:
        raise InvalidParameter("carrier", f"longer than {_MAX_CARRIER} characters: no carrier has such a name")
    return name


def _statuses(raw: str) -> tuple[str, ...]:
    known = {status.value for status in Status}
    wanted = tuple(dict.fromkeys(part.strip().upper() for part in raw.split(",")))
    for status in wanted:
        if status not in known:
            raise InvalidParameter("status", f"{status!r} is not a status: one of {', '.join(sorted(known))}")
    return wanted


def _whole(raw: str, name: str, low: int, high: int) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not low <= int(text) <= high:
        raise InvalidParameter(name, f"must be a whole number from {low} to {high}")
    return int(text)
