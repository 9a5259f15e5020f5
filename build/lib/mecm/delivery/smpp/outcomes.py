"""Pure decisions of the SMPP connector: plain functions over plain values, unit-tested alone.

* ``SUBMIT_STATUS`` is the ONE table from a submit_sm_resp ``command_status`` to mecm's fixed
  outcomes. Each row is (spec name, decision), the decision being a final status (FAILED with it),
  ``RETRY`` (try later, counted as an attempt) or ``SLOW_DOWN`` (the SMSC asked us to wait: try
  later without counting an attempt). A status missing from the table is FAILED NOT_SENT, with its
  hex code in the detail so operators can tell vendor codes apart.
* addressing (TON/NPI from the sender), validity_period, data_coding for flash messages, and the
  message id normalisation that makes submit_sm_resp ids and receipt ids meet.
"""

from __future__ import annotations

from dataclasses import replace

from mecm.delivery.connectors.base import Outcome
from mecm.domain.status import Status

RETRY = "RETRY"
SLOW_DOWN = "SLOW_DOWN"

_NOT_SENT = Status.NOT_SENT.value
_UNREACHABLE = Status.UNREACHABLE.value
_BAD_TO = Status.BAD_TO.value
_BAD_FROM = Status.BAD_FROM.value

# command_status of a submit_sm_resp (SMPP 3.4 section 5.1.3) -> (name, decision).
SUBMIT_STATUS: dict[int, tuple[str, str]] = {
    0x01: ("ESME_RINVMSGLEN", _NOT_SENT),
    0x02: ("ESME_RINVCMDLEN", _NOT_SENT),
    0x03: ("ESME_RINVCMDID", _NOT_SENT),
    0x04: ("ESME_RINVBNDSTS", RETRY),  # our bind is in the wrong state: it is re-established
    0x05: ("ESME_RALYBND", RETRY),
    0x06: ("ESME_RINVPRTFLG", _NOT_SENT),
    0x07: ("ESME_RINVREGDLVFLG", _NOT_SENT),
    0x08: ("ESME_RSYSERR", RETRY),  # the SMSC's own trouble, usually passing
    0x0A: ("ESME_RINVSRCADR", _BAD_FROM),
    0x0B: ("ESME_RINVDSTADR", _BAD_TO),
    0x0C: ("ESME_RINVMSGID", _NOT_SENT),
    0x14: ("ESME_RMSGQFUL", SLOW_DOWN),
    0x15: ("ESME_RINVSERTYP", _NOT_SENT),
    0x33: ("ESME_RINVNUMDESTS", _BAD_TO),
    0x40: ("ESME_RINVDESTFLAG", _BAD_TO),
    0x43: ("ESME_RINVESMCLASS", _NOT_SENT),
    0x45: ("ESME_RSUBMITFAIL", RETRY),
    0x48: ("ESME_RINVSRCTON", _BAD_FROM),
    0x49: ("ESME_RINVSRCNPI", _BAD_FROM),
    0x50: ("ESME_RINVDSTTON", _BAD_TO),
    0x51: ("ESME_RINVDSTNPI", _BAD_TO),
    0x53: ("ESME_RINVSYSTYP", _NOT_SENT),
    0x58: ("ESME_RTHROTTLED", SLOW_DOWN),
    0x61: ("ESME_RINVSCHED", _NOT_SENT),
    0x62: ("ESME_RINVEXPIRY", _NOT_SENT),
    0x64: ("ESME_RX_T_APPN", RETRY),
    0x65: ("ESME_RX_P_APPN", _NOT_SENT),
    0x66: ("ESME_RX_R_APPN", _NOT_SENT),
    0xC0: ("ESME_RINVOPTPARSTREAM", _NOT_SENT),
    0xC1: ("ESME_ROPTPARNOTALLWD", _NOT_SENT),
    0xC2: ("ESME_RINVPARLEN", _NOT_SENT),
    0xC3: ("ESME_RMISSINGOPTPARAM", _NOT_SENT),
    0xC4: ("ESME_RINVOPTPARAMVAL", _NOT_SENT),
    0xFE: ("ESME_RDELIVERYFAILURE", _UNREACHABLE),
    0xFF: ("ESME_RUNKNOWNERR", RETRY),
}


def status_name(status: int) -> str:
    return SUBMIT_STATUS.get(status, (f"0x{status:08X}", ""))[0]


