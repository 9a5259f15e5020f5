"""sendMT flags (SPEC section 1): comma-separated tokens kept with the message.

The whole token list is stored and handed to every backend job (webhooks, campaign actions),
so integrations can pass their own markers through us; that is why an unknown token is kept
and never an error. The tokens we act on are parsed into fields, and one of them with a value
we cannot use (``priority=urgent``, ``validity=0``) is refused rather than silently ignored,
since the client clearly meant to ask for something.

Every token must have the shape SPEC section 1 gives: ``name`` or ``name=value``, the name a
lower-case ASCII letter then lower-case letters, digits, ``-`` or ``_``, the value non-empty. Anything
else is refused, because a signed string can be split into flags where the client meant text: a text
whose standard Base64 holds a ``/``, signed in decoded form, reads with a raw ``/`` as a shorter text
and a "flags" segment holding the rest of the Base64 (``IE5vLCBkZWNsaW5lZC4=``). Upper-case letters,
``+`` and an empty value after ``=`` (padding) are what such fragments are made of. (The sendMT
handler also refuses flags that continue the text as valid Base64: see ``api/methods.py``.)

Spaces around a token or its parts are ignored and empty tokens skipped (Base64 has neither). Values
of recognised tokens are matched case-insensitively (``priority=HIGH``); tokens are kept as written.
When a recognised token repeats, the last one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from functools import lru_cache

from mecm.errors import InvalidParameter

PRIORITIES = ("high", "normal", "low")
MAX_VALIDITY_MINUTES = 525_600  # one year; SMSC validity periods are far shorter anyway
_MAX_EPOCH_MS = (1 << 63) - 1  # fits a signed 64-bit column
_NAME = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True)
class Flags:
    tokens: tuple[str, ...] = ()
    flash: bool = False
    nodlr: bool = False
    priority: str = "normal"
    validity_minutes: int | None = None
    at_ms: int | None = None

    def raw(self) -> str:
        """The tokens as stored and echoed: comma-joined, "" when there are none."""
        return ",".join(self.tokens)


def _bad(token: str) -> InvalidParameter:
    return InvalidParameter("flags", f"bad value in {token!r}")


def _not_a_token(token: str) -> InvalidParameter:
    return InvalidParameter(
        "flags", f"{token!r} is not a flag: expected name or name=value, the name lower-case letters, "
                 "digits, - or _ (starting with a letter), the value not empty")


def _int(value: str, token: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise _bad(token)
    n = int(value)
    if not low <= n <= high:
        raise _bad(token)
    return n


def stored_flags(raw: str | None) -> Flags:
    """The flags of a stored message, as the delivery reads them: as parse_flags, but a token an
    earlier mecm accepted (``FLASH``, ``priority = Low``) is read, not refused, so a message queued
    before an upgrade is still sent as its client asked."""
    return parse_flags(raw, strict=False)


@lru_cache(maxsize=1024)
def parse_flags(raw: str | None, strict: bool = True) -> Flags:
    """Parse the flags segment; None, "" and "null" mean no flags. Cached (few distinct values).

    ``strict=False`` (stored_flags) reads names case-insensitively and keeps any shape of token."""
    if raw is None or raw == "" or raw.lower() == "null":
        return Flags()
    tokens: list[str] = []
    fields: dict[str, object] = {}
    for part in raw.split(","):
        token = part.strip()
        if not token:
            continue
        tokens.append(token)
        name, sep, value = token.partition("=")
        name = name.strip() if strict else name.strip().lower()
        value = value.strip()
        if strict and (_NAME.fullmatch(name) is None or (sep and not value)):
            raise _not_a_token(token)
        if name in ("flash", "nodlr"):
            if sep:
                raise _bad(token)
            fields[name] = True
        elif name == "priority":
            if value.lower() not in PRIORITIES:
                raise _bad(token)
            fields["priority"] = value.lower()
        elif name == "validity":
            fields["validity_minutes"] = _int(value, token, 1, MAX_VALIDITY_MINUTES)
        elif name == "at":
            fields["at_ms"] = _int(value, token, 0, _MAX_EPOCH_MS)
    return Flags(tokens=tuple(tokens), **fields)  # type: ignore[arg-type]
