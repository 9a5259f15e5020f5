from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mecm.domain.pin import (
    MAX_LENGTH,
    MIN_LENGTH,
    generate_pin,
    hash_pin,
    mask_pin_text,
    parse_length,
    parse_pin,
    render_pin_text,
    verify_pin,
)
from mecm.errors import InvalidParameter

KEY = b"k" * 32


@pytest.mark.parametrize(("raw", "n"), [("4", 4), ("6", 6), ("10", 10), ("04", 4)])
def test_parse_length(raw: str, n: int) -> None:
    assert parse_length(raw) == n


@pytest.mark.parametrize("raw", ["", "3", "11", "0", "-5", "+6", "6 ", "six", "٦", "1e1", "0000006"])
def test_parse_length_rejects(raw: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_length(raw)
    assert (e.value.name, e.value.reason) == ("length", "must be 4 to 10 digits")


@pytest.mark.parametrize("n", range(MIN_LENGTH, MAX_LENGTH + 1))
def test_generate_length(n: int) -> None:
    for _ in range(50):
        pin = generate_pin(n)
        assert len(pin) == n and pin.isascii() and pin.isdigit()


@pytest.mark.parametrize("n", [0, 3, 11])
def test_generate_refuses_out_of_range(n: int) -> None:
    with pytest.raises(InvalidParameter):
        generate_pin(n)


def test_distribution_sanity() -> None:
    counts = Counter("".join(generate_pin(10) for _ in range(1000)))
    assert set(counts) == set("0123456789")
    # 10,000 digits: each expected 1,000; 800..1200 is > 6 standard deviations either way
    assert all(800 < c < 1200 for c in counts.values())
    firsts = {generate_pin(4)[0] for _ in range(500)}
    assert "0" in firsts  # leading zeros happen


def test_render() -> None:
    assert render_pin_text("Your code is {pin}.", "1234") == "Your code is 1234."
    assert render_pin_text("{pin} / {pin}", "1234") == "1234 / 1234"
    assert render_pin_text("Your code is", "0042") == "Your code is 0042"
    assert render_pin_text("", "0042") == "0042"
    assert render_pin_text("{PIN} {pin", "9") == "{PIN} {pin 9"


def test_hash_and_verify() -> None:
    stored = hash_pin("0042", KEY)
    scheme, salt, mac = stored.split("$")
    assert scheme == "hmac-sha256" and len(salt) == 32 and len(mac) == 64
    assert verify_pin("0042", stored, KEY)
    assert not verify_pin("0043", stored, KEY)
    assert not verify_pin("042", stored, KEY)
    assert not verify_pin("0042", stored, b"other key")
    assert hash_pin("0042", KEY) != stored  # fresh salt every time


@pytest.mark.parametrize(
    "stored", ["", "plain", "hmac-sha256$zz$00", "md5$00$00", "hmac-sha256$00", "hmac-sha256$$é"]
)
def test_verify_malformed_is_false(stored: str) -> None:
    assert verify_pin("1234", stored, KEY) is False


@settings(max_examples=50)
@given(st.integers(min_value=0, max_value=10**10 - 1))
def test_hash_does_not_contain_the_pin(n: int) -> None:
    # 10-digit PINs: a chance occurrence in 96 hex characters has probability ~1e-10.
    pin = f"{n:010d}"
    stored = hash_pin(pin, KEY)
    assert pin not in stored
    assert verify_pin(pin, stored, KEY)
    assert verify_pin(pin, stored.upper().replace("HMAC-SHA256", "hmac-sha256"), KEY)


@pytest.mark.parametrize(("text", "length", "masked"), [
    ("Your code is {pin}", 6, "Your code is ******"),
    ("Code", 4, "Code ****"),
    ("{pin} is your code; {pin} again", 5, "***** is your code; ***** again"),
    ("", 4, "****"),
])
def test_mask_pin_text_has_the_shape_of_the_real_text(text: str, length: int, masked: str) -> None:
    assert mask_pin_text(text, length) == masked
    assert len(mask_pin_text(text, length)) == len(render_pin_text(text, "1" * length))


@pytest.mark.parametrize("raw", ["1234", "0000", "1234567890"])
def test_parse_pin(raw: str) -> None:
    assert parse_pin(raw) == raw


@pytest.mark.parametrize("raw", ["", "123", "12345678901", "12a4", "١٢٣٤", "²²²²", "1234 ", "-1234"])
def test_parse_pin_rejects_naming_pin(raw: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_pin(raw)
    assert e.value.name == "pin"