def submit_outcome(status: int, slow_down_s: float) -> Outcome:
    """The outcome of a refused submit_sm (status != 0); ``slow_down_s`` is the wait after a throttle."""
    name, decision = SUBMIT_STATUS.get(status, (f"status 0x{status:08X}", _NOT_SENT))
    detail = f"SMPP {name} (0x{status:02X})"
    if decision == SLOW_DOWN:
        return replace(Outcome.retry(detail, after_s=slow_down_s), counts_as_attempt=False)
    if decision == RETRY:
        return Outcome.retry(detail)
    return Outcome.failed(decision, detail)


def is_slow_down(status: int) -> bool:
    return SUBMIT_STATUS.get(status, ("", ""))[1] == SLOW_DOWN


def in_doubt(detail: str) -> Outcome:
    """The submit may have reached the SMSC but its answer was lost: the dispatcher reconciles."""
    return replace(Outcome.retry(f"outcome unknown: {detail}"), in_doubt=True)


# -- addressing ----------------------------------------------------------------------------------

TON_INTERNATIONAL, TON_NATIONAL, TON_ALPHANUMERIC = 1, 3, 5  # 3 is "network specific" in 3.4
NPI_UNKNOWN, NPI_ISDN = 0, 1
SHORT_CODE_MAX_DIGITS = 8


def source_address(sender: str) -> tuple[int, int, str]:
    """(ton, npi, address) for a sender: alphanumeric 5/0, short code (up to 8 digits) 3/0, else 1/1."""
    address = sender.strip()
    if any(ch.isalpha() for ch in address):
        return TON_ALPHANUMERIC, NPI_UNKNOWN, address
    digits = address.lstrip("+")
    if len(digits) <= SHORT_CODE_MAX_DIGITS:
        return TON_NATIONAL, NPI_UNKNOWN, digits
    return TON_INTERNATIONAL, NPI_ISDN, digits


def destination_address(recipient: str) -> tuple[int, int, str]:
    return TON_INTERNATIONAL, NPI_ISDN, recipient.strip().lstrip("+")


# -- validity, data coding -----------------------------------------------------------------------


def relative_validity(minutes: int) -> str:
    """SMPP 3.4 relative time ``YYMMDDhhmmss000R`` for ``minutes`` from now.

    Up to 99 days the days field holds them exactly; beyond, years count 365 days and months 30.
    """
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    years = months = 0
    if days > 99:
        years, days = divmod(days, 365)
        months, days = divmod(days, 30)
    return f"{years:02d}{months:02d}{days:02d}{hours:02d}{mins:02d}00000R"


def flash_coding(data_coding: int) -> int:
    """data_coding with message class 0 (shown at once, not stored): 0x10 for GSM, 0x18 for UCS-2."""
    return 0x10 | (data_coding & 0x0C)


# -- message ids ---------------------------------------------------------------------------------


def normalise_id(message_id: str, id_format: str, *, from_response: bool) -> str:
    """The form under which a carrier message id is stored and matched.

    * ``as-is``: unchanged.
    * ``decimal``: the SMSC answers submit_sm with hex ids but writes receipts in decimal (a common
      pairing): a response id is read as hex and stored in decimal; a receipt id is kept when it is
      all digits and converted from hex otherwise.
    * ``hex``: the reverse: a response id is decimal and stored as lower-case hex; a receipt id is
      taken as hex.
    Ids that are not numbers in the expected base are kept as they came.
    """
    raw = message_id.strip()
    if id_format == "as-is" or not raw:
        return raw
    try:
        if id_format == "decimal":
            if from_response or not raw.isdigit():
                return str(int(raw, 16))
            return str(int(raw, 10))
        if id_format == "hex":
            return format(int(raw, 10), "x") if from_response else format(int(raw, 16), "x")
    except ValueError:
        return raw
    return raw


# message_state TLV values (SMPP 3.4 section 5.2.28) as the stat words of the receipt text.
MESSAGE_STATE_STAT = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED",
    5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}


def denormalise_id(stored: str, id_format: str) -> str:
    """The id as the SMSC wrote it in submit_sm_resp, for query_sm (inverse of normalise_id).

    With ``decimal`` the SMSC's hex is rebuilt in upper case, without leading zeros it may have had.
    """
    try:
        if id_format == "decimal":
            return format(int(stored, 10), "X")
        if id_format == "hex":
            return str(int(stored, 16))
    except ValueError:
        pass
    return stored
