"""Building the deliver_sm PDUs of an injected mobile-originated message (``POST /mo``) and of a
delivery receipt. Pure code."""

from __future__ import annotations

import re
from datetime import datetime

from mecm.domain.text import encode_gsm7, encode_ucs2
from mecm.smpp.parts import (
    CONCAT_MODES,
    DC_DEFAULT,
    DC_IA5,
    DC_LATIN1,
    DC_UCS2,
    split_for_submit,
)
from mecm.smpp.pdu import (
    DELIVER_SM,
    DELIVERED,
    ESM_CLASS_RECEIPT,
    ESM_CLASS_UDHI,
    MESSAGE_PAYLOAD,
    MESSAGE_STATE,
    NETWORK_ERROR_CODE,
    RECEIPTED_MESSAGE_ID,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
    UNDELIVERABLE,
    Pdu,
    cstring_tlv,
    int_tlv,
)
from mecm.smpp.receipt import format_receipt_text
from mecm.smsc_sim.records import Submit

MAX_SHORT_MESSAGE = 254


def _encode(text: str, data_coding: int) -> bytes:
    if data_coding in (DC_DEFAULT, DC_IA5):
        return encode_gsm7(text)
    if data_coding == DC_UCS2:
        return encode_ucs2(text)
    if data_coding == DC_LATIN1:
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("text has characters Latin-1 cannot carry") from None
    raise ValueError(f"data_coding must be 0, 1, 3 or 8, not {data_coding}")


def _cut(text: str, parts: int) -> list[str]:
    """`text` in `parts` pieces of near-equal length. Cutting between characters never splits a
    GSM escape pair or a surrogate pair: both are one character here."""
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def build_mo(
    source: str,
    destination: str,
    text: str,
    *,
    reference: int,
    parts: int | None = None,
    concat: str = "udh",
    data_coding: int | None = None,
) -> list[Pdu]:
    """The deliver_sm PDUs (sequence numbers left 0) that carry one MO.

    Without `parts` and `data_coding` the text is cut as a handset would (split_for_submit);
    otherwise into exactly `parts` pieces in the given coding. Raises ValueError for what cannot be
    sent (unknown coding or concat mode, a part over 254 octets).
    """
    if concat not in CONCAT_MODES:
        raise ValueError(f"concat must be one of {', '.join(CONCAT_MODES)}")
    base = {"source_addr": source, "destination_addr": destination, "source_addr_ton": 1, "source_addr_npi": 1}
    if parts is None and data_coding is None:
        return [Pdu(DELIVER_SM, fields={**base, "esm_class": p.esm_class, "data_coding": p.data_coding,
                                         "short_message": p.short_message}, tlvs=p.tlvs)
                for p in split_for_submit(text, concat=concat, reference=reference)]
    coding = DC_DEFAULT if data_coding is None else data_coding
    count = parts or 1
    if not 1 <= count <= 255 or count > max(1, len(text)):
        raise ValueError(f"parts must be between 1 and min(255, length of text), not {count}")
    if concat == "payload" or count == 1:
        data = _encode(text, coding)
        if concat == "payload":
            return [Pdu(DELIVER_SM, fields={**base, "data_coding": coding}, tlvs={MESSAGE_PAYLOAD: data})]
        return [Pdu(DELIVER_SM, fields={**base, "data_coding": coding, "short_message": _fit(data)})]
    pdus = []
    for seq, piece in enumerate(_cut(text, count), 1):
        data = _encode(piece, coding)
        if concat == "udh":
            short = _fit(bytes((5, 0, 3, reference & 0xFF, count, seq)) + data)
            pdus.append(Pdu(DELIVER_SM, fields={**base, "esm_class": ESM_CLASS_UDHI, "data_coding": coding,
                                                "short_message": short}))
        else:
            tlvs = {SAR_MSG_REF_NUM: int_tlv(reference & 0xFFFF, 2), SAR_TOTAL_SEGMENTS: int_tlv(count),
                    SAR_SEGMENT_SEQNUM: int_tlv(seq)}
            pdus.append(Pdu(DELIVER_SM, fields={**base, "data_coding": coding, "short_message": _fit(data)},
                            tlvs=tlvs))
    return pdus


def _fit(data: bytes) -> bytes:
    if len(data) > MAX_SHORT_MESSAGE:
        raise ValueError(f"a part would be {len(data)} octets, at most {MAX_SHORT_MESSAGE}: use more parts")
    return data


_NOT_PRINTABLE = re.compile(r"[^A-Za-z0-9 .,\-]")
_minutes: dict[int, str] = {}  # epoch minute -> its local YYMMDDhhmm, for the receipts of that minute


def _printable(text: str) -> str:
    """The receipt's text: field in plain ASCII, so the receipt reads the same in any coding."""
    return _NOT_PRINTABLE.sub(".", text)


def _receipt_date(at: float) -> str:
    """YYMMDDhhmm in local time (every time zone is a whole number of minutes off UTC)."""
    minute = int(at // 60)
    text = _minutes.get(minute)
    if text is None:
        if len(_minutes) > 100:
            _minutes.clear()
        text = _minutes[minute] = datetime.fromtimestamp(at).strftime("%y%m%d%H%M")
    return text


def build_receipt(submit: Submit, receipt_id: str) -> Pdu:
    """The deliver_sm receipt for one submitted part: back from the destination to the source."""
    delivered = submit.stat == "DELIVRD"
    text = format_receipt_text(receipt_id, submit.stat, submit.err, _receipt_date(submit.submitted_at),
                               _receipt_date(submit.done_at), _printable(submit.text[:20]))
    tlvs = {RECEIPTED_MESSAGE_ID: cstring_tlv(receipt_id), MESSAGE_STATE: int_tlv(DELIVERED if delivered else UNDELIVERABLE)}
    if not delivered:  # network type 3 (GSM) and the error code
        tlvs[NETWORK_ERROR_CODE] = bytes((3,)) + int_tlv(submit.err, 2)
    fields = {
        "source_addr": submit.destination, "source_addr_ton": submit.dest_ton, "source_addr_npi": submit.dest_npi,
        "destination_addr": submit.source, "dest_addr_ton": submit.source_ton, "dest_addr_npi": submit.source_npi,
        "esm_class": ESM_CLASS_RECEIPT, "data_coding": DC_DEFAULT, "short_message": text.encode("ascii"),
    }
    return Pdu(DELIVER_SM, fields=fields, tlvs=tlvs)
