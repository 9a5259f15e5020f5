"""The console dashboard's figures (services/admin/dashboard.py) on a real database, at a time the
test chooses: each message counted in the minute it was accepted, by what became of it; MOs by the
minute they came; totals over the hour, day and week; carriers' delivery and time to receipt; the
campaigns that answered most. Then the kept hours: the figures are the rows' own counts however much
is kept, a status changed after its hour was kept reaches them, and an hour is kept only once closed."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select, update

from mecm.domain.ids import first_id_at
from mecm.services.admin import dashboard as dashboards
from mecm.services.admin.dashboard import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    RECOUNT_AFTER_MS,
    RECOUNTS_PER_VIEW,
    WEEK_MS,
    dashboard,
)
from mecm.store import admin
from mecm.store import dashboard as store_dashboard
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


# -- kept hours -----------------------------------------------------------------------------------------

def view(engine: Engine, workspace_id: int, now_ms: int) -> dashboards.Dashboard:
    """What the console does at a view at ``now_ms``: count the hours due, show them with the rest,
    then keep them."""
    with engine.connect() as c:
        counted = dashboards.count_hours(c, workspace_id, now_ms)
        board = dashboard(c, workspace_id, now_ms, counted)
    if counted is not None:
        with engine.begin() as c:
            dashboards.keep_hours(c, counted)
    return board


def read(engine: Engine, workspace_id: int, now_ms: int) -> dashboards.Dashboard:
    with engine.connect() as c:
        return dashboard(c, workspace_id, now_ms)


def rows_say(engine: Engine, workspace_id: int, now_ms: int, span_ms: int) -> dict[str, int]:
    """The totals over [now - span, now), counted plainly from the rows."""
    since = now_ms - span_ms

    def count(table, at, *where) -> int:  # noqa: ANN001
        query = select(func.count()).select_from(table).where(table.c.workspace_id == workspace_id,
                                                               at >= since, at < now_ms, *where)
        with engine.connect() as c:
            return c.execute(query).scalar_one()

    sent_at = messages.c.created_at_ms
    return {"accepted": count(messages, sent_at),
            "delivered": count(messages, sent_at, messages.c.status == "DELIVERED_TO_DEVICE"),
            "failed": count(messages, sent_at, messages.c.status.in_(["UNDELIVERED", "EXPIRED", "NOT_SENT"])),
            "mos": count(mo_messages, mo_messages.c.received_at_ms)}


def kept_hours(engine: Engine, workspace_id: int) -> list[int]:
    with engine.connect() as c:
        return [h.hour_ms for h in store_dashboard.kept_hours(c, workspace_id, 0)]


def set_status(engine: Engine, message_id: int, status: str) -> None:
    with engine.begin() as c:
        c.execute(update(messages).where(messages.c.id == message_id).values(status=status))


def a_busy_week(c: Connection, workspace_id: int, n: int = 1) -> None:
    """Messages and MOs every 37 minutes over the last eight days, of two carriers and several statuses,
    a few still on their way (``n``: the ids' sequence numbers, one per workspace)."""
    statuses = ["DELIVERED_TO_DEVICE"] * 5 + ["UNDELIVERED", "EXPIRED", "NOT_SENT", "SENT_TO_CARRIER"]
    start = NOW - 8 * DAY_MS
    c.execute(messages.insert(), [
        sent(start + i * 37 * MINUTE_MS, n, workspace_id, statuses[i % len(statuses)],
             carrier="claro" if i % 3 else "sim", receipt_after_ms=1000 * (i % 7))
        for i in range(8 * DAY_MS // (37 * MINUTE_MS))])
    c.execute(mo_messages.insert(), [
        mo(start + i * 37 * MINUTE_MS + 5, n, workspace_id, ["", "welcome", "promo"][i % 3])
        for i in range(8 * DAY_MS // (37 * MINUTE_MS))])


def test_kept_hours_give_the_rows_own_figures(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "shop")["instance_id"]
        other = admin.create_workspace(c, "other")["instance_id"]
        a_busy_week(c, ws)
        a_busy_week(c, other, n=2)
        c.execute(messages.insert(), [  # either side of the day's start, in the same hour
            sent(NOW - DAY_MS + 10 * MINUTE_MS, 7, ws, "DELIVERED_TO_DEVICE"),
            sent(NOW - DAY_MS - 10 * MINUTE_MS, 7, ws, "UNDELIVERED")])
    from_rows_only = read(engine, ws, NOW)
    board = view(engine, ws, NOW)
    # Every hour of the week that closed an hour ago or more is kept, none older, none newer.
    kept = kept_hours(engine, ws)
    assert kept[0] == NOW - WEEK_MS - 30_000 + HOUR_MS and kept[-1] == NOW - 30_000 - 2 * HOUR_MS
    assert len(kept) == 7 * 24 - 2 and kept_hours(engine, other) == []
    assert board == from_rows_only
    assert board.totals["day"] == rows_say(engine, ws, NOW, DAY_MS)
    assert board.totals["week"] == rows_say(engine, ws, NOW, WEEK_MS)
    assert read(engine, ws, NOW) == board  # read again from what is kept: the same


def test_a_status_changed_after_its_hour_was_kept_reaches_the_figures(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "shop")["instance_id"]
        waiting = sent(NOW - 5 * HOUR_MS, 1, ws, "SENT_TO_CARRIER")
        c.execute(messages.insert(), [waiting, sent(NOW - 5 * HOUR_MS, 2, ws, "DELIVERED_TO_DEVICE"),
                                      sent(NOW - 9 * HOUR_MS, 1, ws, "DELIVERED_TO_DEVICE")])
    before = view(engine, ws, NOW)
    assert before.totals["day"] == {"accepted": 3, "delivered": 2, "failed": 0, "mos": 0}
    set_status(engine, waiting["id"], "EXPIRED")  # its validity ran out, hours after its hour was kept
    with engine.connect() as c:  # the hour was counted a moment ago: not counted again yet
        assert dashboards.count_hours(c, ws, NOW + 10_000) is None
    later = NOW + RECOUNT_AFTER_MS
    board = view(engine, ws, later)
    assert board.totals["day"] == {"accepted": 3, "delivered": 2, "failed": 1, "mos": 0}
    assert board.totals["week"] == rows_say(engine, ws, later, WEEK_MS)
    with engine.connect() as c:  # every message of every kept hour final now: nothing left to count
        assert dashboards.count_hours(c, ws, later) is None


def test_hours_with_messages_on_their_way_are_counted_again_a_few_at_a_view(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "shop")["instance_id"]
        waiting = [sent(NOW - (3 + i) * HOUR_MS, 1, ws, "SENT_TO_CARRIER") for i in range(RECOUNTS_PER_VIEW + 1)]
        c.execute(messages.insert(), waiting)
    view(engine, ws, NOW)
    for message in waiting:
        set_status(engine, message["id"], "DELIVERED_TO_DEVICE")  # the receipts come late
    first = view(engine, ws, NOW + RECOUNT_AFTER_MS)
    # RECOUNTS_PER_VIEW of the open hours counted again at this view; the other at the next.
    assert first.totals["day"]["delivered"] == RECOUNTS_PER_VIEW
    assert view(engine, ws, NOW + RECOUNT_AFTER_MS + 10_000).totals["day"]["delivered"] == RECOUNTS_PER_VIEW + 1


def test_an_hour_is_kept_once_it_has_been_over_for_an_hour(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "shop")["instance_id"]
        recent = sent(NOW - 50 * MINUTE_MS, 1, ws, "SENT_TO_CARRIER")  # in the hour that closed 30 s ago
        c.execute(messages.insert(), [recent])
        c.execute(mo_messages.insert(), [mo(NOW - 50 * MINUTE_MS, 2, ws, "welcome")])
    board = view(engine, ws, NOW)
    hour_of_recent = (NOW - 50 * MINUTE_MS) // HOUR_MS * HOUR_MS
    assert hour_of_recent not in kept_hours(engine, ws)  # over for less than an hour: counted from the rows
    assert board.totals["day"] == {"accepted": 1, "delivered": 0, "failed": 0, "mos": 1}
    set_status(engine, recent["id"], "DELIVERED_TO_DEVICE")
    an_hour_later = NOW + HOUR_MS
    board = view(engine, ws, an_hour_later)
    assert hour_of_recent in kept_hours(engine, ws)
    assert board.totals["day"] == {"accepted": 1, "delivered": 1, "failed": 0, "mos": 1}
    assert board.campaigns == [("welcome", 1)] and board.carriers[0]["delivered"] == 1


def test_kept_hours_older_than_a_week_are_forgotten_and_the_week_still_adds_up(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "shop")["instance_id"]
        a_busy_week(c, ws)
    view(engine, ws, NOW)
    three_days_later = NOW + 3 * DAY_MS
    board = view(engine, ws, three_days_later)
    assert min(kept_hours(engine, ws)) >= three_days_later - WEEK_MS
    assert board.totals["week"] == rows_say(engine, ws, three_days_later, WEEK_MS)
    assert board.totals["day"] == {"accepted": 0, "delivered": 0, "failed": 0, "mos": 0}
