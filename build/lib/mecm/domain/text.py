"""How an SMS text is coded and into how many parts it is cut (GSM 03.38 / 3GPP TS 23.038).

A text is sent as GSM7 when every character is in the GSM default alphabet or its extension
table, and as UCS-2 otherwise: one emoji turns the whole message into UCS-2. The units differ:

* GSM7 counts septets, and an extension-table character (``^{}\\[~]|€`` and form feed) is sent
  as ESC + code, so it costs 2;
* UCS-2 counts UTF-16 code units, so a character outside the BMP (an emoji) costs 2 (a
  surrogate pair; strictly that is UTF-16, which is what every handset does).

One part carries 160 septets or 70 code units. A concatenated message loses room to the
user-data header, leaving 153 / 67 per part, and a part may not end in the middle of an escape
pair or a surrogate pair (the handset would show garbage). Because of that rule, the part count
is not always ``ceil(units / 153)``: we cut the text for real (`split_segments`) whenever the
simple division could be wrong, and take the part count from the cut.

Billing and the 10-part limit (SPEC section 1) use this count, so it has to agree with what
the connector sends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from mecm.errors import InvalidParameter

GSM7 = "GSM7"
UCS2 = "UCS2"
MAX_SEGMENTS = 10

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

_ESC = 0x1B

# The default alphabet in code order 0x00..0x7F; index == septet. 0x1B is the escape to the
# extension table and is not a character of its own, so it holds a placeholder never matched.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x00ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128

_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_BASIC_CODE = {ch: code for code, ch in enumerate(_BASIC) if code != _ESC}
_EXT_CHARS = frozenset(_EXTENSION)
_GSM_CHARS = frozenset(_BASIC_CODE) | _EXT_CHARS

# str.translate tables: char -> unpacked septet(s) as latin-1 characters, and back.
_ENCODE_TABLE = {ord(ch): chr(code) for ch, code in _BASIC_CODE.items()}
_ENCODE_TABLE.update({ord(ch): chr(_ESC) + chr(code) for ch, code in _EXTENSION.items()})
_DECODE_TABLE = {code: ch for ch, code in _BASIC_CODE.items()}
_DECODE_EXT = {code: ch for ch, code in _EXTENSION.items()}


@dataclass(frozen=True)
class TextInfo:
    """data_coding is GSM7 or UCS2; units are septets (GSM7) or UTF-16 code units (UCS2)."""

    data_coding: str
    units: int
    segments: int


def _gsm_units(text: str, ext_present: frozenset[str] | set[str] | None = None) -> int:
    """Septets for a text already known to be GSM: 1 per character, 2 per extension character."""
    ext = _EXT_CHARS.intersection(text) if ext_present is None else ext_present
    return len(text) + sum(text.count(ch) for ch in ext)


def _ucs2_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def analyze(text: str) -> TextInfo:
    """Coding, units and part count of `text`, as it would be sent.

    Fast path (the common case, a couple of microseconds): when the simple division is exact
    (no extension characters in a long GSM7 text, no astral characters in a long UCS-2 text)
    no cutting is needed.
    """
    chars = set(text)
    if chars <= _GSM_CHARS:
        ext = _EXT_CHARS.intersection(chars)
        units = _gsm_units(text, ext) if ext else len(text)
        if units <= GSM7_SINGLE:
            return TextInfo(GSM7, units, 1)
        if not ext:
            return TextInfo(GSM7, units, math.ceil(units / GSM7_MULTI))
        parts = _split(text, GSM7_MULTI, lambda part: _gsm_units(part, ext))
        return TextInfo(GSM7, units, len(parts))
    units = _ucs2_units(text)
    if units <= UCS2_SINGLE:
        return TextInfo(UCS2, units, 1)
    if units == len(text):  # BMP only: every character is one unit, division is exact
        return TextInfo(UCS2, units, math.ceil(units / UCS2_MULTI))
    return TextInfo(UCS2, units, len(_split(text, UCS2_MULTI, _ucs2_units)))


def _split(text: str, limit: int, units_of: Callable[[str], int]) -> list[str]:
    """Greedy cut into parts of at most `limit` units, never inside a 2-unit character.

    Every character is 1 or 2 units, so a part holds at most `limit` characters: start from
    that many and, while the part is `over` units too long, drop ceil(over / 2) characters from
    its end. The longest part that fits needs at least that many dropped (each removes at most
    2 units), so this never drops too much, and it converges in a few C-speed unit counts
    instead of a Python step per character. A 2-unit character that would straddle the
    boundary is thereby moved whole into the next part.
    """
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = min(n, i + limit)
        over = units_of(text[i:j]) - limit
        while over > 0:
            j -= (over + 1) // 2
            over = units_of(text[i:j]) - limit
        parts.append(text[i:j])
        i = j
    return parts


def split_segments(text: str) -> list[str]:
    """The parts `text` is sent as; a single-part text (including "") comes back as [text]."""
    if _GSM_CHARS.issuperset(text):
        if _gsm_units(text) <= GSM7_SINGLE:
            return [text]
        return _split(text, GSM7_MULTI, _gsm_units)
    if _ucs2_units(text) <= UCS2_SINGLE:
        return [text]
    return _split(text, UCS2_MULTI, _ucs2_units)


def check_text(text: str, name: str = "text") -> TextInfo:
    """analyze, refusing an empty text and one longer than MAX_SEGMENTS parts."""
    if not text:
        raise InvalidParameter(name, "empty")
    info = analyze(text)
    if info.segments > MAX_SEGMENTS:
        raise InvalidParameter(name, f"{info.segments} segments, at most {MAX_SEGMENTS} allowed")
    return info


def encode_gsm7(text: str) -> bytes:
    """Unpacked septets, one per byte; an extension character becomes 0x1B + its code.

    Raises ValueError naming the first character that GSM7 cannot carry.
    """
    if not _GSM_CHARS.issuperset(text):
        bad = next(ch for ch in text if ch not in _GSM_CHARS)
        raise ValueError(f"character {bad!r} is not in the GSM 03.38 alphabet")
    return text.translate(_ENCODE_TABLE).encode("latin-1")


def decode_gsm7(data: bytes) -> str:
    """Inverse of encode_gsm7.

    Per TS 23.038, an escape followed by a code the extension table does not define shows the
    default-alphabet character for that code, and ESC ESC (reserved for a further table) shows
    a space. A byte above 0x7F or a trailing lone escape raises ValueError.
    """
    if data and max(data) > 0x7F:
        raise ValueError("GSM7 septets must be below 0x80")
    if _ESC not in data:
        return data.decode("latin-1").translate(_DECODE_TABLE)
    out: list[str] = []
    it = iter(data)
    for code in it:
        if code != _ESC:
            out.append(_DECODE_TABLE[code])
            continue
        nxt = next(it, None)
        if nxt is None:
            raise ValueError("GSM7 data ends with a lone escape")
        if nxt == _ESC:
            out.append(" ")
        else:
            out.append(_DECODE_EXT.get(nxt) or _DECODE_TABLE[nxt])
    return "".join(out)


def encode_ucs2(text: str) -> bytes:
    """UTF-16-BE (astral characters as surrogate pairs); a lone surrogate raises ValueError."""
    return text.encode("utf-16-be")


def decode_ucs2(data: bytes) -> str:
    """Inverse of encode_ucs2; odd length or a broken surrogate pair raises ValueError."""
    return data.decode("utf-16-be")
