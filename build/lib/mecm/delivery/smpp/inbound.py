"""What an SMSC sends us in deliver_sm: delivery receipts and mobile-originated messages (MOs).

``Inbound.handle`` returns the command_status of the deliver_sm_resp, and the session sends that
answer only after ``handle`` returned, that is after the receipt or MO is stored: a crash before
that loses nothing, since the SMSC delivers again what we did not answer.

* A receipt (esm_class bit 0x04) is read from the receipted_message_id + message_state TLVs when
  both are there, else from the receipt text. Its id goes to the receipt sink normalised as the
  submit_sm_resp ids are (``id_format``), so the two meet; the store matches them exactly.
  Non-final states (ENROUTE, ACCEPTD) are acknowledged and ignored.
* An MO is decoded (data_coding 0, 1, 3 or 8). A part of a longer one (UDH or SAR) goes to the
  part sink, which stores it before it is answered and joins the parts when the last one comes (or
  hands on those that came, after ``mo_reassembly_s``): see services/mo_parts.py. A part that cannot
  be placed (total of 1, a sequence outside 1..total) is handed on as an MO of its own.
"""

from __future__ import annotations

import logging

from mecm.delivery.connectors.base import MOPart, MOPartSink, MOSink, ReceiptSink
from mecm.domain.smpp_settings import SmppSettings
from mecm.delivery.smpp.outcomes import MESSAGE_STATE_STAT, normalise_id
from mecm.domain.status import Status
from mecm.smpp import pdu as P
from mecm.smpp.parts import decode_short_message, join_parts, parse_udh
from mecm.smpp.receipt import final_status, parse_receipt_text

log = logging.getLogger(__name__)


class Inbound:
    def __init__(
        self,
        carrier: str,
        config: SmppSettings,
        receipts: ReceiptSink,
        mo: MOSink | None,
        mo_part: MOPartSink | None = None,
    ) -> None:
        self.carrier = carrier
        self._config = config
        self._receipts = receipts
        self._mo = mo
        self._mo_part = mo_part
        self.receipts = 0
        self.mos = 0

    async def handle(self, pdu: P.Pdu) -> int:
        if pdu.fields.get("esm_class", 0) & P.ESM_CLASS_RECEIPT:
            return await self._receipt(pdu)
        return await self._inbound_message(pdu)

    # -- receipts --------------------------------------------------------------------------------

    async def _receipt(self, pdu: P.Pdu) -> int:
        tlv_id, tlv_state = pdu.tlvs.get(P.RECEIPTED_MESSAGE_ID), pdu.tlvs.get(P.MESSAGE_STATE)
        if tlv_id and tlv_state:
            # The spec (5.3.2.12) says this is the submit_sm_resp's id, but SMSCs print it as they
            # print the receipt text: read it as a receipt id.
            carrier_id = normalise_id(P.tlv_cstring(tlv_id), self._config.id_format, from_response=False)
            stat = MESSAGE_STATE_STAT.get(P.tlv_int(tlv_state), "UNKNOWN")
            err = ""
            if stat != "DELIVRD":  # the text is read only for the error code a failure reports
                parsed = parse_receipt_text(_body(pdu).decode("latin-1"))
                err = parsed.err if parsed else _network_error(pdu)
        elif (parsed := parse_receipt_text(_body(pdu).decode("latin-1"))) is not None:
            carrier_id = normalise_id(parsed.message_id, self._config.id_format, from_response=False)
            stat, err = parsed.stat, parsed.err
        else:
            log.warning("smpp %s: a receipt without an id or a state was acknowledged and dropped", self.carrier)
            return P.ESME_ROK
        status = final_status(stat)
        if status is None:
            return P.ESME_ROK  # ENROUTE, ACCEPTD: not an answer yet
        detail = None if status == Status.DELIVERED_TO_DEVICE.value else f"stat:{stat} err:{err or '-'}"
        await self._receipts(self.carrier, [(carrier_id, status, detail)])
        self.receipts += 1
        return P.ESME_ROK

    # -- MOs -------------------------------------------------------------------------------------

    async def _inbound_message(self, pdu: P.Pdu) -> int:
        source = str(pdu.fields.get("source_addr", ""))
        destination = str(pdu.fields.get("destination_addr", ""))
        data_coding = int(pdu.fields.get("data_coding", 0))
        body = _body(pdu)
        concat = None
        if pdu.fields.get("esm_class", 0) & P.ESM_CLASS_UDHI:
            header = parse_udh(body)
            if header is not None:
                ref, total, seq, body = header
                concat = (ref, total, seq)
        elif P.SAR_MSG_REF_NUM in pdu.tlvs and P.SAR_TOTAL_SEGMENTS in pdu.tlvs:
            concat = tuple(P.tlv_int(pdu.tlvs.get(tag, b"\x01"))
                           for tag in (P.SAR_MSG_REF_NUM, P.SAR_TOTAL_SEGMENTS, P.SAR_SEGMENT_SEQNUM))
        try:
            text = decode_short_message(body, data_coding)
        except ValueError as error:
            log.warning("smpp %s: an MO from %s refused: %s", self.carrier, source, error)
            return P.ESME_RX_P_APPN
        if concat is not None and concat[1] > 1 and 1 <= concat[2] <= concat[1]:
            if self._mo_part is None:
                log.warning("smpp %s: an MO part from %s dropped: no MO sink is wired", self.carrier, source)
                return P.ESME_ROK
            reference, total, seq = concat
            await self._mo_part(MOPart(self.carrier, source, destination, reference, total, seq, text,
                                       self._config.mo_reassembly_s))
            return P.ESME_ROK
        if concat is not None:
            text = join_parts([text])  # a part that cannot be placed: half a surrogate pair is not kept
        await self._hand_on(source, destination, text)
        return P.ESME_ROK

    async def _hand_on(self, source: str, destination: str, text: str) -> None:
        if self._mo is None:
            log.warning("smpp %s: an MO from %s dropped: no MO sink is wired", self.carrier, source)
            return
        await self._mo(self.carrier, source, destination, text)
        self.mos += 1


def _body(pdu: P.Pdu) -> bytes:
    """short_message, or the message_payload TLV when the text came there."""
    return bytes(pdu.fields.get("short_message") or pdu.tlvs.get(P.MESSAGE_PAYLOAD, b""))


def _network_error(pdu: P.Pdu) -> str:
    """The code of the network_error_code TLV (type octet, then a 2-octet code), or ""."""
    value = pdu.tlvs.get(P.NETWORK_ERROR_CODE, b"")
    return str(int.from_bytes(value[1:3], "big")) if len(value) == 3 else ""
