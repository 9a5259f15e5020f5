"""A grouped commit's debits (store/credit.py) on a real database: which sends of a batch the balance
covers, what the ledger says of them (a debit row per workspace per transaction, each message keeping
its price), and refunds of what never reached a carrier."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import Connection, Engine, text

from mecm.errors import RateLimited
from mecm.store import admin, credit
from mecm.store.tables import pins
from tests.unit.store.test_queue import row


def priced(i: int, workspace_id: int, price: int, **overrides: object) -> dict:
    return row(i, workspace_id=workspace_id, price=price, created_at_ms=50 + i, **overrides)


def ledger(c: Connection) -> list[tuple]:
    return [tuple(r) for r in c.execute(text(
        "SELECT workspace_id, message_id, kind, amount, balance_after, reason, created_at_ms, messages"
        " FROM credit_ledger"
        " WHERE kind <> 'top-up' ORDER BY id"))]


def stored(c: Connection) -> list[int]:
    return [r[0] for r in c.execute(text("SELECT id FROM messages ORDER BY id"))]


def test_a_batch_takes_each_workspaces_sends_in_order_while_its_balance_covers_them(engine: Engine) -> None:
    with engine.begin() as c:
        rich, poor, none = (admin.create_workspace(c, name)["instance_id"] for name in ("rich", "poor", "none"))
        credit.top_up(c, rich, 100, None, now_ms=1)
        credit.top_up(c, poor, 25, None, now_ms=1)
        pin_row = {"message_id": 5, "workspace_id": rich, "recipient": "13056708084", "pin_hash": "h",
                   "expires_at_ms": 10**13, "attempts": 0}
        refusal = RateLimited(3, "pins of this number")
        batch: list[credit.Charged] = [
            priced(1, poor, 10),
            priced(2, rich, 30),
            priced(3, poor, 20),  # 10 left: not covered
            priced(4, poor, 5),  # covered: each send is taken while the balance covers it
            credit.Charge(priced(5, rich, 40, kind="pin", sealed_text="s"), ((pins, pin_row),)),
            credit.Charge(priced(6, rich, 1), check=lambda _c: refusal),
            priced(7, none, 1),  # no account: no credit
        ]
        assert credit.store_charged(c, batch) == [None, None, credit.REFUSED, None, None, refusal, credit.REFUSED]
        assert stored(c) == [1, 2, 4, 5]
        assert c.execute(text("SELECT message_id FROM pins")).scalars().all() == [5]
        assert (credit.balance_of(c, rich), credit.balance_of(c, poor), credit.balance_of(c, none)) == (30, 10, 0)
        # One debit row per workspace for its stored sends, in workspace order, at the batch's newest
        # time; the message is named when there is one.
        assert ledger(c) == [(rich, None, "debit", -70, 30, None, 57, 2), (poor, None, "debit", -15, 10, None, 57, 2)]
        assert credit.store_charged(c, [priced(8, poor, 4)]) == [None]
        assert ledger(c)[-1] == (poor, 8, "debit", -4, 6, None, 58, 1)
        assert [r[0] for r in c.execute(text("SELECT price FROM messages ORDER BY id"))] == [10, 30, 5, 40, 4]


def test_a_batch_whose_total_the_balance_covers_exactly_is_taken_whole_and_one_short_in_order(engine: Engine) -> None:
    with engine.begin() as c:
        exact, short = (admin.create_workspace(c, name)["instance_id"] for name in ("exact", "short"))
        credit.top_up(c, exact, 50, None, now_ms=1)
        credit.top_up(c, short, 49, None, now_ms=1)
        batch = [priced(1, exact, 20), priced(2, short, 20), priced(3, exact, 30), priced(4, short, 30)]
        assert credit.store_charged(c, batch) == [None, None, None, credit.REFUSED]
        assert stored(c) == [1, 2, 3]
        assert (credit.balance_of(c, exact), credit.balance_of(c, short)) == (0, 29)
        assert ledger(c) == [(exact, None, "debit", -50, 0, None, 54, 2), (short, 2, "debit", -20, 29, None, 54, 1)]


def test_a_message_that_never_reached_a_carrier_is_refunded_once_with_a_ledger_row(engine: Engine) -> None:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        credit.top_up(c, ws, 100, None, now_ms=1)
        assert credit.store_charged(c, [priced(1, ws, 10), priced(2, ws, 20), priced(3, ws, 30)]) == [None] * 3
        c.execute(text("UPDATE messages SET status = 'NOT_SENT'"))
        c.execute(text("UPDATE messages SET carrier_message_id = 'x' WHERE id = 2"))  # a carrier took it
        assert credit.refund_unsent(c, [1, 2, 3], now_ms=99) == 2
        assert credit.refund_unsent(c, [1, 2, 3], now_ms=100) == 0
        assert credit.balance_of(c, ws) == 80
        assert ledger(c) == [(ws, None, "debit", -60, 40, None, 53, 3),
                             (ws, 1, "refund", 10, 50, "never reached a carrier", 99, 1),
                             (ws, 3, "refund", 30, 80, "never reached a carrier", 99, 1)]


def test_refunds_of_more_messages_than_one_statement_holds_keep_every_ledger_row_in_order(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credit, "_LEDGER_ROWS_PER_STATEMENT", 3)  # SQLite splits its VALUES lists
    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        credit.top_up(c, ws, 1000, None, now_ms=1)
        assert credit.store_charged(c, [priced(i, ws, i) for i in range(1, 11)]) == [None] * 10
        c.execute(text("UPDATE messages SET status = 'NOT_SENT'"))
        assert credit.refund_unsent(c, list(range(1, 11)), now_ms=99) == 10
        assert [(r[1], r[3], r[4]) for r in ledger(c)] == [(None, -55, 945)] + [
            (i, i, 945 + i * (i + 1) // 2) for i in range(1, 11)]


def test_priced_sends_through_the_group_commit_writer_get_what_the_balance_covers(engine: Engine) -> None:
    """The writer prepares a run's message insert before its transaction: all covered, or not."""
    from mecm.store.writer import GroupCommitWriter, Together

    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        credit.top_up(c, ws, 50, None, now_ms=1)
    writer = GroupCommitWriter(engine)

    async def send_all(first: int, count: int) -> list:
        return await asyncio.gather(*(writer.write(Together(credit.STORE_CHARGED, priced(i, ws, 10)))
                                      for i in range(first, first + count)))

    try:
        assert asyncio.run(send_all(1, 3)) == [None] * 3
        assert Counter(asyncio.run(send_all(4, 4))) == Counter({None: 2, credit.REFUSED: 2})
    finally:
        writer.close()
    with engine.connect() as c:
        assert len(stored(c)) == 5
        assert credit.balance_of(c, ws) == 0
        # Each debit row pays for the sends it counts, and they are the messages stored.
        assert sum(r[7] for r in ledger(c)) == len(stored(c))
        assert sum(r[3] for r in ledger(c)) == -10 * len(stored(c))
