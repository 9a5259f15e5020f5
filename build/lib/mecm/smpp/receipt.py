"""The delivery-receipt text, and matching a receipt to the message it reports on.

SMPP 3.4 Appendix B gives the receipt text only as an example, so carriers vary: case, spacing,
missing fields, long stat words, and, the cause of most lost receipts, the message id printed in
another base than the submit_sm_resp gave it (hex in one, decimal in the other). Pure code.

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

STATS = ("DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE")

# Long forms some carriers print instead of the 7-letter ones.
_ALIASES = {
    "DELIVERED": "DELIVRD",
    "UNDELIVERABLE": "UNDELIV",
    "UNDELIVERED": "UNDELIV",
    "ACCEPTED": "ACCEPTD",
    "REJECTED": "REJECTD",
}

_FINAL = {
    "DELIVRD": "DELIVERED_TO_DEVICE",
    "UNDELIV": "UNDELIVERED",
    "REJECTD": "UNDELIVERED",
    "DELETED": "UNDELIVERED",
    "UNKNOWN": "UNDELIVERED",
    "EXPIRED": "EXPIRED",
}

# Everything after "text:" is the start of the original message and may itself contain "stat:".
_TEXT = re.compile(r"\btext\s*:", re.IGNORECASE)
_ID = re.compile(r"\bid\s*:\s*([^\s]+)", re.IGNORECASE)
_STAT = re.compile(r"\bstat\s*:\s*([A-Za-z_]+)", re.IGNORECASE)
_ERR = re.compile(r"\berr\s*:\s*([^\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str  # one of STATS, upper case (or what the carrier sent, upper-cased, if unknown)
    err: str  # as printed, "" when missing


def _date(value: datetime | str) -> str:
    return value.strftime("%y%m%d%H%M") if isinstance(value, datetime) else value


def format_receipt_text(
    message_id: str, stat: str, err: int | str, submit_date: datetime | str, done_date: datetime | str, text: str
) -> str:
    """The usual receipt text; `text` is cut to its first 20 characters as SMSCs do."""
    delivered = "001" if stat == "DELIVRD" else "000"
    err_text = f"{err:03d}" if isinstance(err, int) else err
    return (
        f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{_date(submit_date)} "
        f"done date:{_date(done_date)} stat:{stat} err:{err_text} text:{text[:20]}"
    )


def parse_receipt_text(text: str) -> Receipt | None:
    """The id, stat and err of a receipt text; None when it has no id or no stat (not a receipt)."""
    head = _TEXT.split(text, maxsplit=1)[0]
    found_id = _ID.search(head)
    found_stat = _STAT.search(head)
    if not found_id or not found_stat:
        return None
    stat = found_stat.group(1).upper()
    found_err = _ERR.search(head)
    return Receipt(found_id.group(1), _ALIASES.get(stat, stat), found_err.group(1) if found_err else "")


def final_status(stat: str) -> str | None:
    """The mecm final status a receipt stat means, or None while the message is not final
    (ACCEPTD, ENROUTE) or the stat is not one we know."""
    stat = stat.upper()
    return _FINAL.get(_ALIASES.get(stat, stat))


_HEX = re.compile(r"[0-9A-Fa-f]+")


def candidate_ids(receipt_id: str) -> list[str]:
    """The forms under which the submit_sm_resp id of this receipt's message may have been stored.

    As given first; when all decimal digits, its hex form (lower and upper case, no leading
    zeros); when hex, its decimal form. "12" is both, so it yields "12", "c", "C" and "18": a wrong
    candidate only matches if the carrier gave out both ids, which one carrier does not.
    """
    out = [receipt_id]
    if receipt_id.isdecimal() and receipt_id.isascii():
        value = int(receipt_id)
        out += [str(value), format(value, "x"), format(value, "X")]
    if _HEX.fullmatch(receipt_id):
        value = int(receipt_id, 16)
        out += [receipt_id.lower(), receipt_id.upper(), format(value, "x"), format(value, "X"), str(value)]
    return list(dict.fromkeys(out))


def ids_match(receipt_id: str, stored_id: str) -> bool:
    """Whether a receipt's id refers to the message stored under `stored_id`."""
    return stored_id in candidate_ids(receipt_id)
