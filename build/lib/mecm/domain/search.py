"""The getMOMessages inline search string (SPEC section 6).

    from=13056708084&order=desc&to=19893143924&keyword=%5EOGANGI.*&carrier=movistar

The segment is split on the *raw* "&", "=" and "," before any percent-decoding, so a literal
comma, ampersand or equals sign inside a value (a regular expression like ``a{1,3}``) is written
percent-encoded; decoding first would make such values ambiguous. Several values for one name
(comma-separated or from repeating the name) mean OR; different names mean AND.

Everything is validated here, so the store only ever sees well-formed filters: an unknown name,
an empty value, a bad order or time bound, or a keyword RE2 cannot compile is INVALID_PARAMETER.

A search's cost is bounded before it reaches the database (issue 12: 4 searches of 200 keywords
each held every read thread for minutes): at most ``MAX_KEYWORDS`` keywords of ``MAX_PATTERN_LENGTH``
characters, and ``MAX_VALUES`` values for each of from, to and carrier. The time a search may take
is bounded in the database call itself (store/budget.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from mecm.domain.keywords import compile_keyword
from mecm.errors import InvalidParameter

_LIST_NAMES = ("from", "to", "carrier", "keyword")
_SCALAR_NAMES = ("order", "since", "until")
_NAMES = frozenset(_LIST_NAMES + _SCALAR_NAMES)
_ORDERS = ("asc", "desc")
MAX_KEYWORDS = 10
MAX_PATTERN_LENGTH = 200
MAX_VALUES = 100  # numbers, codes or carriers under one name


@dataclass(frozen=True)
class MOSearch:
    """A parsed filter; empty tuples and None mean "no condition"."""

    from_numbers: tuple[str, ...] = ()
    to_codes: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()  # lower-cased: carrier compares case-insensitively
    keywords: tuple[str, ...] = ()  # pattern sources, each known to compile (keywords module)
    order: str = "desc"
    since_ms: int | None = None
    until_ms: int | None = None


def _decode(raw: str, name: str) -> str:
    try:
        value = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise InvalidParameter(name, "not valid UTF-8") from None
    if not value:
        raise InvalidParameter(name, "empty value")
    return value


def _epoch_ms(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidParameter(name, "must be epoch milliseconds")
    return int(value)


@lru_cache(maxsize=4096)
def parse_search(segment: str) -> MOSearch:
    """Parse the raw (still percent-encoded) segment; "null" or "" is no filter.

    Empty pairs (a trailing or doubled "&") are ignored. order, since and until take exactly
    one value; giving one of them twice is refused rather than guessing which one was meant.
    Duplicate list values are dropped, first occurrence kept. Cached: the same dashboards poll
    with the same filter.
    """
    if segment == "" or segment.lower() == "null":
        return MOSearch()
    lists: dict[str, list[str]] = {n: [] for n in _LIST_NAMES}
    scalars: dict[str, str] = {}
    for pair in segment.split("&"):
        if not pair:
            continue
        raw_name, sep, raw_values = pair.partition("=")
        if not sep:
            raise InvalidParameter("parameters", "expected name=value")
        name = raw_name.lower()
        if name not in _NAMES:
            raise InvalidParameter("parameters", f"unknown search name {raw_name!r}")
        values = [_decode(v, name) for v in raw_values.split(",")]
        if name in lists:
            lists[name].extend(values)
        elif name in scalars or len(values) > 1:
            raise InvalidParameter(name, "only one value allowed")
        else:
            scalars[name] = values[0]

    order = scalars.get("order", "desc").lower()
    if order not in _ORDERS:
        raise InvalidParameter("order", "must be asc or desc")
    since = scalars.get("since")
    until = scalars.get("until")
    _bound(lists)
    for pattern in lists["keyword"]:
        compile_keyword(pattern, "keyword")
    return MOSearch(
        from_numbers=_unique(lists["from"]),
        to_codes=_unique(lists["to"]),
        carriers=_unique(v.lower() for v in lists["carrier"]),
        keywords=_unique(lists["keyword"]),
        order=order,
        since_ms=None if since is None else _epoch_ms(since, "since"),
        until_ms=None if until is None else _epoch_ms(until, "until"),
    )


def _bound(lists: dict[str, list[str]]) -> None:
    keywords = _unique(lists["keyword"])
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidParameter("keyword", f"at most {MAX_KEYWORDS} keywords in one search")
    for pattern in keywords:
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise InvalidParameter("keyword", f"a pattern may be at most {MAX_PATTERN_LENGTH} characters")
    for name in ("from", "to", "carrier"):
        if len(_unique(lists[name])) > MAX_VALUES:
            raise InvalidParameter(name, f"at most {MAX_VALUES} values in one search")


def _unique(values) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
