"""Time-based one-time passwords (RFC 6238, as authenticator apps make them): 6 digits from
HMAC-SHA1 of the 30-second step under a shared secret. Pure: the caller gives the time.

A code is accepted for the step before and after the current one too (a phone's clock a little off,
a code typed as it changed), and a step once used is not accepted again (a code seen over a
shoulder cannot be replayed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

STEP_S = 30
DIGITS = 6


def new_secret() -> str:
    """160 random bits in base32, as authenticator apps take them."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def code_at(secret: str, step: int) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, now_s: float, last_step: int | None) -> int | None:
    """The step ``code`` belongs to (now, or one step either side), if it is one not used yet."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = int(now_s) // STEP_S
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "mecm") -> str:
    """The otpauth:// address an authenticator app reads (typed in, or from a QR code)."""
    label = quote(f"{issuer}:{account}", safe="")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}&digits={DIGITS}&period={STEP_S}"
