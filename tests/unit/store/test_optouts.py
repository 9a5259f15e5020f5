"""Opt-outs on a real SQLite database: state and history, the dispatcher's guard, admin settings."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, text

from mecm.domain.optout import Intent
from mecm.errors import InvalidParameter
from mecm.services.optouts import OptOutView
from mecm.store import admin, optouts, queue
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter
from tests.unit.store.test_queue import row, status_of

SUBSCRIBER = "584141234567"


def test_opt_out_and_in_change_state_once_and_keep_the_history(engine: Engine) -> None:
    with engine.begin() as c:
        assert optouts.opt_out(c, 1, SUBSCRIBER, code="123", via="keyword", now_ms=1, mo_id=7)
        assert not optouts.opt_out(c, 1, SUBSCRIBER, code="123", via="keyword", now_ms=2)  # already
        assert [tuple(r) for r in c.execute(text("SELECT workspace_id, subscriber FROM opt_outs"))] == \
            [(1, SUBSCRIBER)]
        assert optouts.opt_in(c, 1, SUBSCRIBER, code="123", via="keyword", now_ms=3)
        assert not optouts.opt_in(c, 1, SUBSCRIBER, code="123", via="keyword", now_ms=4)  # was not out
        history = c.execute(text("SELECT seq, opted_out, mo_id FROM opt_out_events ORDER BY seq")).all()
        assert [tuple(r) for r in history] == [(1, 1, 7), (2, 0, None)]


def test_claim_refuses_messages_to_opted_out_subscribers_but_not_the_confirmations(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(1, recipient=SUBSCRIBER), row(2, recipient=SUBSCRIBER, kind="confirm"),
                                      row(3), row(4, recipient=SUBSCRIBER, workspace_id=2)])
        optouts.opt_out(c, 1, SUBSCRIBER, code="123", via="keyword", now_ms=1)
        claimed = queue.claim_pending(c, now_ms=1000, limit=10)
        assert [m.id for m in claimed] == [2, 3, 4]  # 4: opted out of workspace 1 only
        assert status_of(c, 1) == "NOT_SENT"
        detail = c.execute(text("SELECT status_detail FROM messages WHERE id = 1")).scalar_one()
        assert detail == "Subscriber opted out"


def test_claim_goes_on_past_a_batch_that_was_all_refused(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(messages.insert(), [row(i, recipient=SUBSCRIBER) for i in range(1, 4)] + [row(9)])
        optouts.opt_out(c, 1, SUBSCRIBER, code="123", via="keyword", now_ms=1)
        assert [m.id for m in queue.claim_pending(c, now_ms=1000, limit=2)] == [9]


def test_the_api_view_follows_the_events(engine: Engine) -> None:
    writer = GroupCommitWriter(engine)
    view = OptOutView()
    try:
        with engine.begin() as c:
            optouts.opt_out(c, 1, SUBSCRIBER, code="", via="admin", now_ms=1)
        asyncio.run(view.refresh(writer))
        assert view.is_opted_out(1, SUBSCRIBER) and len(view) == 1
        with engine.begin() as c:
            optouts.opt_in(c, 1, SUBSCRIBER, code="", via="admin", now_ms=2)
            optouts.opt_out(c, 1, "584147654321", code="", via="admin", now_ms=3)
        asyncio.run(view.refresh(writer))
        assert not view.is_opted_out(1, SUBSCRIBER) and view.is_opted_out(1, "584147654321")
    finally:
        writer.close()


@pytest.fixture()
def workspace(engine: Engine) -> int:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        admin.add_code(c, ws, "12345")
        other = admin.create_workspace(c, "other")["instance_id"]
        admin.add_code(c, other, "99999")
    return ws


def settings_rows(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT COUNT(*) FROM opt_out_settings")).scalar_one()


@pytest.mark.parametrize(("code", "keywords", "texts", "param", "reason"), [
    ("99999", {Intent.STOP: "FIN"}, {}, "code", "not assigned to workspace"),
    ("", {Intent.START: "STOP"}, {}, "start-keywords", "also a stop keyword"),
    ("", {Intent.STOP: " , "}, {}, "stop-keywords", "no keyword given"),
    ("", {}, {Intent.HELP: "x" * 1601}, "help-text", "segments"),
    ("", {}, {Intent.STOP: "  "}, "stop-text", "empty"),
    ("", {}, {}, "keywords", "nothing to set"),
])
def test_bad_settings_are_refused_and_nothing_is_written(engine: Engine, workspace: int, code: str, keywords: dict,
                                                         texts: dict, param: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as raised, engine.begin() as c:
        optouts.configure(c, workspace, code, keywords, texts)
    assert raised.value.name == param and reason in raised.value.reason
    assert settings_rows(engine) == 0


def test_a_code_setting_conflicting_with_the_workspace_setting_is_refused(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        optouts.configure(c, workspace, "", {Intent.START: "VOLVER"}, {})
    with pytest.raises(InvalidParameter, match="VOLVER"), engine.begin() as c:
        optouts.configure(c, workspace, "12345", {Intent.STOP: "VOLVER"}, {})
    assert settings_rows(engine) == 1


def test_a_code_inherits_what_it_does_not_set(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        optouts.configure(c, workspace, "", {}, {Intent.HELP: "Call 0800"})
        shown = optouts.configure(c, workspace, "12345", {Intent.STOP: "FIN"}, {})
    assert shown["stop_keywords"] == ["FIN"]
    assert shown["help_text"] == {"any": "Call 0800"}
    assert "AYUDA" in shown["help_keywords"]
