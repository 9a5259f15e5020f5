"""PIN confirmation (SPEC section 1, sendSMSPinMobileNumberConfirm).

The PIN goes to the subscriber in the SMS and back to the client in the response (unless its
workspace hides it); we keep only a keyed hash with an expiry, and the message's stored text has
the PIN masked (``mask_pin_text``). A 4 to 10 digit space is small enough to brute-force any unkeyed
hash (salted or not) in seconds, so the hash is an HMAC under a key that lives outside the
database: a leaked database alone does not reveal PINs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from mecm.errors import InvalidParameter

MIN_LENGTH = 4
MAX_LENGTH = 10

_SCHEME = "hmac-sha256"
_SALT_BYTES = 16
_PLACEHOLDER = "{pin}"
MASK = "*"  # in the GSM 03.38 basic set: a masked text has the real text's segments and coding


def parse_length(raw: str) -> int:
    """The `length` path parameter: ASCII digits only, 4 to 10 inclusive."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:
        raise InvalidParameter("length", "must be 4 to 10 digits")
    length = int(raw)
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InvalidParameter("length", "must be 4 to 10 digits")
    return length


def generate_pin(length: int) -> str:
    """`length` uniformly random decimal digits from the OS CSPRNG; leading zeros allowed."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InvalidParameter("length", "must be 4 to 10 digits")
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def render_pin_text(text: str, pin: str) -> str:
    """Every "{pin}" replaced by the PIN; without a placeholder the PIN is appended after a space."""
    if _PLACEHOLDER in text:
        return text.replace(_PLACEHOLDER, pin)
    return f"{text} {pin}" if text else pin


def mask_pin_text(text: str, length: int) -> str:
    """The text as render_pin_text makes it, with a PIN of ``length`` masks ("Your code is ******"):
    what messages.text keeps, and what getMessage and reports show."""
    return render_pin_text(text, MASK * length)


def parse_pin(raw: str) -> str:
    """verifyPin's ``pin`` path parameter: 4 to 10 ASCII digits."""
    if not (raw.isascii() and raw.isdigit()) or not MIN_LENGTH <= len(raw) <= MAX_LENGTH:
        raise InvalidParameter("pin", "must be 4 to 10 digits")
    return raw


def _mac(key: bytes, salt: bytes, pin: str) -> str:
    return hmac.new(key, salt + pin.encode("utf-8"), hashlib.sha256).hexdigest()


def hash_pin(pin: str, key: bytes) -> str:
    """'hmac-sha256$<salt hex>$<mac hex>' with a fresh 16-byte salt per PIN."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{_SCHEME}${salt.hex()}${_mac(key, salt, pin)}"


def verify_pin(pin: str, stored: str, key: bytes) -> bool:
    """Constant-time check of `pin` against a hash_pin value; a malformed value is False."""
    scheme, _, rest = stored.partition("$")
    salt_hex, _, mac_hex = rest.partition("$")
    if scheme != _SCHEME:
        return False
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if not mac_hex.isascii():
        return False
    return hmac.compare_digest(_mac(key, salt, pin), mac_hex.lower())
