"""Cutting a text into submit_sm parts, and joining mobile-originated parts back into one text.

Pure code. The cut itself (where a part ends, never inside a GSM escape pair or a UTF-16
surrogate pair) is `mecm.domain.text.split_segments`, so billing and sending agree on the part
count; this module only turns the pieces into SMPP values.

Three ways to send a long text over SMPP 3.4 (a carrier supports one or more):

* ``udh``: each part's short_message starts with a user-data header (3GPP TS 23.040 9.2.3.24.1,
  IE 0x00: 8-bit reference, total, sequence) and esm_class has the UDHI bit 0x40;
* ``sar``: the same reference/total/sequence go in the sar_* TLVs and the SMSC builds the header;
* ``payload``: the whole text in one submit_sm, in the message_payload TLV; the SMSC cuts it.

data_coding is 0 (the SMSC default alphabet, GSM 03.38 one septet per octet unless ``gsm_packed``)
or 8 (UCS-2, in fact UTF-16-BE so an emoji is a surrogate pair).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mecm.domain.text import (
    GSM7,
    analyze,
    decode_gsm7,
    decode_ucs2,
    encode_gsm7,
    encode_ucs2,
    split_segments,
)
from mecm.smpp.pdu import (
    ESM_CLASS_UDHI,
    MESSAGE_PAYLOAD,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
)

DC_DEFAULT = 0  # SMSC default alphabet: GSM 03.38 here
DC_IA5 = 1
DC_LATIN1 = 3
DC_UCS2 = 8

CONCAT_MODES = ("udh", "sar", "payload")
_CR = 0x0D


@dataclass
class Part:
    short_message: bytes
    esm_class: int
    data_coding: int
    tlvs: dict[int, bytes] = field(default_factory=dict)


def split_for_submit(text: str, *, concat: str = "udh", reference: int, gsm_packed: bool = False) -> list[Part]:
    """The submit_sm values that carry `text`: one Part when it fits one segment, else one per
    segment (udh, sar) or one with the whole text in message_payload (payload).

    `reference` identifies the message among the sender's concatenated messages; udh keeps its low
    8 bits, sar its low 16. Raises ValueError for an unknown concat mode or more than 255 parts.
    """
    if concat not in CONCAT_MODES:
        raise ValueError(f"concat must be one of {', '.join(CONCAT_MODES)}, not {concat!r}")
    gsm = analyze(text).data_coding == GSM7
    data_coding = DC_DEFAULT if gsm else DC_UCS2
    pieces = split_segments(text)
    if len(pieces) == 1:
        return [Part(_encode(text, gsm, gsm_packed), 0, data_coding)]
    if concat == "payload":
        return [Part(b"", 0, data_coding, {MESSAGE_PAYLOAD: _encode(text, gsm, gsm_packed)})]
    total = len(pieces)
    if total > 255:
        raise ValueError(f"text needs {total} parts, at most 255 can be concatenated")
    parts = []
    for seq, piece in enumerate(pieces, 1):
        if concat == "sar":
            tlvs = {
                SAR_MSG_REF_NUM: (reference & 0xFFFF).to_bytes(2, "big"),
                SAR_TOTAL_SEGMENTS: bytes((total,)),
                SAR_SEGMENT_SEQNUM: bytes((seq,)),
            }
            parts.append(Part(_encode(piece, gsm, gsm_packed), 0, data_coding, tlvs))
        else:
            udh = bytes((5, 0x00, 3, reference & 0xFF, total, seq))
            if gsm and gsm_packed:
                body = pack_septets(encode_gsm7(piece), udh_fill_bits(len(udh)))
            else:
                body = _encode(piece, gsm, False)
            parts.append(Part(udh + body, ESM_CLASS_UDHI, data_coding))
    return parts


def _encode(text: str, gsm: bool, packed: bool) -> bytes:
    if not gsm:
        return encode_ucs2(text)
    septets = encode_gsm7(text)
    return pack_septets(septets) if packed else septets


# --- GSM 7-bit packing (TS 23.038 6.1.2.1) ----------------------------------------------------------


def udh_fill_bits(udh_length: int) -> int:
    """Zero bits after a header of `udh_length` octets, so the first septet starts on a septet
    boundary counted from the start of the user data (TS 23.040 9.2.3.24)."""
    return (7 - (udh_length * 8) % 7) % 7


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Septets packed 8 into 7 octets, least significant bits first, after `fill_bits` zero bits.

    When the last octet would have 7 spare bits, they hold a CR rather than zeros (TS 23.038
    6.1.2.3.1): zeros would read as a trailing '@'. For the same reason a text whose last CR ends
    exactly on an octet boundary gets a second CR (the spec defines CR CR to show as CR).
    """
    bits = fill_bits + 7 * len(septets)
    if septets and septets[-1] == _CR and bits % 8 == 0:
        septets += bytes((_CR,))
        bits += 7
    value = 0
    for i, septet in enumerate(septets):
        value |= septet << (fill_bits + 7 * i)
    if bits % 8 == 1:
        value |= _CR << bits
    return value.to_bytes((bits + 7) // 8, "little")


def unpack_septets(data: bytes, fill_bits: int = 0) -> bytes:
    """Inverse of pack_septets: one septet per octet."""
    bits = len(data) * 8 - fill_bits
    if bits < 7:
        return b""
    value = int.from_bytes(data, "little") >> fill_bits
    septets = bytes((value >> (7 * i)) & 0x7F for i in range(bits // 7))
    if bits % 7 == 0 and septets[-1] == _CR:  # the CR that filled 7 spare bits
        septets = septets[:-1]
    return septets


# --- receiving --------------------------------------------------------------------------------------


def parse_udh(short_message: bytes) -> tuple[int, int, int, bytes] | None:
    """(reference, total, sequence, payload) of a short_message that starts with a concatenation
    header: IE 0x00 (8-bit reference) or 0x08 (16-bit reference); other IEs (ports...) are skipped.
    None when there is no such header or it is malformed. The caller checks esm_class & 0x40."""
    if not short_message:
        return None
    end = 1 + short_message[0]
    if end > len(short_message):
        return None
    found = None
    pos = 1
    while pos + 2 <= end:
        iei, length = short_message[pos], short_message[pos + 1]
        data = short_message[pos + 2:pos + 2 + length]
        if pos + 2 + length > end:
            return None
        if iei == 0x00 and length == 3:
            found = (data[0], data[1], data[2])
        elif iei == 0x08 and length == 4:
            found = ((data[0] << 8) | data[1], data[2], data[3])
        pos += 2 + length
    if found is None:
        return None
    return (*found, bytes(short_message[end:]))


def decode_short_message(data: bytes, data_coding: int) -> str:
    """The text of an (unpacked) short_message or message_payload.

    0 and 1 are read as the GSM 03.38 default alphabet, 3 as Latin-1, 8 as UTF-16-BE. A UCS-2 part
    that ends inside a surrogate pair (some handsets cut there) keeps the lone half, so that
    `join_parts` can join it with the other half. Raises ValueError for other codings or bytes
    that the coding cannot hold.
    """
    if data_coding in (DC_DEFAULT, DC_IA5):
        return decode_gsm7(data)
    if data_coding == DC_LATIN1:
        return data.decode("latin-1")
    if data_coding == DC_UCS2:
        if len(data) % 2:
            raise ValueError("UCS-2 data has an odd number of octets")
        try:
            return decode_ucs2(data)
        except UnicodeDecodeError:
            return data.decode("utf-16-be", "surrogatepass")
    raise ValueError(f"data_coding {data_coding} is not a text coding we read")


def join_parts(texts: list[str]) -> str:
    """Concatenate parts, merging surrogate halves that were cut apart; a half with no partner
    becomes U+FFFD."""
    joined = "".join(texts)
    if not any("\ud800" <= ch <= "\udfff" for ch in joined):
        return joined
    return joined.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
