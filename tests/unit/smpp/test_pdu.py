from __future__ import annotations

import asyncio
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.smpp import pdu as p
from mecm.smpp.pdu import (
    BIND_TRANSCEIVER,
    DELIVER_SM,
    ENQUIRE_LINK,
    GENERIC_NACK,
    LAYOUTS,
    MESSAGE_PAYLOAD,
    QUERY_SM_RESP,
    SAR_MSG_REF_NUM,
    SUBMIT_SM,
    SUBMIT_SM_RESP,
    Pdu,
    PduError,
    decode,
    default_fields,
    encode,
    read_pdu,
    response,
)


def test_enquire_link_is_a_bare_header() -> None:
    assert encode(Pdu(ENQUIRE_LINK, sequence=7)) == bytes.fromhex("00000010" "00000015" "00000000" "00000007")


def test_submit_sm_bytes_follow_the_spec_field_order() -> None:
    pdu = Pdu(SUBMIT_SM, sequence=2, fields={
        "source_addr_ton": 5, "source_addr": "MECM", "dest_addr_ton": 1, "dest_addr_npi": 1,
        "destination_addr": "584141234567", "registered_delivery": 1, "data_coding": 8,
        "short_message": "hé".encode("utf-16-be"),
    }, tlvs={SAR_MSG_REF_NUM: b"\x01\x02"})
    body = (b"\0" + b"\x05\x00" + b"MECM\0" + b"\x01\x01" + b"584141234567\0" + b"\x00\x00\x00" + b"\0\0"
            + b"\x01\x00\x08\x00" + b"\x04" + "hé".encode("utf-16-be") + b"\x02\x0c\x00\x02\x01\x02")
    assert encode(pdu) == struct.pack(">IIII", 16 + len(body), SUBMIT_SM, 0, 2) + body


def test_missing_fields_encode_as_defaults_and_decode_in_full() -> None:
    data = encode(Pdu(SUBMIT_SM, fields={"destination_addr": "5841", "short_message": b"hi"}))
    decoded = decode(data)
    assert decoded.fields == {**default_fields(SUBMIT_SM), "destination_addr": "5841", "short_message": b"hi"}
    assert decoded.name == "submit_sm"


def test_names() -> None:
    assert Pdu(SUBMIT_SM_RESP).name == "submit_sm_resp"
    assert Pdu(GENERIC_NACK).name == "generic_nack"
    assert Pdu(p.BIND_RECEIVER_RESP).name == "bind_receiver_resp"
    assert Pdu(0x21).name == "0x00000021"
    assert p.STATUS_NAMES[0x58] == "ESME_RTHROTTLED"


