"""Migration 0013 masks the PINs that PIN messages stored before it hold in clear, except in those
still waiting to be sent (their submit needs the text)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from mecm.store import engine as store_engine
from tests.unit.store.test_queue import row


def test_pins_sent_before_the_upgrade_are_masked(engine: Engine) -> None:
    config = store_engine.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012")
    names = ["id", "workspace_id", "client_id", "kind", "carrier", "sender", "recipient", "text", "flags",
             "data_coding", "segments", "priority", "status", "created_at_ms", "updated_at_ms",
             "next_attempt_at_ms", "attempts", "expires_at_ms"]
    insert = text(f"INSERT INTO messages ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})")
    rows = [row(1, kind="pin", text="Your code is 965850.", status="DELIVERED_TO_DEVICE"),
            row(2, kind="pin", text="0123 is your code, valid 10 min", status="SENT_TO_CARRIER"),
            row(3, kind="pin", text="Your code is 4455", status="PENDING"),
            row(4, kind="sms", text="Order 123456 shipped", status="DELIVERED_TO_DEVICE")]
    with engine.begin() as c:
        for r in rows:
            c.execute(insert, {n: r[n] for n in names})
    store_engine.upgrade(engine)
    with engine.connect() as c:
        texts = dict(c.execute(text("SELECT id, text FROM messages ORDER BY id")).all())
    assert texts == {1: "Your code is ******.", 2: "**** is your code, valid 10 min",
                     3: "Your code is 4455", 4: "Order 123456 shipped"}
