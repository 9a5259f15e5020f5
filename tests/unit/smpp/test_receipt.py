from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.smpp.receipt import (
    STATS,
    Receipt,
    candidate_ids,
    final_status,
    format_receipt_text,
    ids_match,
    parse_receipt_text,
)


def test_format_is_the_usual_text() -> None:
    text = format_receipt_text("2a000001", "DELIVRD", 0, datetime(2025, 3, 4, 5, 6), "2503040507",
                               "Your PIN is 1234, valid 5 minutes")
    assert text == ("id:2a000001 sub:001 dlvrd:001 submit date:2503040506 done date:2503040507 "
                    "stat:DELIVRD err:000 text:Your PIN is 1234, va")
    assert "dlvrd:000" in format_receipt_text("1", "UNDELIV", 1, "x", "y", "")


@given(st.text(alphabet="0123456789abcdefABCDEF-", min_size=1, max_size=30), st.sampled_from(STATS),
       st.integers(0, 999), st.text(max_size=30))
def test_parse_reads_what_format_wrote(message_id: str, stat: str, err: int, text: str) -> None:
    parsed = parse_receipt_text(format_receipt_text(message_id, stat, err, "2501010000", "2501010001", text))
    assert parsed == Receipt(message_id, stat, f"{err:03d}")


@pytest.mark.parametrize(("text", "expected"), [
    ("ID:ABC123 SUB:001 DLVRD:001 SUBMIT DATE:2501010000 DONE DATE:2501010001 STAT:DELIVRD ERR:000 TEXT:hi",
     Receipt("ABC123", "DELIVRD", "000")),
    ("id: 77  stat: undeliv  err: 34", Receipt("77", "UNDELIV", "34")),
    ("id:77 sub:001 dlvrd:000 stat:EXPIRED", Receipt("77", "EXPIRED", "")),
    ("id:9 stat:DELIVERED err:0", Receipt("9", "DELIVRD", "0")),  # long form
    # the message text itself says "stat:UNDELIV": only the header counts
    ("id:5 stat:DELIVRD err:000 text:stat:UNDELIV id:6", Receipt("5", "DELIVRD", "000")),
])
def test_parse_is_tolerant(text: str, expected: Receipt) -> None:
    assert parse_receipt_text(text) == expected


@pytest.mark.parametrize("text", ["hello there", "id:5 err:000", "stat:DELIVRD err:0", "text:id:5 stat:DELIVRD"])
def test_parse_returns_none_for_what_is_not_a_receipt(text: str) -> None:
    assert parse_receipt_text(text) is None


def test_final_status() -> None:
    assert final_status("DELIVRD") == "DELIVERED_TO_DEVICE"
    assert {final_status(s) for s in ("UNDELIV", "REJECTD", "DELETED", "UNKNOWN")} == {"UNDELIVERED"}
    assert final_status("EXPIRED") == "EXPIRED"
    assert final_status("ACCEPTD") is None and final_status("ENROUTE") is None
    assert final_status("delivrd") == "DELIVERED_TO_DEVICE"
    assert final_status("BOGUS") is None


def test_candidate_ids_cover_hex_and_decimal() -> None:
    # the simulator hands out 2a000001 and may print 704643073 in the receipt, or the reverse
    assert "2a000001" in candidate_ids("704643073") and "2A000001" in candidate_ids("704643073")
    assert "704643073" in candidate_ids("2a000001") and "704643073" in candidate_ids("2A000001")
    assert candidate_ids("12")[0] == "12" and set(candidate_ids("12")) == {"12", "c", "C", "18"}
    assert candidate_ids("abc-123") == ["abc-123"]
    assert "ff" in candidate_ids("00FF")  # leading zeros dropped too


@given(st.integers(0, 2**64))
def test_ids_match_either_way(value: int) -> None:
    assert ids_match(str(value), format(value, "x"))
    assert ids_match(format(value, "X"), str(value))
    assert ids_match(str(value), str(value))
    assert not ids_match(str(value), f"id-{value}")