@pytest.mark.parametrize(("fields", "named"), [
    ({"destination_addr": "1" * 21}, "destination_addr"),  # 20 characters + NUL at most
    ({"short_message": b"x" * 255}, "short_message"),
    ({"source_addr": "Ω"}, "source_addr"),  # not latin-1
    ({"esm_class": 256}, "esm_class"),
    ({"data_coding": "8"}, "data_coding"),
    ({"destination": "1"}, "destination"),  # no such field
])
def test_encode_refuses_naming_the_field(fields: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        encode(Pdu(SUBMIT_SM, fields=fields))


def test_longest_allowed_values_encode() -> None:
    pdu = Pdu(SUBMIT_SM, fields={"destination_addr": "1" * 20, "short_message": b"x" * 254})
    assert decode(encode(pdu)).fields["short_message"] == b"x" * 254


def test_error_response_goes_without_body_and_decodes() -> None:
    data = encode(Pdu(SUBMIT_SM_RESP, p.ESME_RTHROTTLED, 9))
    assert len(data) == 16
    decoded = decode(data)
    assert (decoded.command_status, decoded.sequence, decoded.fields) == (p.ESME_RTHROTTLED, 9, {"message_id": ""})
    # a bind_resp with an error and no system_id, as some SMSCs send
    assert decode(struct.pack(">IIII", 16, p.BIND_TRANSMITTER_RESP, p.ESME_RINVPASWD, 1)).fields == {"system_id": ""}


def test_response_helper() -> None:
    request = Pdu(SUBMIT_SM, sequence=41)
    answer = response(request, message_id="abc")
    assert (answer.command_id, answer.sequence, answer.fields) == (SUBMIT_SM_RESP, 41, {"message_id": "abc"})


@pytest.mark.parametrize(("data", "status"), [
    (b"\x00\x00\x00\x10\x00\x00", p.ESME_RINVCMDLEN),  # shorter than a header
    (struct.pack(">IIII", 20, ENQUIRE_LINK, 0, 1), p.ESME_RINVCMDLEN),  # length says 20, is 16
    (struct.pack(">IIII", 16, 0x21, 0, 5), p.ESME_RINVCMDID),  # submit_multi: not supported
    (struct.pack(">IIII", 20, SUBMIT_SM, 0, 5) + b"abcd", p.ESME_RINVCMDLEN),  # no NUL
    (struct.pack(">IIII", 16, BIND_TRANSCEIVER, 0, 5), p.ESME_RINVCMDLEN),  # a request needs its body
    (encode(Pdu(SUBMIT_SM, sequence=5))[:-1] + b"\x05", p.ESME_RINVMSGLEN),  # sm_length past the end
    (encode(Pdu(ENQUIRE_LINK, sequence=5)) + b"\x04", p.ESME_RINVCMDLEN),  # command_length not updated
])
def test_decode_refuses_malformed_input(data: bytes, status: int) -> None:
    with pytest.raises(PduError) as caught:
        decode(data)
    assert caught.value.command_status == status


def test_decode_error_keeps_the_header_so_the_peer_can_be_answered() -> None:
    with pytest.raises(PduError) as caught:
        decode(struct.pack(">IIII", 16, 0x21, 0, 77))
    assert (caught.value.command_id, caught.value.sequence) == (0x21, 77)


@pytest.mark.parametrize("trailer", [b"\x04\x24\x00", b"\x04\x24\x00\x05abc"])
def test_decode_refuses_broken_tlvs(trailer: bytes) -> None:
    data = encode(Pdu(SUBMIT_SM))
    data = struct.pack(">I", len(data) + len(trailer)) + data[4:] + trailer
    with pytest.raises(PduError) as caught:
        decode(data)
    assert caught.value.command_status in (p.ESME_RINVOPTPARSTREAM, p.ESME_RINVPARLEN)
    assert caught.value.command_id == SUBMIT_SM


def test_tlv_helpers() -> None:
    assert p.int_tlv(0x1234, 2) == b"\x12\x34" and p.tlv_int(b"\x12\x34") == 0x1234
    assert p.cstring_tlv("2a000001") == b"2a000001\0"
    assert p.tlv_cstring(b"2a000001\0") == p.tlv_cstring(b"2a000001") == "2a000001"


# --- every PDU type round-trips ---------------------------------------------------------------------

latin1 = st.characters(min_codepoint=1, max_codepoint=255)


def field_value(kind: str, maximum: int):
    if kind == "i":
        return st.integers(0, 255)
    if kind == "sm":
        return st.binary(max_size=maximum)
    return st.text(latin1, max_size=maximum - 1)


@st.composite
def pdus(draw) -> Pdu:
    command_id = draw(st.sampled_from(sorted(LAYOUTS)))
    fields = {name: draw(field_value(kind, maximum)) for name, kind, maximum in LAYOUTS[command_id]}
    tlvs = draw(st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=300), max_size=4))
    return Pdu(command_id, draw(st.integers(0, 0xFFFFFFFF)), draw(st.integers(0, 0xFFFFFFFF)), fields, tlvs)


@given(pdus())
def test_every_pdu_type_round_trips(pdu: Pdu) -> None:
    data = encode(pdu)
    assert struct.unpack(">I", data[:4])[0] == len(data)
    assert decode(data) == pdu


@given(st.binary(max_size=80))
def test_decode_never_fails_other_than_with_pdu_error(body: bytes) -> None:
    for command_id in (SUBMIT_SM, DELIVER_SM, QUERY_SM_RESP, BIND_TRANSCEIVER):
        data = struct.pack(">IIII", 16 + len(body), command_id, 0, 1) + body
        try:
            decoded = decode(data)
        except PduError:
            continue
        assert set(decoded.fields) == set(default_fields(command_id))


# --- reading from a stream ----------------------------------------------------------------------------


async def test_read_pdu_reads_one_pdu_at_a_time_then_eof() -> None:
    reader = asyncio.StreamReader()
    first = encode(Pdu(SUBMIT_SM, sequence=1, tlvs={MESSAGE_PAYLOAD: b"x" * 1000}))
    second = encode(Pdu(ENQUIRE_LINK, sequence=2))
    reader.feed_data(first[:7])
    reader.feed_data(first[7:] + second)
    reader.feed_eof()
    assert (await read_pdu(reader)).tlvs[MESSAGE_PAYLOAD] == b"x" * 1000
    assert (await read_pdu(reader)).sequence == 2
    with pytest.raises(asyncio.IncompleteReadError):
        await read_pdu(reader)


async def test_read_pdu_refuses_an_impossible_length() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">I", 1_000_000) + b"\0" * 12)
    with pytest.raises(PduError) as caught:
        await read_pdu(reader)
    assert caught.value.command_status == p.ESME_RINVCMDLEN
