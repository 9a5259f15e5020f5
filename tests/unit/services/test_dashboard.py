"""The console dashboard's figures (services/admin/dashboard.py) on a real database, at a time the
test chooses: each message counted in the minute it was accepted, by what became of it; MOs by the
minute they came; totals over the hour, day and week; carriers' delivery and time to receipt; the
campaigns that answered most."""

from __future__ import annotations

from sqlalchemy import Engine

from mecm.domain.ids import first_id_at
from mecm.services.admin.dashboard import DAY_MS, HOUR_MS, MINUTE_MS, dashboard
from mecm.store import admin
from mecm.store.tables import messages, mo_messages
from tests.unit.store.test_queue import row

NOW = 1_800_000_000_000 + 30_000  # half a minute into a minute


def at(ms: int, n: int) -> int:
    """A message or MO id made at ``ms`` (the n-th then): ids begin with their time."""
    return first_id_at(ms) + n


def mo(ms: int, n: int, workspace_id: int, campaign: str = "") -> dict:
    return {"id": at(ms, n), "workspace_id": workspace_id, "sender": "13056708084", "code": "123", "text": "hi",
            "carrier": "sim", "keyword": "", "campaign_id": None, "campaign_name": campaign,
            "response_message_id": None, "received_at_ms": ms, "capped": False}


def sent(ms: int, n: int, workspace_id: int, status: str, carrier: str = "sim", receipt_after_ms: int = 0) -> dict:
    return row(at(ms, n), workspace_id=workspace_id, status=status, carrier=carrier, created_at_ms=ms,
               updated_at_ms=ms + receipt_after_ms)


def test_the_last_hour_minute_by_minute_and_the_totals(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "shop")["instance_id"]
        other = admin.create_workspace(c, "other")["instance_id"]
        this_minute, five_ago = NOW - 30_000, NOW - 5 * MINUTE_MS
        c.execute(messages.insert(), [
            sent(this_minute, 1, ws, "DELIVERED_TO_DEVICE", receipt_after_ms=2000),
            sent(this_minute, 2, ws, "DELIVERED_TO_DEVICE", carrier="claro", receipt_after_ms=4000),
            sent(this_minute, 3, ws, "UNDELIVERED"),
            sent(five_ago, 1, ws, "PENDING"),
            sent(five_ago, 2, ws, "NOT_SENT"),
            sent(NOW - 2 * HOUR_MS, 1, ws, "DELIVERED_TO_DEVICE", receipt_after_ms=1000),  # the day's, not the hour's
            sent(NOW - 3 * DAY_MS, 1, ws, "EXPIRED"),  # the week's
            sent(this_minute, 4, other, "DELIVERED_TO_DEVICE"),  # another workspace's
        ])
        c.execute(mo_messages.insert(), [mo(this_minute, 1, ws, "welcome"), mo(this_minute, 2, ws, "welcome"),
                                         mo(five_ago, 1, ws, "promo"), mo(five_ago, 2, ws),
                                         mo(this_minute, 3, other, "welcome")])
        board = dashboard(c, ws, NOW)
    assert len(board.minutes) == 60 and board.minutes[-1] == this_minute
    assert board.series["accepted"][-1] == 3 and board.series["accepted"][-6] == 2
    assert board.series["delivered"][-1] == 2 and board.series["failed"][-1] == 1
    assert board.series["failed"][-6] == 1  # NOT_SENT is final without delivery; PENDING is neither
    assert board.series["mos"][-1] == 2 and board.series["mos"][-6] == 2
    assert sum(board.series["accepted"]) == 5
    assert board.totals["hour"] == {"accepted": 5, "delivered": 2, "failed": 2, "mos": 4}
    assert board.totals["day"] == {"accepted": 6, "delivered": 3, "failed": 2, "mos": 4}
    assert board.totals["week"] == {"accepted": 7, "delivered": 3, "failed": 3, "mos": 4}
    sim, claro = board.carriers
    assert (sim["carrier"], sim["messages"], sim["delivered"]) == ("sim", 5, 2)
    assert sim["receipt_ms"] == 1500.0 and abs(sim["rate"] - 0.4) < 1e-9
    assert (claro["carrier"], claro["messages"], claro["delivered"], claro["receipt_ms"]) == ("claro", 1, 1, 4000.0)
    assert board.campaigns == [("welcome", 2), ("promo", 1)]


def test_a_quiet_workspace_has_zeros_not_gaps(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "quiet")["instance_id"]
        board = dashboard(c, ws, NOW)
    assert all(values == [0] * 60 for values in board.series.values())
    assert board.totals["week"] == {"accepted": 0, "delivered": 0, "failed": 0, "mos": 0}
    assert board.carriers == [] and board.campaigns == []
