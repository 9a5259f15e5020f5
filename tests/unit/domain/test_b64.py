from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.b64 import decode_param, encode
from mecm.errors import InvalidParameter


def test_spec_examples() -> None:
    assert decode_param("MTMwNTY3MDgwODQ=", "mobileNumber") == "13056708084"
    assert decode_param("T0dBTkdJIFRFU1QgTUVTU0FHRQ==", "text") == "OGANGI TEST MESSAGE"
    assert encode("13056708084") == "MTMwNTY3MDgwODQ="
    assert encode("OGANGI TEST MESSAGE") == "T0dBTkdJIFRFU1QgTUVTU0FHRQ=="


@given(st.text())
def test_round_trip(text: str) -> None:
    encoded = encode(text)
    assert "+" not in encoded and "/" not in encoded
    assert len(encoded) % 4 == 0
    assert decode_param(encoded, "text") == text
    assert decode_param(encoded.rstrip("="), "text") == text  # padding optional
    standard = base64.b64encode(text.encode()).decode()
    assert decode_param(standard, "text") == text


def test_standard_and_urlsafe_alphabets() -> None:
    data = "¿?>>>"  # bytes c2 bf 3f 3e 3e 3e: encodings contain "/" and "+" resp. "_" and "-"
    standard = base64.b64encode(data.encode()).decode()
    urlsafe = base64.urlsafe_b64encode(data.encode()).decode()
    assert standard != urlsafe
    assert decode_param(standard, "text") == data
    assert decode_param(urlsafe, "text") == data
    assert encode(data) == urlsafe


def test_mixed_alphabets() -> None:
    assert base64.b64encode("¿?>>>".encode()) == b"wr8/Pj4+"
    assert decode_param("wr8/Pj4-", "text") == "¿?>>>"
    assert decode_param("wr8_Pj4+", "text") == "¿?>>>"


@pytest.mark.parametrize(("value", "text"), [("YQ", "a"), ("YWI", "ab"), ("YWJj", "abc"), ("", "")])
def test_missing_padding(value: str, text: str) -> None:
    assert decode_param(value, "text") == text


@pytest.mark.parametrize(
    "value",
    [
        "Y",  # 1 mod 4 can never be Base64
        "YWJjZ",
        "YQ=",  # padding present but incomplete
        "YQ===",
        "=YQ=",
        "YQ==YQ==",
        "Y Q==",
        " YQ==",
        "YQ==\n",
        "YQ%3D%3D",  # still percent-encoded: not our job
        "YQ.=",
        "Y€==",
        "YQ==!",
    ],
)
def test_invalid(value: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        decode_param(value, "text")
    assert (e.value.name, e.value.reason) == ("text", "not valid Base64")


def test_not_utf8() -> None:
    value = base64.urlsafe_b64encode(b"\xff").decode()
    with pytest.raises(InvalidParameter) as e:
        decode_param(value, "mobileNumber")
    assert (e.value.name, e.value.reason) == ("mobileNumber", "not valid UTF-8")
    assert str(e.value) == "Invalid parameter mobileNumber: not valid UTF-8"


@given(st.text(max_size=30))
def test_never_raises_anything_else(value: str) -> None:
    try:
        decode_param(value, "text")
    except InvalidParameter:
        pass
