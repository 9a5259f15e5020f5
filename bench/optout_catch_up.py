"""What a send pays for its opt-out view to be current (issue 13): ``python -m bench.optout_catch_up``.

In one process, on a fresh database of each kind: the time of ``OptOutView.catch_up`` when nothing
changed, called by one sender in turn (the latency it adds to a send) and by 64 senders at once (as
``make bench``'s wrk connections: how many database reads the shared refreshes make), next to the
time of storing one message through the group-commit writer (a send's own commit), measured the
same way. On SQLite the check is a ``pread`` of the signal file; on PostgreSQL a read of the events
after the view's last, shared by the senders that come together, reads at least 5 ms apart.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from mecm.services.optouts import PG_CATCH_UP_INTERVAL_S, OptOutView
from mecm.store import engine as store_engine
from mecm.store import optouts
from mecm.store.optout_signal import OptOutSignal
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter, Insert
from bench import postgres

SENDERS = 64
ROUNDS = 50
ALONE = 400


def message(i: int) -> dict:
    return {"id": i, "workspace_id": 1, "client_id": "k", "kind": "sms", "carrier": "c", "sender": "123",
            "recipient": "584141234567", "text": "x", "flags": "", "data_coding": 0, "segments": 1,
            "priority": 1, "status": "PENDING", "status_detail": None, "created_at_ms": 0, "updated_at_ms": 0,
            "next_attempt_at_ms": 0, "attempts": 0, "expires_at_ms": 1, "carrier_message_id": None, "mo_id": None}


async def measure(url: str, signal: OptOutSignal | None) -> dict:
    engine = store_engine.make_engine(url, create=True)
    store_engine.upgrade(engine, create=True)
    writer = GroupCommitWriter(engine)
    view = OptOutView(signal, min_interval_s=0.0 if signal is not None else PG_CATCH_UP_INTERVAL_S)
    reads = 0
    events_after = optouts.events_after

    def counted(connection, seq, limit=10_000):  # noqa: ANN001, ANN202
        nonlocal reads
        reads += 1
        return events_after(connection, seq, limit)

    optouts.events_after = counted
    try:
        await view.refresh(writer)
        start = time.perf_counter()
        for _ in range(ALONE):
            await view.catch_up(writer)
        alone_us = (time.perf_counter() - start) / ALONE * 1e6

        async def sender(n: int) -> None:
            for _ in range(ROUNDS):
                await view.catch_up(writer)

        reads = 0
        start = time.perf_counter()
        await asyncio.gather(*(sender(n) for n in range(SENDERS)))
        together_us = (time.perf_counter() - start) / (SENDERS * ROUNDS) * 1e6
        together_reads = reads

        start = time.perf_counter()
        for i in range(ALONE // 10):
            await writer.write(Insert(messages, [message(i + 1)]))
        commit_alone_us = (time.perf_counter() - start) / (ALONE // 10) * 1e6

        async def storer(n: int) -> None:
            for r in range(ROUNDS):
                await writer.write(Insert(messages, [message(10_000 + n * ROUNDS + r)]))

        start = time.perf_counter()
        await asyncio.gather(*(storer(n) for n in range(SENDERS)))
        commit_together_us = (time.perf_counter() - start) / (SENDERS * ROUNDS) * 1e6
    finally:
        optouts.events_after = events_after
        writer.close()
        engine.dispose()
    return {"check_alone_us": alone_us, "check_together_us": together_us,
            "reads_per_send_together": together_reads / (SENDERS * ROUNDS),
            "commit_alone_us": commit_alone_us, "commit_together_us": commit_together_us}


def report(name: str, r: dict) -> None:
    print(f"{name:10s} catch_up alone {r['check_alone_us']:8.1f} us (a send's commit alone {r['commit_alone_us']:8.1f} us); "
          f"{SENDERS} at once {r['check_together_us']:6.1f} us a send, {r['reads_per_send_together']:.3f} reads a send "
          f"(commit {r['commit_together_us']:6.1f} us a send)")


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        database = Path(work) / "mecm.db"
        url = f"sqlite:///{database}"
        store_engine.upgrade(store_engine.make_engine(url, create=True), create=True)
        report("sqlite", asyncio.run(measure(url, OptOutSignal(database))))
    name = "mecm_bench_optouts"
    try:
        report("postgresql", asyncio.run(measure(postgres.fresh_database(name), None)))
    finally:
        postgres.drop_database(name)


if __name__ == "__main__":
    main()
