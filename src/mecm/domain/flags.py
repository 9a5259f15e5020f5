"""sendMT flags (SPEC section 1): comma-separated tokens kept with the message.

The whole token list is stored and handed to every backend job (webhooks, campaign actions),
so integrations can pass their own markers through us; that is why an unknown token is kept
and never an error. The tokens we act on are parsed into fields, and one of them with a value
we cannot use (``priority=urgent``, ``validity=0``) is refused rather than silently ignored,
since the client clearly meant to ask for something.

Recognised names are matched case-insensitively (``FLASH`` works); tokens are kept as written.
When a recognised token repeats, the last one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mecm.errors import InvalidParameter

PRIORITIES = ("high", "normal", "low")
MAX_VALIDITY_MINUTES = 525_600  # one year; SMSC validity periods are far shorter anyway
_MAX_EPOCH_MS = (1 << 63) - 1  # fits a signed 64-bit column


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


def _int(value: str, token: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise _bad(token)
    n = int(value)
    if not low <= n <= high:
        raise _bad(token)
    return n


@lru_cache(maxsize=1024)
def parse_flags(raw: str | None) -> Flags:
    """Parse the flags segment; None, "" and "null" mean no flags. Cached (few distinct values)."""
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
        name = name.strip().lower()
        value = value.strip()
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
