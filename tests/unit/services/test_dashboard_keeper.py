"""The dashboard keeper (services/dashboard_keeper.py): every workspace's closed hours are counted and
kept before anyone opens its dashboard, up to the hour of the newest traffic; an idle deployment gets
no commit from it."""

from __future__ import annotations

from sqlalchemy import Engine

from mecm.services.admin import dashboard as dashboards
from mecm.services.admin.dashboard import DAY_MS, HOUR_MS, dashboard
from mecm.services.dashboard_keeper import DashboardKeeper
from mecm.store import admin
from mecm.store.tables import messages, mo_messages
from mecm.store.writer import GroupCommitWriter
from tests.unit.services.test_dashboard import NOW, mo, sent


async def test_every_workspaces_hours_are_kept_before_a_view_and_idle_means_no_commit(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    clock = [NOW / 1000]
    try:
        keeper = DashboardKeeper(writer, clock=lambda: clock[0])
        assert await keeper.keep_once() == 0 and writer.commits == 0  # no traffic yet: nothing at all
        with engine.begin() as c:
            shop = admin.create_workspace(c, "shop")["instance_id"]
            club = admin.create_workspace(c, "club")["instance_id"]
            c.execute(messages.insert(), [sent(NOW - 3 * DAY_MS, 1, shop, "DELIVERED_TO_DEVICE"),
                                          sent(NOW - 5 * HOUR_MS, 1, shop, "UNDELIVERED")])
            c.execute(mo_messages.insert(), [mo(NOW - 5 * HOUR_MS, 2, club, "promo")])
        with engine.connect() as c:
            before = {ws: dashboard(c, ws, NOW).totals for ws in (shop, club)}

        assert await keeper.keep_once() > 0
        with engine.connect() as c:
            for ws in (shop, club):
                counted = dashboards.count_hours(c, ws, NOW)
                # a view now counts only the hours after the newest traffic's, which hold no rows
                assert counted is not None and min(h.hour_ms for h in counted.hours) > NOW - 5 * HOUR_MS
                assert counted.messages == [] and counted.mos == []
                assert dashboard(c, ws, NOW, counted).totals == before[ws]  # the same figures, from what is kept

        commits = writer.commits
        clock[0] += DAY_MS / 1000  # a day later, nothing new: nothing to count, no commit
        assert await keeper.keep_once() == 0 and writer.commits == commits
        clock[0] += 7 * DAY_MS / 1000  # the traffic is out of every week: not counted again either
        with engine.begin() as c:  # a view then forgets the hours out of its week
            counted = dashboards.count_hours(c, shop, int(clock[0] * 1000))
            assert counted is not None
            dashboards.keep_hours(c, counted)
        assert await keeper.keep_once() == 0 and writer.commits == commits
    finally:
        writer.close()
