from __future__ import annotations

import pytest

from mecm.cli.output import without_password


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://mecm:s3cret@127.0.0.1:5432/mecm", "postgresql://mecm:***@127.0.0.1:5432/mecm"),
    ("postgresql://mecm@127.0.0.1/mecm", "postgresql://mecm@127.0.0.1/mecm"),
    ("sqlite:///./var/mecm.db", "sqlite:///./var/mecm.db"),
    ("postgresql:/s3cret", "(a database URL that cannot be read)"),
])
def test_a_database_url_is_printed_without_its_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


# -- tables ---------------------------------------------------------------------------------------

from mecm.cli.output import cell, fields_text, know_time_zones, message_text, render_table  # noqa: E402

KEY = "777400ECD65C4FCFAABE63C5CC20C2FE"
CAMPAIGN = {"id": 12, "workspace_id": 3, "code": "19893653744", "name": "welcome", "keyword": "^OGANGI",
            "reply": "Thanks for writing to OGANGI! Reply STOP to opt out. " * 3, "priority": 10, "is_active": True,
            "created_at_ms": 1_796_186_617_898, "match_mode": "regex", "case_sensitive": False,
            "starts_at_ms": None, "ends_at_ms": None, "cap_count": 5, "cap_window_s": 3600, "quiet_hours": None,
            "actions": None, "archived_at_ms": None, "codes": ["19893653744", "19893653745"], "state": "paused"}


def test_a_table_fits_the_terminal_and_never_cuts_an_identifier() -> None:
    rows = [{"workspace_id": 3, "public_key": KEY, "state": "active", "created_at": "2026-12-02T00:43:37.902-04:00",
             "expires_at": None, "last_used_at": "2026-12-02T00:50:00.000-04:00", "revoked_at": None}]
    for width in (60, 80, 120):
        text = render_table("keys", rows, "Keys", width=width)
        assert max(len(line) for line in text.splitlines()) <= width
        assert KEY in text  # whole, never "777400EC…"
    assert "more columns with --wide" in render_table("keys", rows, "Keys", width=80)


def test_campaigns_show_their_main_columns_and_wide_shows_every_one_whole() -> None:
    narrow = render_table("campaigns", [CAMPAIGN], "Campaigns", width=120)
    header = narrow.splitlines()[2]
    assert all(name in header for name in ("id", "workspace", "name", "match", "keyword", "codes", "state", "reply"))
    assert "cap window" not in narrow and "11 more columns with --wide" in narrow
    assert "19893653744, 19893653745" in narrow and "paused" in narrow
    wide = render_table("campaigns", [CAMPAIGN], "Campaigns", width=80, wide=True)
    assert "cap window s" in wide and CAMPAIGN["reply"].strip() in wide  # nothing cut, however wide
    assert "--wide" not in wide


@pytest.fixture(autouse=True)
def workspace_3_in_tokyo() -> None:
    know_time_zones({3: "Asia/Tokyo"})  # as cli/transaction.py does after reading the workspaces


def test_times_are_iso_8601_in_the_workspace_zone_or_utc() -> None:
    assert cell("created_at_ms", 1_796_186_617_898, "Asia/Tokyo") == "2026-12-02T13:43:37+09:00"
    assert cell("created_at_ms", 1_796_186_617_898, None) == "2026-12-02T04:43:37+00:00"
    assert "2026-12-02T13:43:37+09:00" in render_table("campaigns", [CAMPAIGN], "Campaigns", wide=True)
    carrier = {"id": 1, "name": "movistar", "connector": "simulator", "prefixes": "", "settings": {},
               "is_active": True, "created_at_ms": 1_796_186_617_880}
    assert "2026-12-02T04:43:37+00:00" in render_table("carriers", [carrier], "Carriers", width=120)
    # rows that do not name their workspace take the one the command was about
    ledger = [{"id": 1, "kind": "top_up", "amount": "5", "created_at_ms": 1_796_186_617_880}]
    assert "+09:00" in render_table("ledger", ledger, "Ledger", workspace=3, width=120)


def test_a_single_result_reads_as_aligned_fields_or_a_sentence() -> None:
    text = fields_text({"instance_id": 3, "pin_in_response": True, "created_at_ms": 1_796_186_617_898})
    assert text.splitlines() == ["workspace       : 3", "pin in response : yes",
                                 "created         : 2026-12-02T13:43:37+09:00"]
    message = {"id": 42, "carrier": "movistar", "from_": "1989", "to": "13056708084", "text": "hi", "status": "PENDING",
               "status_description": "Queued for delivery", "encoding": "GSM", "date": "2026-12-02T00:48:43.674-04:00",
               "timezone": "America/Caracas", "client_id": "", "segments": 1, "data_coding": "0", "flags": ""}
    assert message_text(message).splitlines()[0] == \
        "message 42 to 13056708084 from 1989 via movistar: PENDING (Queued for delivery)"
    assert "{" not in message_text(message)  # not a dict's repr
