from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain import text as t
from mecm.domain.text import decode_gsm7, encode_gsm7, split_segments
from mecm.smpp.parts import (
    Part,
    decode_short_message,
    join_parts,
    pack_septets,
    parse_udh,
    split_for_submit,
    udh_fill_bits,
    unpack_septets,
)
from mecm.smpp.pdu import (
    MESSAGE_PAYLOAD,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
)

GSM_ALPHABET = "".join(ch for i, ch in enumerate(t._BASIC) if i != 0x1B) + "^{}\\[~]|€\f"
gsm_text = st.text(alphabet=GSM_ALPHABET, max_size=700)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
emoji_heavy = st.text(alphabet=st.sampled_from("a€😀👍🏽ñ中"), max_size=300)


def test_short_gsm_text_is_one_plain_part() -> None:
    assert split_for_submit("Hola {mundo}", reference=1) == [Part(encode_gsm7("Hola {mundo}"), 0, 0, {})]


def test_short_unicode_text_is_one_ucs2_part() -> None:
    [part] = split_for_submit("Olá 😀", reference=1)
    assert (part.data_coding, part.esm_class, part.short_message) == (8, 0, "Olá 😀".encode("utf-16-be"))


def test_exactly_160_gsm_characters_fit_one_part_161_need_two() -> None:
    assert len(split_for_submit("a" * 160, reference=1)) == 1
    assert len(split_for_submit("a" * 161, reference=1)) == 2


def test_udh_parts() -> None:
    parts = split_for_submit("a" * 200, concat="udh", reference=0x1234)
    assert [p.short_message[:6] for p in parts] == [bytes([5, 0, 3, 0x34, 2, 1]), bytes([5, 0, 3, 0x34, 2, 2])]
    assert [p.esm_class for p in parts] == [0x40, 0x40]
    assert [len(p.short_message) - 6 for p in parts] == [153, 47]


def test_sar_parts() -> None:
    parts = split_for_submit("ñ中" * 40, concat="sar", reference=0x12345)
    assert len(parts) == 2 and all(p.data_coding == 8 and p.esm_class == 0 for p in parts)
    assert [p.tlvs for p in parts] == [
        {SAR_MSG_REF_NUM: b"\x23\x45", SAR_TOTAL_SEGMENTS: b"\x02", SAR_SEGMENT_SEQNUM: bytes([i])} for i in (1, 2)
    ]
    assert b"".join(p.short_message for p in parts) == ("ñ中" * 40).encode("utf-16-be")


def test_payload_is_one_part_with_the_whole_text() -> None:
    [part] = split_for_submit("b" * 400, concat="payload", reference=1)
    assert (part.short_message, part.tlvs, part.esm_class) == (b"", {MESSAGE_PAYLOAD: b"b" * 400}, 0)


def test_unknown_concat_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="concat"):
        split_for_submit("x" * 200, concat="auto", reference=1)


def test_packing_known_vector() -> None:
    # The classic example of TS 23.038: "hellohello" in 9 octets.
    assert pack_septets(encode_gsm7("hellohello")).hex().upper() == "E8329BFD4697D9EC37"


def test_packed_udh_parts_start_on_a_septet_boundary() -> None:
    parts = split_for_submit("a" * 200, reference=7, gsm_packed=True)
    assert udh_fill_bits(6) == 1
    assert [len(p.short_message) for p in parts] == [140, 6 + math.ceil((1 + 47 * 7) / 8)]
    assert unpack_septets(parts[0].short_message[6:], 1) == b"a" * 153


def test_seven_spare_bits_are_a_cr_not_an_at_sign() -> None:
    packed = pack_septets(encode_gsm7("1234567"))  # 49 bits: 7 octets, 7 bits spare
    assert len(packed) == 7 and packed[-1] >> 1 == 0x0D
    assert decode_gsm7(unpack_septets(packed)) == "1234567"
    assert decode_gsm7(unpack_septets(pack_septets(encode_gsm7("1234567@")))) == "1234567@"


def _text_of(parts: list[Part], packed: bool = False) -> list[str]:
    texts = []
    for part in parts:
        data = part.short_message or part.tlvs.get(MESSAGE_PAYLOAD, b"")
        if part.esm_class & 0x40:
            _, _, _, data = parse_udh(data)
            if packed and part.data_coding == 0:
                data = unpack_septets(data, udh_fill_bits(6))
        elif packed and part.data_coding == 0:
            data = unpack_septets(data)
        texts.append(decode_short_message(data, part.data_coding))  # raises on a split escape/surrogate
    return texts


