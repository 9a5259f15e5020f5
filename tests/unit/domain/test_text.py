from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain import text as t
from mecm.domain.text import (
    GSM7,
    MAX_SEGMENTS,
    UCS2,
    TextInfo,
    analyze,
    check_text,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_ucs2,
    split_segments,
)
from mecm.errors import InvalidParameter

BASIC = "".join(ch for i, ch in enumerate(t._BASIC) if i != 0x1B)
EXTENSION = "^{}\\[~]|€\f"
GSM_ALPHABET = BASIC + EXTENSION

gsm_text = st.text(alphabet=GSM_ALPHABET, max_size=600)
any_text = st.text(max_size=600)


def gsm_units(s: str) -> int:
    return sum(2 if ch in EXTENSION else 1 for ch in s)


def ucs2_units(s: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in s)


def test_alphabet_sizes() -> None:
    assert len(BASIC) == 127
    assert len(set(GSM_ALPHABET)) == 137
    for ch in "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà":
        assert analyze(ch).data_coding == GSM7, ch


@pytest.mark.parametrize("ch", ["ç", "`", "á", "\t", "\x00", "ж", "😀", "$\u0301"])
def test_non_gsm_characters_make_ucs2(ch: str) -> None:
    assert analyze("hello " + ch).data_coding == UCS2


def test_empty() -> None:
    assert analyze("") == TextInfo(GSM7, 0, 1)
    assert split_segments("") == [""]


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (1530, 10), (1531, 11)],
)
def test_gsm_boundaries(length: int, segments: int) -> None:
    info = analyze("a" * length)
    assert info == TextInfo(GSM7, length, segments)
    assert len(split_segments("a" * length)) == segments


def test_extension_characters_count_double() -> None:
    assert analyze("€" * 80) == TextInfo(GSM7, 160, 1)
    assert analyze("€" * 81) == TextInfo(GSM7, 162, 2)
    assert analyze("{}") == TextInfo(GSM7, 4, 1)
    assert analyze("\f").units == 2


def test_escape_pair_straddling_a_boundary_moves_whole() -> None:
    # 152 plain septets then "€": the pair would need septets 153-154, so it opens part 2.
    s = "a" * 152 + "€" + "a" * 10
    parts = split_segments(s)
    assert parts == ["a" * 152, "€" + "a" * 10]
    assert analyze(s).segments == 2
    # Division alone would say ceil(306 / 153) == 2, but the cut needs 3 parts.
    s = "a" * 152 + "€" + "a" * 152
    assert analyze(s).units == 306
    assert split_segments(s) == ["a" * 152, "€" + "a" * 151, "a"]
    assert analyze(s).segments == 3


@pytest.mark.parametrize(
    ("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (670, 10), (671, 11)]
)
def test_ucs2_boundaries(length: int, segments: int) -> None:
    s = "ж" * length
    assert analyze(s) == TextInfo(UCS2, length, segments)
    assert len(split_segments(s)) == segments


def test_emoji_counts_two_and_is_never_cut() -> None:
    assert analyze("😀") == TextInfo(UCS2, 2, 1)
    assert analyze("😀" * 35) == TextInfo(UCS2, 70, 1)
    assert analyze("😀" * 36).segments == 2
    s = "ж" * 66 + "😀" + "ж" * 5  # 73 units: the pair would need units 67-68 of part 1
    assert split_segments(s) == ["ж" * 66, "😀" + "ж" * 5]
    assert analyze(s) == TextInfo(UCS2, 73, 2)


def test_one_non_gsm_character_switches_the_whole_text() -> None:
    assert analyze("a" * 100 + "ж") == TextInfo(UCS2, 101, 2)


@given(gsm_text)
def test_gsm_round_trip(s: str) -> None:
    encoded = encode_gsm7(s)
    assert len(encoded) == gsm_units(s)
    assert max(encoded, default=0) < 0x80
    assert decode_gsm7(encoded) == s


@given(any_text)
def test_ucs2_round_trip(s: str) -> None:
    assert decode_ucs2(encode_ucs2(s)) == s
    assert len(encode_ucs2(s)) == 2 * ucs2_units(s)


def test_gsm_encoding_samples() -> None:
    assert encode_gsm7("@£A€") == b"\x00\x01\x41\x1b\x65"
    assert encode_gsm7("[x]") == b"\x1b\x3cx\x1b\x3e"
    assert decode_gsm7(b"\x1b\x14") == "^"


def test_gsm_decode_lenient_and_strict_cases() -> None:
    assert decode_gsm7(b"\x1b\x41") == "A"  # undefined escape shows the basic character
    assert decode_gsm7(b"\x1b\x1b") == " "  # reserved double escape shows a space
    with pytest.raises(ValueError):
        decode_gsm7(b"a\x1b")
    with pytest.raises(ValueError):
        decode_gsm7(b"\x80")


@pytest.mark.parametrize("s", ["ç", "😀", "a`b"])
def test_encode_gsm7_refuses_other_characters(s: str) -> None:
    with pytest.raises(ValueError):
        encode_gsm7(s)


def test_ucs2_errors() -> None:
    with pytest.raises(ValueError):
        encode_ucs2("\ud800")
    with pytest.raises(ValueError):
        decode_ucs2(b"\x00")


@given(gsm_text)
def test_gsm_split_properties(s: str) -> None:
    parts = split_segments(s)
    info = analyze(s)
    assert "".join(parts) == s
    assert info.data_coding == GSM7
    assert info.units == gsm_units(s)
    assert info.segments == len(parts)
    if len(parts) == 1:
        assert gsm_units(s) <= 160
    else:
        assert all(gsm_units(p) <= 153 for p in parts)
        assert all(p for p in parts)
        # greedy: the next character would not have fitted
        for p, nxt in zip(parts, parts[1:]):
            assert gsm_units(p) + gsm_units(nxt[0]) > 153


@given(st.text(alphabet="a€", min_size=150, max_size=400))
def test_gsm_split_with_many_escapes(s: str) -> None:
    parts = split_segments(s)
    assert "".join(parts) == s
    assert analyze(s).segments == len(parts)
    assert all(gsm_units(p) <= (160 if len(parts) == 1 else 153) for p in parts)


@given(st.text(alphabet=st.sampled_from("жa😀🎉"), max_size=300))
def test_ucs2_split_properties(s: str) -> None:
    parts = split_segments(s)
    info = analyze(s)
    assert "".join(parts) == s
    assert info.segments == len(parts)
    if info.data_coding == UCS2:
        assert info.units == ucs2_units(s)
        limit = 70 if len(parts) == 1 else 67
        assert all(ucs2_units(p) <= limit for p in parts)
        # every part is valid UTF-16 on its own: no surrogate pair was cut
        for p in parts:
            assert decode_ucs2(encode_ucs2(p)) == p


@given(any_text)
def test_analyze_agrees_with_split(s: str) -> None:
    assert analyze(s).segments == len(split_segments(s))
    assert "".join(split_segments(s)) == s


def test_check_text() -> None:
    assert check_text("hi") == TextInfo(GSM7, 2, 1)
    assert check_text("a" * 1530).segments == MAX_SEGMENTS
    with pytest.raises(InvalidParameter) as e:
        check_text("")
    assert (e.value.name, e.value.reason) == ("text", "empty")
    with pytest.raises(InvalidParameter) as e:
        check_text("a" * 1531, name="message")
    assert e.value.name == "message"
    assert e.value.reason == "11 segments, at most 10 allowed"
