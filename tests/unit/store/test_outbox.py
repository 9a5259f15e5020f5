"""The outbox on a real SQLite database: lease, retry, dead letters, replay, the status trigger."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from mecm.store import outbox
from mecm.store.tables import messages, outbox as outbox_table
from tests.unit.store.test_queue import row


def job(**overrides: object) -> dict:
    base = {"workspace_id": 1, "kind": "webhook", "target": "http://x", "payload": "{}", "reply_code": None,
            "reply_to": None, "mo_id": None, "state": "pending", "attempts": 0, "next_attempt_at_ms": 0,
            "last_error": None, "created_at_ms": 0, "finished_at_ms": None}
    base.update(overrides)
    return base


def test_a_claimed_job_is_leased_and_due_again_when_the_lease_ends(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(outbox_table.insert(), [job(), job(next_attempt_at_ms=5000)])
        (claimed,) = outbox.claim_due(c, now_ms=1000, lease_until_ms=2000, limit=10)
        assert claimed.attempts == 1
        assert outbox.claim_due(c, now_ms=1500, lease_until_ms=3000, limit=10) == []  # in hand
        assert [j.id for j in outbox.claim_due(c, now_ms=2000, lease_until_ms=3000, limit=10)] == [claimed.id]


def test_retry_dead_and_replay(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(outbox_table.insert(), [job(), job()])
        first, second = outbox.claim_due(c, now_ms=0, lease_until_ms=10, limit=10)
        outbox.retry_later(c, first.id, "HTTP 500", at_ms=500)
        outbox.mark_dead(c, second.id, "HTTP 503", now_ms=1)
        assert [j.id for j in outbox.claim_due(c, now_ms=500, lease_until_ms=600, limit=10)] == [first.id]
        outbox.mark_done(c, first.id, now_ms=550)
        assert [j["id"] for j in outbox.list_jobs(c, "dead")] == [second.id]
        assert outbox.replay(c, None, now_ms=700) == 1
        (again,) = outbox.claim_due(c, now_ms=700, lease_until_ms=800, limit=10)
        assert (again.id, again.attempts) == (second.id, 1)
        assert outbox.replay(c, [again.id], now_ms=800) == 0  # only dead jobs are replayed


def test_status_changes_are_queued_only_for_workspaces_with_a_callback(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(text("INSERT INTO workspaces (id, name, timezone, created_at_ms, status_callback_url)"
                       " VALUES (1, 'a', 'UTC', 0, 'http://cb'), (2, 'b', 'UTC', 0, NULL)"))
        c.execute(messages.insert(), [row(1), row(2, workspace_id=2)])
        c.execute(text("UPDATE messages SET status = 'SENDING'"))
        c.execute(text("UPDATE messages SET status = 'SENDING'"))  # no change: nothing queued
        rows = c.execute(text("SELECT kind, target, payload FROM outbox")).all()
        assert [(kind, target, json.loads(payload)["id"], json.loads(payload)["status"])
                for kind, target, payload in rows] == [("status", "http://cb", "1", "SENDING")]
