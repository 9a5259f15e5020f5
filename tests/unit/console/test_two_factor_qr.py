"""The two-factor key's otpauth:// address and its QR code (console/signing.py's ``qr_svg``): the
drawing is read back into modules and compared with the QR code of the address, so a code that
draws something else, or draws it cropped, fails."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import segno

from mecm.console.signing import QR_TITLE, qr_svg
from mecm.domain.totp import new_secret, provisioning_uri

_STEP = re.compile(r"([Mmh])(-?\d+(?:\.\d+)?)(?: (-?\d+(?:\.\d+)?))?")


def _modules(svg: str) -> list[list[int]]:
    """The dark modules the svg's QR path draws (segno's: rows of ``h`` runs), border included."""
    size = int(re.search(r'<path fill="#fff" d="M0 0h(\d+)v', svg).group(1))
    path = re.search(r'<path class="qrline" stroke="#000" d="([^"]+)"', svg).group(1)
    rows = [[0] * size for _ in range(size)]
    x = y = 0.0
    for command, a, b in _STEP.findall(path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:  # h: a run of dark modules along the row
            for column in range(int(x), int(x + float(a))):
                rows[int(y)][column] = 1
            x += float(a)
    return rows


def test_the_address_names_the_issuer_the_account_and_the_key() -> None:
    secret = new_secret()
    uri = provisioning_uri(secret, "ana.maria+sms@example.com")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/mecm%3Aana.maria%2Bsms%40example.com"  # a "+" escaped: not read as a space
    assert unquote(parts.path[1:]) == "mecm:ana.maria+sms@example.com"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {"secret": [secret], "issuer": ["mecm"], "digits": ["6"], "period": ["30"]}


def test_the_qr_code_draws_the_address_with_a_quiet_zone() -> None:
    uri = provisioning_uri(new_secret(), "ana@example.com")
    drawn = _modules(qr_svg(uri))
    expected = [list(row) for row in segno.make(uri, error="m", micro=False).matrix_iter(scale=1, border=4)]
    assert drawn == expected
    assert not any(any(row) for row in drawn[:4]) and not any(any(row[:4]) for row in drawn)  # a blank border
    other = [list(row) for row in segno.make(uri + "x", error="m", micro=False).matrix_iter(scale=1, border=4)]
    assert drawn != other


def test_the_qr_code_is_an_inline_svg_the_content_security_policy_allows() -> None:
    svg = str(qr_svg(provisioning_uri(new_secret(), "ana@example.com")))
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert f"<title>{QR_TITLE}</title>" in svg
    assert "style" not in svg and "<script" not in svg and "href" not in svg
    width = int(re.search(r'width="(\d+)"', svg).group(1))
    assert width >= 4 * (21 + 8)  # four pixels a module at least, the smallest code and its border
