"""SMPP 3.4 PDUs as plain values: constants, the `Pdu` dataclass, `encode`, `decode`, `read_pdu`.

Pure code (apart from the two small stream readers at the end): no sockets, no sessions. Both the
ESME client (mecm.delivery.smpp) and the SMSC simulator (mecm.smsc_sim) are built on it.

Wire format (SMPP 3.4 section 3.2): a 16-byte header of four big-endian unsigned 32-bit integers
``command_length, command_id, command_status, sequence_number``, then the mandatory fields of the
command in a fixed order, then optional TLVs (tag u16, length u16, value).

Field kinds, as the specification names them:

* C-Octet String: ASCII/latin-1 text terminated by a NUL; the spec's maximum length counts the NUL;
* Integer: one octet for every mandatory integer of the commands we support;
* ``short_message``: an octet string preceded by its length ``sm_length`` (derived, never a field).

Decoding always returns every mandatory field of the command (defaults filled in when a response came
without a body, which the spec allows for error responses). TLV values stay raw bytes; helpers below
turn them into ints and strings.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from typing import Any

# --- command ids (section 5.1.2.1) ------------------------------------------------------------------

GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_TRANSMITTER = 0x00000002
QUERY_SM = 0x00000003
SUBMIT_SM = 0x00000004
DELIVER_SM = 0x00000005
UNBIND = 0x00000006
BIND_TRANSCEIVER = 0x00000009
ENQUIRE_LINK = 0x00000015

BIND_RECEIVER_RESP = BIND_RECEIVER | GENERIC_NACK
BIND_TRANSMITTER_RESP = BIND_TRANSMITTER | GENERIC_NACK
QUERY_SM_RESP = QUERY_SM | GENERIC_NACK
SUBMIT_SM_RESP = SUBMIT_SM | GENERIC_NACK
DELIVER_SM_RESP = DELIVER_SM | GENERIC_NACK
UNBIND_RESP = UNBIND | GENERIC_NACK
BIND_TRANSCEIVER_RESP = BIND_TRANSCEIVER | GENERIC_NACK
ENQUIRE_LINK_RESP = ENQUIRE_LINK | GENERIC_NACK

RESPONSE_BIT = 0x80000000
BIND_COMMANDS = frozenset({BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER})

# --- command status (section 5.1.3) -----------------------------------------------------------------

ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDLEN = 0x02
ESME_RINVCMDID = 0x03
ESME_RINVBNDSTS = 0x04
ESME_RALYBND = 0x05
ESME_RSYSERR = 0x08
ESME_RINVSRCADR = 0x0A
ESME_RINVDSTADR = 0x0B
ESME_RINVMSGID = 0x0C
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RINVESMCLASS = 0x43
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
ESME_RX_P_APPN = 0x65
ESME_RX_R_APPN = 0x66
ESME_RQUERYFAIL = 0x67
ESME_RINVOPTPARSTREAM = 0xC0
ESME_RINVPARLEN = 0xC2
ESME_RUNKNOWNERR = 0xFF

STATUS_NAMES = {value: name for name, value in globals().items() if name.startswith("ESME_R")}

# --- TLV tags (section 5.3.2) -----------------------------------------------------------------------

RECEIPTED_MESSAGE_ID = 0x001E
SAR_MSG_REF_NUM = 0x020C
SAR_TOTAL_SEGMENTS = 0x020E
SAR_SEGMENT_SEQNUM = 0x020F
NETWORK_ERROR_CODE = 0x0423
MESSAGE_PAYLOAD = 0x0424
MESSAGE_STATE = 0x0427

# --- message_state values (section 5.2.28) ----------------------------------------------------------

ENROUTE = 1
DELIVERED = 2
EXPIRED = 3
DELETED = 4
UNDELIVERABLE = 5
ACCEPTED = 6
UNKNOWN = 7
REJECTED = 8

# esm_class bits we use: a delivery receipt (deliver_sm) and "short_message starts with a UDH".
ESM_CLASS_RECEIPT = 0x04
ESM_CLASS_UDHI = 0x40

HEADER = struct.Struct(">IIII")
HEADER_LENGTH = HEADER.size

# --- body layouts -------------------------------------------------------------------------------------
# (name, kind, maximum): kind "c" is a C-Octet String whose maximum counts the NUL, "i" a 1-octet
# integer, "sm" the short_message octet string with its 1-octet length in front.

_Layout = tuple[tuple[str, str, int], ...]

_BIND: _Layout = (
    ("system_id", "c", 16),
    ("password", "c", 9),
    ("system_type", "c", 13),
    ("interface_version", "i", 0),
    ("addr_ton", "i", 0),
    ("addr_npi", "i", 0),
    ("address_range", "c", 41),
)
_BIND_RESP: _Layout = (("system_id", "c", 16),)
_SM: _Layout = (
    ("service_type", "c", 6),
    ("source_addr_ton", "i", 0),
    ("source_addr_npi", "i", 0),
    ("source_addr", "c", 21),
    ("dest_addr_ton", "i", 0),
    ("dest_addr_npi", "i", 0),
    ("destination_addr", "c", 21),
    ("esm_class", "i", 0),
    ("protocol_id", "i", 0),
    ("priority_flag", "i", 0),
    ("schedule_delivery_time", "c", 17),
    ("validity_period", "c", 17),
    ("registered_delivery", "i", 0),
    ("replace_if_present_flag", "i", 0),
    ("data_coding", "i", 0),
    ("sm_default_msg_id", "i", 0),
    ("short_message", "sm", 254),
)
_MESSAGE_ID: _Layout = (("message_id", "c", 65),)
_QUERY: _Layout = (
    ("message_id", "c", 65),
    ("source_addr_ton", "i", 0),
    ("source_addr_npi", "i", 0),
    ("source_addr", "c", 21),
)
_QUERY_RESP: _Layout = (
    ("message_id", "c", 65),
    ("final_date", "c", 17),
    ("message_state", "i", 0),
    ("error_code", "i", 0),
)

LAYOUTS: dict[int, _Layout] = {
    GENERIC_NACK: (),
    BIND_RECEIVER: _BIND,
    BIND_TRANSMITTER: _BIND,
    BIND_TRANSCEIVER: _BIND,
    BIND_RECEIVER_RESP: _BIND_RESP,
    BIND_TRANSMITTER_RESP: _BIND_RESP,
    BIND_TRANSCEIVER_RESP: _BIND_RESP,
    SUBMIT_SM: _SM,
    DELIVER_SM: _SM,
    SUBMIT_SM_RESP: _MESSAGE_ID,
    # deliver_sm_resp's message_id is unused and always empty (section 4.6.2), but it is there.
    DELIVER_SM_RESP: _MESSAGE_ID,
    QUERY_SM: _QUERY,
    QUERY_SM_RESP: _QUERY_RESP,
    UNBIND: (),
    UNBIND_RESP: (),
    ENQUIRE_LINK: (),
    ENQUIRE_LINK_RESP: (),
}

NAMES = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_TRANSMITTER: "bind_transmitter",
    BIND_TRANSCEIVER: "bind_transceiver",
    SUBMIT_SM: "submit_sm",
    DELIVER_SM: "deliver_sm",
    QUERY_SM: "query_sm",
    UNBIND: "unbind",
    ENQUIRE_LINK: "enquire_link",
}
NAMES.update({cid | RESPONSE_BIT: f"{name}_resp" for cid, name in list(NAMES.items()) if cid != GENERIC_NACK})


class PduError(Exception):
    """Malformed input. `command_status` is what to answer the peer with (in a generic_nack when the
    header itself is bad or the command unknown, else in the command's own response); `command_id`
    and `sequence` are filled in when the header could be read, so that answer can be addressed."""

    def __init__(self, command_status: int, message: str, *, command_id: int = 0, sequence: int = 0) -> None:
        super().__init__(message)
        self.command_status = command_status
        self.message = message
        self.command_id = command_id
        self.sequence = sequence


@dataclass
class Pdu:
    command_id: int
    command_status: int = 0
    sequence: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    tlvs: dict[int, bytes] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return NAMES.get(self.command_id, f"0x{self.command_id:08x}")

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


def default_fields(command_id: int) -> dict[str, Any]:
    """Every mandatory field of the command with its zero/empty value."""
    return {name: _default(kind) for name, kind, _ in LAYOUTS[command_id]}


def _default(kind: str) -> Any:
    return "" if kind == "c" else b"" if kind == "sm" else 0


def response(request: Pdu, status: int = ESME_ROK, **fields: Any) -> Pdu:
    """The response to `request`: its command id with the response bit, its sequence number."""
    return Pdu(request.command_id | RESPONSE_BIT, status, request.sequence, dict(fields))


# --- encode -------------------------------------------------------------------------------------------


def encode(pdu: Pdu) -> bytes:
    """The whole PDU, header included. Raises ValueError naming the field that cannot be encoded."""
    layout = LAYOUTS.get(pdu.command_id)
    if layout is None:
        raise ValueError(f"command_id 0x{pdu.command_id:08x} is not supported")
    unknown = set(pdu.fields) - {name for name, _, _ in layout}
    if unknown:
        raise ValueError(f"{pdu.name} has no field {min(unknown)!r}")
    body = bytearray()
    # An error response may go without a body (sections 4.1.2, 4.4.2): we send none unless asked to.
    if not (pdu.is_response and pdu.command_status != ESME_ROK and not pdu.fields):
        for name, kind, maximum in layout:
            body += _encode_field(name, kind, maximum, pdu.fields.get(name, _default(kind)))
    for tag, value in pdu.tlvs.items():
        if not 0 <= tag <= 0xFFFF:
            raise ValueError(f"TLV tag {tag!r} is outside 0..0xFFFF")
        if len(value) > 0xFFFF:
            raise ValueError(f"TLV 0x{tag:04x} is longer than 65535 octets")
        body += struct.pack(">HH", tag, len(value)) + bytes(value)
    for name, value in (("command_status", pdu.command_status), ("sequence", pdu.sequence)):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"{name} {value!r} is outside 0..0xFFFFFFFF")
    return HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.command_status, pdu.sequence) + body


def _encode_field(name: str, kind: str, maximum: int, value: Any) -> bytes:
    if kind == "i":
        if not isinstance(value, int) or not 0 <= value <= 0xFF:
            raise ValueError(f"{name} must be an integer 0..255, not {value!r}")
        return bytes((value,))
    if kind == "sm":
        value = bytes(value)
        if len(value) > maximum:
            raise ValueError(f"{name} is {len(value)} octets, at most {maximum} allowed (use message_payload)")
        return bytes((len(value),)) + value
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, not {type(value).__name__}")  # noqa: TRY004 one error type for bad fields
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be ASCII/latin-1 text: {value!r}") from None
    if b"\0" in raw:
        raise ValueError(f"{name} must not contain NUL")
    if len(raw) >= maximum:
        raise ValueError(f"{name} is {len(raw)} characters, at most {maximum - 1} allowed")
    return raw + b"\0"


# --- decode -------------------------------------------------------------------------------------------


def decode(data: bytes) -> Pdu:
    """One whole PDU (header included). Raises PduError for anything malformed."""
    if len(data) < HEADER_LENGTH:
        raise PduError(ESME_RINVCMDLEN, f"a PDU is at least 16 octets, got {len(data)}")
    length, command_id, status, sequence = HEADER.unpack_from(data)
    if length != len(data):
        raise PduError(ESME_RINVCMDLEN, f"command_length {length} but {len(data)} octets",
                       command_id=command_id, sequence=sequence)
    layout = LAYOUTS.get(command_id)
    if layout is None:
        raise PduError(ESME_RINVCMDID, f"unsupported command_id 0x{command_id:08x}",
                       command_id=command_id, sequence=sequence)
    pdu = Pdu(command_id, status, sequence, default_fields(command_id))
    body = bytes(data[HEADER_LENGTH:])  # one copy; the fields are read from it by offset, uncopied
    try:
        pos = 0
        if body or not pdu.is_response:  # a response may come without a body
            for name, kind, _ in layout:
                pdu.fields[name], pos = _decode_field(name, kind, body, pos)
        pdu.tlvs = _decode_tlvs(body, pos)
    except PduError as error:
        error.command_id, error.sequence = command_id, sequence
        raise
    return pdu


def _decode_field(name: str, kind: str, body: bytes, pos: int) -> tuple[Any, int]:
    if kind == "i" or kind == "sm":
        if pos >= len(body):
            raise PduError(ESME_RINVCMDLEN, f"body ends before {name}")
        if kind == "i":
            return body[pos], pos + 1
        end = pos + 1 + body[pos]
        if end > len(body):
            raise PduError(ESME_RINVMSGLEN, f"sm_length {body[pos]} runs past the end of the PDU")
        return body[pos + 1:end], end
    # C-Octet String. Longer than the spec's maximum is accepted: being strict on what we receive
    # would only lose messages from carriers that send long message ids.
    end = body.find(b"\0", pos)
    if end < 0:
        raise PduError(ESME_RINVCMDLEN, f"{name} is not NUL-terminated")
    return body[pos:end].decode("latin-1"), end + 1


def _decode_tlvs(data: bytes, pos: int) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    while pos < len(data):
        if pos + 4 > len(data):
            raise PduError(ESME_RINVOPTPARSTREAM, f"{len(data) - pos} stray octets after the fields")
        tag, length = struct.unpack_from(">HH", data, pos)
        if pos + 4 + length > len(data):
            raise PduError(ESME_RINVPARLEN, f"TLV 0x{tag:04x} of length {length} runs past the end")
        tlvs[tag] = data[pos + 4:pos + 4 + length]
        pos += 4 + length
    return tlvs


# --- TLV values ---------------------------------------------------------------------------------------


def int_tlv(value: int, size: int = 1) -> bytes:
    """An Integer TLV value of `size` octets (1, 2 or 4), big-endian."""
    return value.to_bytes(size, "big")


def tlv_int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def cstring_tlv(value: str) -> bytes:
    """A C-Octet String TLV value (receipted_message_id): the text and its NUL."""
    return value.encode("latin-1") + b"\0"


def tlv_cstring(value: bytes) -> str:
    """Inverse of cstring_tlv; tolerant of a missing NUL, which some SMSCs leave out."""
    return value.split(b"\0", 1)[0].decode("latin-1")


# --- streams ------------------------------------------------------------------------------------------


async def read_frame(reader: asyncio.StreamReader, max_length: int = 64 * 1024) -> bytes:
    """The raw octets of the next PDU. Raises asyncio.IncompleteReadError at EOF, PduError when the
    command_length is impossible (the stream cannot be resynchronised then: close it)."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">I", head)
    if not HEADER_LENGTH <= length <= max_length:
        raise PduError(ESME_RINVCMDLEN, f"command_length {length} outside 16..{max_length}")
    return head + await reader.readexactly(length - 4)


async def read_pdu(reader: asyncio.StreamReader, max_length: int = 64 * 1024) -> Pdu:
    """The next PDU, decoded. After a PduError whose command_id is set the stream is still in step."""
    return decode(await read_frame(reader, max_length))
