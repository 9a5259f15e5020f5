"""Request signatures (SPEC section 2): HMAC-SHA256 over the method's path segments.

The signed string is the path parameters between the method name and the public key, joined
with "/", exactly as the client wrote them (Base64 values still encoded). Key and message are
the UTF-8 bytes of the private key and that string; the signature is 64 hex characters.

Verification compares raw digests with `hmac.compare_digest`, so the time taken does not reveal
how many leading characters of a forged signature were right, and case is irrelevant because
both sides are compared as bytes rather than as hex text.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

_DIGEST = "sha256"
_HEX_LENGTH = 64


def signed_string(segments: Sequence[str]) -> str:
    """The path parameters joined with "/", no leading or trailing slash."""
    return "/".join(segments)


_BLOCK = 64  # SHA-256 block size in bytes


@lru_cache(maxsize=1024)
def _pads(private_key: str) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states that have absorbed the key XOR ipad and XOR opad (RFC 2104)."""
    key = private_key.encode("utf-8")
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def _mac(private_key: str, message: str) -> bytes:
    # HMAC from per-key precomputed pad states: half the work of hmac.digest, and unlike
    # hmac.digest (which releases the GIL around OpenSSL on every call) it keeps the GIL for a
    # URL-sized message, so the event loop does not queue behind the writer thread on each request.
    inner, outer = _pads(private_key)
    inner = inner.copy()
    inner.update(message.encode("utf-8"))
    outer = outer.copy()
    outer.update(inner.digest())
    return outer.digest()


def sign(private_key: str, message: str) -> str:
    """Lower-case hex HMAC-SHA256 of `message` under `private_key`."""
    return _mac(private_key, message).hex()


def verify(private_key: str, message: str, signature: str) -> bool:
    """True when `signature` (hex, either case) is the HMAC of `message`; never raises.

    Anything that is not exactly 64 hex digits is False. bytes.fromhex skips whitespace
    between pairs, so requiring 64 characters *and* 32 decoded bytes rules that out too.
    """
    if len(signature) != _HEX_LENGTH:
        return False
    try:
        given = bytes.fromhex(signature)
    except ValueError:
        return False
    if len(given) != _HEX_LENGTH // 2:
        return False
    return hmac.compare_digest(_mac(private_key, message), given)
