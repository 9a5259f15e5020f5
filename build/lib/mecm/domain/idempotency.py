"""Idempotency keys (SPEC section 9): the key's grammar, where a request carries it, and the
fingerprint that tells a retry of the same request from another request under the same key.

A key comes in the ``Idempotency-Key`` request header, or, for clients that cannot set headers, as a
sendMT flags token ``idem=KEY``. Both name the parameter ``Idempotency-Key`` when refused.

The fingerprint is a SHA-256 over the HTTP method, the API method and its percent-decoded path
parameters (instanceId first), and the POST body. The public key and the signature are not part of it:
a retry signed with another key pair of the same workspace (a rotation in between) is the same
request. Two requests are "the same" only byte for byte: a fireMessage body re-serialised with other
spacing is a different request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from mecm.errors import InvalidParameter

PARAMETER = "Idempotency-Key"
HEADER = b"idempotency-key"  # as ASGI gives header names: lower-case bytes
MAX_LENGTH = 64
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FLAG = "idem"


def parse_key(raw: str) -> str:
    """A key as given: 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-"."""
    if _KEY.fullmatch(raw) is None:
        raise InvalidParameter(PARAMETER, f"must be 1 to {MAX_LENGTH} characters of A-Z, a-z, 0-9, _ and -")
    return raw


def key_in_flags(flags: str) -> str | None:
    """The value of an ``idem=`` token in a sendMT flags segment (the last, if it repeats), checked;
    None when there is none. The token stays in the flags (stored and echoed like any other)."""
    if _FLAG not in flags:
        return None  # the usual case: one substring scan
    found: str | None = None
    for part in flags.split(","):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip() == _FLAG:
            found = value.strip()
    return None if found is None else parse_key(found)


def request_key(header: str | None, flags: str | None) -> str | None:
    """The request's key: from the header, or from the flags token; both given must agree."""
    from_flags = key_in_flags(flags) if flags is not None else None
    if header is None:
        return from_flags
    key = parse_key(header)
    if from_flags is not None and from_flags != key:
        raise InvalidParameter(PARAMETER, "the header and the flags token idem= differ")
    return key


def fingerprint(http_method: str, method: str, params: Sequence[str], body: bytes) -> str:
    """SHA-256 (hex) of the request's method, parameters and body. The JSON list keeps the parts
    apart unambiguously (no separator a parameter could contain), and JSON text never holds a raw
    NUL, so the NUL before the body cannot be forged either."""
    head = json.dumps([http_method, method, list(params)]).encode()
    return hashlib.sha256(head + b"\x00" + body).hexdigest()
