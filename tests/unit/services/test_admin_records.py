"""The use cases of issue 13's last subjects on a real database: searching messages and MOs (filters,
pages, CSV), the dead letters of the outbox (replay, discard, audited), and the opt-out list's pages."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine, insert, select

from mecm.domain.ids import EPOCH_MS
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import messages, optouts, outbox, workspaces
from mecm.store.tables import audit_log, messages as messages_table, mo_messages, outbox as outbox_table

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def _id(at_ms: int, n: int) -> int:
    return ((at_ms - EPOCH_MS) << 22) | n


def _mt(ws: int, at_ms: int, n: int, **values: object) -> dict:
    row = {"id": _id(at_ms, n), "workspace_id": ws, "client_id": "c", "kind": "sms", "carrier": "sim",
           "sender": "55501", "recipient": "584141234567", "text": "hola", "flags": "", "data_coding": "0",
           "segments": 1, "priority": 1, "status": "DELIVERED_TO_DEVICE", "created_at_ms": at_ms,
           "updated_at_ms": at_ms, "next_attempt_at_ms": at_ms, "attempts": 1, "expires_at_ms": at_ms + 1}
    return {**row, **values}


@pytest.fixture()
def world(engine: Engine) -> tuple[Engine, int]:
    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "America/Caracas", actor="cli:test")["instance_id"]
        c.execute(insert(messages_table), [
            _mt(ws, T0 + i * 60_000, i, text=text, status=status, recipient=to)
            for i, (text, status, to) in enumerate([
                ("hola", "DELIVERED_TO_DEVICE", "584141234567"),
                ('=HYPERLINK("x"), "quoted"\nnext line ñandú 日本', "NOT_SENT", "584141234567"),
                ("Your code is ******", "DELIVERED_TO_DEVICE", "584149999999"),
                ("adiós", "PENDING", "584141234567"),
            ])])
        c.execute(insert(mo_messages), [
            {"id": _id(T0 + i * 1000, i), "workspace_id": ws, "sender": "584141234567", "code": "55501",
             "text": f"promo {i}", "carrier": "sim", "keyword": "PROMO", "campaign_id": 7 if i % 2 else None,
             "campaign_name": "promo" if i % 2 else "", "received_at_ms": T0 + i * 1000}
            for i in range(5)])
    return engine, ws


def test_filters_pages_newest_first_with_times_in_the_workspaces_zone(world) -> None:  # noqa: ANN001
    engine, ws = world
    with engine.begin() as c:
        found = messages.search(c, ws, "messages", {"number": "+58 414 1234567", "limit": "2"})
        assert [r["text"] for r in found["messages"]] == ["adiós", found["messages"][1]["text"]]
        assert found["messages"][0]["created_at"].endswith("-04:00") and isinstance(found["next"], str)
        rest = messages.search(c, ws, "messages", {"number": "584141234567", "before": found["next"]})
        assert [r["text"] for r in rest["messages"]] == ["hola"] and rest["next"] is None
        assert [r["status"] for r in messages.search(c, ws, "messages", {"status": "not_sent,pending"})
                ["messages"]] == ["PENDING", "NOT_SENT"]
        assert [r["text"] for r in messages.search(c, ws, "messages", {"text": "HOLA"})["messages"]] == ["hola"]
        # 2026-05-28T16:27:40-04:00 is T0 + 60 s: since is inclusive, until exclusive
        window = messages.search(c, ws, "messages", {"since": "2026-05-28T16:27:40", "until": "2026-05-28T16:29:40"})
        assert len(window["messages"]) == 2
        mos = messages.search(c, ws, "mos", {"campaign": "7"})["mos"]
        assert [r["text"] for r in mos] == ["promo 3", "promo 1"] and mos[0]["campaign_name"] == "promo"
        assert messages.search(c, ws, "mos", {"code": "55502"})["mos"] == []


@pytest.mark.parametrize(("kind", "params", "parameter"), [
    ("messages", {"since": "yesterday"}, "since"),
    ("messages", {"since": "2026-05-02", "until": "2026-05-01"}, "until"),
    ("messages", {"status": "LOST"}, "status"),
    ("messages", {"limit": "0"}, "limit"),
    ("messages", {"limit": "1001"}, "limit"),
    ("messages", {"number": "abc"}, "number"),
    ("messages", {"campaign": "x"}, "campaign"),
    ("messages", {"before": "-1"}, "before"),
    ("messages", {"colour": "red"}, "colour"),
    ("mos", {"status": "PENDING"}, "status"),  # MOs have no status
    ("mos", {"text": ""}, "text"),
])
def test_a_bad_filter_is_refused_naming_it(world, kind: str, params: dict, parameter: str) -> None:  # noqa: ANN001
    engine, ws = world
    with engine.begin() as c, pytest.raises(InvalidParameter) as refused:
        messages.search(c, ws, kind, params)
    assert refused.value.name == parameter


def test_the_csv_export_parses_back_quoted_and_guarded(world) -> None:  # noqa: ANN001
    engine, ws = world
    with engine.begin() as c:
        export = messages.prepare(c, ws, "messages", {}, export=True)
        page = export.page(c, None)
        with pytest.raises(InvalidParameter) as refused:
            messages.prepare(c, ws, "messages", {"limit": "5"}, export=True)
        assert refused.value.name == "limit"
    rows = list(csv.DictReader(io.StringIO(export.header() + page.lines)))
    assert page.rows == len(rows) == 4 and page.after is None
    assert rows[2]["text"] == '\'=HYPERLINK("x"), "quoted"\nnext line ñandú 日本'
    assert rows[2]["status"] == "NOT_SENT" and rows[2]["created_at"] == "2026-05-28T16:27:40.000-04:00"


def _dead(c, ws: int, n: int) -> list[int]:  # noqa: ANN001
    ids = []
    for _ in range(n):
        ids.append(c.execute(insert(outbox_table).values(
            workspace_id=ws, kind="webhook", target="https://example.com/h?token=s3cret", payload="{}",
            state="dead", attempts=4, next_attempt_at_ms=T0, last_error="HTTP 503",
            created_at_ms=T0, finished_at_ms=T0)).inserted_primary_key[0])
    return ids


def test_dead_jobs_are_replayed_and_discarded_with_an_audit_entry_each(world) -> None:  # noqa: ANN001
    engine, ws = world
    with engine.begin() as c:
        other = workspaces.create_workspace(c, "other", "UTC", actor="cli:test")["instance_id"]
        mine, theirs = _dead(c, ws, 3), _dead(c, other, 1)
        listed = outbox.list_jobs(c, "dead", workspace_id=ws)
        assert [j["id"] for j in listed] == mine[::-1] and listed[0]["last_error"] == "HTTP 503"
        with pytest.raises(Unknown) as refused:  # another workspace's job: nothing is done
            outbox.replay(c, [mine[0], theirs[0]], workspace_id=ws, actor="cli:t")
        assert refused.value.description == f"no dead job {theirs[0]} in workspace {ws}"
        assert outbox.replay(c, [mine[0]], workspace_id=ws, actor="cli:t") == 1
        assert outbox.discard(c, every_dead=True, workspace_id=ws, actor="cli:t") == 2
        states = dict(c.execute(select(outbox_table.c.id, outbox_table.c.state)).all())
        assert states == {mine[0]: "pending", theirs[0]: "dead"}
        entries = c.execute(select(audit_log.c.action, audit_log.c.workspace_id, audit_log.c.after)
                            .where(audit_log.c.action.like("webhook.%")).order_by(audit_log.c.id)).all()
        assert [(a, w) for a, w, _ in entries] == [("webhook.replay", ws), ("webhook.discard", ws)]
        assert all("s3cret" not in after for _, _, after in entries)
        with pytest.raises(InvalidParameter):
            outbox.replay(c, None, actor="cli:t")  # neither ids nor all


def test_the_opt_out_list_is_paged_and_filtered_and_changes_are_audited(world) -> None:  # noqa: ANN001
    engine, ws = world
    with engine.begin() as c:
        for number in ("584141234567", "584141234568", "584249999999"):
            assert optouts.set_opted_out(c, ws, number, opted_out=True, actor="cli:t")["changed"]
        assert not optouts.set_opted_out(c, ws, "584249999999", opted_out=True, actor="cli:t")["changed"]
        assert [r["subscriber"] for r in optouts.list_opt_outs(c, ws, number="41412345")] == \
            ["584141234567", "584141234568"]
        assert len(optouts.list_opt_outs(c, ws, limit=2)) == 2
        assert len(optouts.list_opt_outs(c, ws, limit=2, offset=2)) == 1
        with pytest.raises(InvalidParameter) as refused:
            optouts.list_opt_outs(c, ws, number="x1")
        assert refused.value.name == "number"
        optouts.set_opted_out(c, ws, "584249999999", opted_out=False, actor="cli:t")
        actions = c.execute(select(audit_log.c.action).where(audit_log.c.action.like("optout.%"))
                            .order_by(audit_log.c.id)).scalars().all()
        assert actions == ["optout.add"] * 3 + ["optout.remove"]


def test_an_export_reads_page_after_page_every_row_once_newest_first(world) -> None:  # noqa: ANN001
    engine, ws = world
    with engine.begin() as c:
        c.execute(insert(mo_messages), [
            {"id": _id(T0 + 10_000 + i, i % 4096), "workspace_id": ws, "sender": "584140000000", "code": "55501",
             "text": f"bulk {i}", "received_at_ms": T0 + 10_000 + i} for i in range(2 * messages.EXPORT_PAGE + 5)])
    with engine.begin() as c:
        export = messages.prepare(c, ws, "mos", {"number": "584140000000"}, export=True)
    text, before, pages = export.header(), None, 0
    while True:
        with engine.begin() as c:  # a read per page, as the API's stream and the CLI's --csv do
            page = export.page(c, before)
        text, pages = text + page.lines, pages + 1
        if page.after is None:
            break
        before = page.after
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert pages == 3
    assert [r["text"] for r in rows] == [f"bulk {i}" for i in reversed(range(2 * messages.EXPORT_PAGE + 5))]
