"""Base64 path parameters (SPEC section 3).

Clients encode UTF-8 text with the URL-safe alphabet and "=" padding. We also accept the
standard alphabet (the caller has percent-decoded the segment, so "+" and "/" arrive as such),
a mix of both, and missing padding, because client libraries differ and refusing them would
only break working integrations. Everything else (whitespace, other characters, a length that
no Base64 string can have, padding in the wrong place) is refused: silently skipping junk
would let two different URLs mean the same message.
"""

from __future__ import annotations

import base64
import binascii

from mecm.errors import InvalidParameter

_TO_STANDARD = str.maketrans("-_", "+/")
_PADDING = ("", None, "==", "=")  # indexed by len % 4; 1 is impossible


def encode(text: str) -> str:
    """URL-safe Base64, with padding, of the UTF-8 bytes of `text`."""
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode_param(value: str, name: str) -> str:
    """The text a Base64 path parameter carries, or InvalidParameter(name, ...)."""
    if "=" in value:
        # Padding present: it must be complete ("YQ=" is neither padded nor unpadded).
        padded = value if len(value) % 4 == 0 else None
    else:
        pad = _PADDING[len(value) % 4]
        padded = None if pad is None else value + pad
    if padded is None:
        raise InvalidParameter(name, "not valid Base64")
    try:
        raw = base64.b64decode(padded.translate(_TO_STANDARD), validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters
        raise InvalidParameter(name, "not valid Base64") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidParameter(name, "not valid UTF-8") from None