def _air_octets(part: Part, packed: bool) -> int:
    """The octets the part takes in the SMS user data: unpacked septets are packed by the SMSC."""
    if part.data_coding != 0 or packed:
        return len(part.short_message)
    udh = 1 + part.short_message[0] if part.esm_class & 0x40 else 0
    return udh + math.ceil((udh_fill_bits(udh) + 7 * (len(part.short_message) - udh)) / 8)


@given(st.one_of(gsm_text, any_text, emoji_heavy), st.sampled_from(["udh", "sar"]), st.integers(0, 0xFFFF),
       st.booleans())
def test_split_then_reassemble_gives_the_text_back(text: str, concat: str, reference: int, packed: bool) -> None:
    if packed and text.endswith("\r"):
        text += "."  # a final CR on an octet boundary legitimately reads as two (TS 23.038 6.1.2.3.1)
    parts = split_for_submit(text, concat=concat, reference=reference, gsm_packed=packed)
    assert len(parts) == len(split_segments(text))
    texts = _text_of(parts, packed)
    assert "".join(texts) == text
    assert join_parts(texts) == text
    for part in parts:
        assert _air_octets(part, packed) <= 140
        assert len(part.short_message) <= 254


@given(st.text(alphabet=st.sampled_from("a😀中"), min_size=71, max_size=400).map(lambda s: "😀" + s))
def test_ucs2_parts_never_split_a_surrogate_pair(text: str) -> None:
    for part in split_for_submit(text, reference=1):
        assert part.data_coding == 8
        body = parse_udh(part.short_message)[3] if part.esm_class & 0x40 else part.short_message
        first, last = int.from_bytes(body[:2], "big"), int.from_bytes(body[-2:], "big")
        assert not 0xDC00 <= first <= 0xDFFF and not 0xD800 <= last <= 0xDBFF


@given(st.text(alphabet=st.sampled_from("a€[]"), min_size=81, max_size=500))
def test_gsm_parts_never_split_an_escape(text: str) -> None:
    for part in split_for_submit(text, reference=1, concat="sar"):
        assert decode_gsm7(part.short_message)  # a trailing lone escape raises


@given(gsm_text.filter(lambda s: not s.endswith("\r")), st.integers(0, 6))
def test_pack_unpack_round_trip(text: str, fill: int) -> None:
    assert decode_gsm7(unpack_septets(pack_septets(encode_gsm7(text), fill), fill)) == text


def test_parse_udh() -> None:
    assert parse_udh(bytes([5, 0, 3, 9, 3, 2]) + b"abc") == (9, 3, 2, b"abc")
    assert parse_udh(bytes([6, 8, 4, 0x12, 0x34, 2, 1]) + b"x") == (0x1234, 2, 1, b"x")
    # a port-addressing IE first, then the concatenation IE
    assert parse_udh(bytes([11, 5, 4, 0, 1, 0, 2, 0, 3, 7, 2, 2]) + b"z") == (7, 2, 2, b"z")
    assert parse_udh(bytes([6, 5, 4, 0, 1, 0, 2]) + b"z") is None  # no concatenation IE
    assert parse_udh(bytes([5, 0, 3, 9])) is None  # header longer than the data
    assert parse_udh(bytes([5, 0, 9, 9, 3, 2])) is None  # IE longer than the header
    assert parse_udh(b"") is None


def test_decode_short_message() -> None:
    assert decode_short_message(encode_gsm7("Año €5 @home"), 0) == "Año €5 @home"
    assert decode_short_message(b"plain", 1) == "plain"
    assert decode_short_message("Ærøskøbing".encode("latin-1"), 3) == "Ærøskøbing"
    assert decode_short_message("hi 😀".encode("utf-16-be"), 8) == "hi 😀"
    assert decode_short_message("😀".encode("utf-16-be")[:2], 8) == "\ud83d"  # kept for the reassembler
    with pytest.raises(ValueError):
        decode_short_message(b"\x01\x02", 4)
    with pytest.raises(ValueError):
        decode_short_message(b"abc", 8)


def test_join_parts_mends_a_surrogate_pair_cut_between_parts() -> None:
    halves = [decode_short_message(b, 8) for b in ("x😀".encode("utf-16-be")[:4], "😀".encode("utf-16-be")[2:])]
    assert join_parts(halves) == "x😀"
    assert join_parts(halves[:1]) == "x\ufffd"  # half a pair alone becomes the replacement character
