"""What the guards cost a send in CPU (issue 12: the core scenario with rate limits and a price list
must accept within 5 % of the plain one), measured in seconds of CPU, not wall time, so that a
busy machine moves the figures less than it moves ``make bench``'s rates. About 30 s, and a
minute more for requests:

    PYTHONPATH=src python -m bench.guard_cpu [limiter] [writer] [sends] [requests]

- limiter: ``RateLimiter.admit`` with no limit, and with a key's and its workspace's limit (two
  buckets, as the guarded bench run), per call;
- writer: the group-commit writer's thread, planning and applying a batch of BATCH plain sends
  against BATCH priced ones (SQLite), per message; and the part of it inside the transaction,
  which holds SQLite's write lock (the lock, near 80 % busy, bounds the core scenario);
- sends: the same stores through a running writer from BATCH concurrent senders (both threads);
- requests: whole sendSMS requests through the OGANGI endpoint (api/ogangi.py) of two runtimes in
  this process, each on its own SQLite database made as bench/guard_ratio.py makes them (one plain,
  one with a price list and a key's and its workspace's sends limit), CONNECTIONS at a time, no
  HTTP server and no delivery: the API process's own work per send, the CPU per request of its
  event loop's thread and of its writer's thread, each read from that thread's own clock.

Plain and priced runs alternate round by round, and the priced figure is also given as the median
of paired differences. ``GUARD_CPU_BATCH`` sets BATCH (32); make bench's core scenario commits 19
sends at a time on average, many fewer than 8 (its ledger's debit rows, 2026-12), and a batch's
debit costs about the same whatever its size. ``GUARD_CPU_DB=postgresql`` runs writer and sends on a scratch database of
the local PostgreSQL (``BENCH_POSTGRES_URL``), dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from mecm.config import Settings
from mecm.domain.ratelimit import Limit
from mecm.services.catalog import Catalog
from mecm.services.ratelimits import RateLimiter

HIGH = Limit(1_000_000.0, 1_000_000)  # as bench/common.py's HIGH_LIMIT: never refusing
PRICE = 7_500  # 0.0075 a segment, as bench/core.py's price list
BATCH = int(os.environ.get("GUARD_CPU_BATCH", "32"))  # sends per grouped commit (make bench: 19 on average)
ROUNDS = 30
PER_ROUND = 15


def show(label: str, samples: list[float]) -> None:
    low, _, high = statistics.quantiles(samples, n=4)
    print(f"  {label:36} {statistics.median(samples):7.2f} us  (quartiles {low:.2f} .. {high:.2f})")


def show_pair(plain: list[float], priced: list[float]) -> None:
    show("plain", plain)
    show("priced", priced)
    show("priced - plain (paired)", [b - a for a, b in zip(plain, priced)])


def run_to_end(coroutine: Coroutine[Any, Any, None]) -> None:
    """A coroutine that never suspends, run without an event loop (what admit is on one process)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise RuntimeError("the coroutine suspended")


def bench_limiter(calls: int = 100_000) -> None:
    print("RateLimiter.admit, CPU per call")
    for label, limits, settings in (
        ("no limit", {}, Settings(rate_sends_per_s=0)),
        ("key and workspace limits", {(1, "KEY", "sends"): HIGH},
         Settings(rate_sends_per_s=HIGH.rate_per_s, rate_sends_burst=HIGH.burst)),
    ):
        catalog = Catalog(rate_limits=limits)
        admit = RateLimiter(settings, lambda catalog=catalog: catalog).admit  # type: ignore[misc]
        samples = []
        for _ in range(7):
            start = time.thread_time()
            for _ in range(calls):
                run_to_end(admit(1, "KEY", "sends"))
            samples.append((time.thread_time() - start) / calls * 1e6)
        show(label, samples)


def scratch_database(work: Path) -> tuple[Any, int]:
    """A migrated database with one workspace and a balance no run can spend; (engine, workspace)."""
    from mecm.store import engine as store_engine
    from mecm.store.admin import create_workspace
    from mecm.store.credit import top_up

    url = f"sqlite:///{work / 'mecm.db'}"
    if os.environ.get("GUARD_CPU_DB") == "postgresql":
        import atexit

        import psycopg

        admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
        name = f"mecm_guard_cpu_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")

        def drop() -> None:
            with psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        atexit.register(drop)
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = store_engine.make_engine(url, create=True)
    store_engine.upgrade(engine, create=True)
    with engine.begin() as connection:
        workspace_id = create_workspace(connection, "guard-cpu")["instance_id"]
        top_up(connection, workspace_id, 10**15, None, int(time.time() * 1000))
    return engine, workspace_id


def message_rows(workspace_id: int) -> Callable[[], dict[str, Any]]:
    """A maker of message rows as SendingService.prepare builds them, each with a new id."""
    now = int(time.time() * 1000)
    template = {
        "id": 0, "workspace_id": workspace_id, "client_id": "c1", "kind": "sms", "carrier": "movistar",
        "sender": "1234", "recipient": "13055551234", "text": "Benchmark message: your order has shipped",
        "flags": "", "data_coding": "0", "segments": 1, "priority": 1, "status": "PENDING",
        "status_detail": None, "created_at_ms": now, "updated_at_ms": now, "next_attempt_at_ms": now,
        "attempts": 0, "expires_at_ms": now + 3_600_000, "carrier_message_id": None, "mo_id": None,
    }
    next_id = [time.time_ns() // 1000]

    def row() -> dict[str, Any]:
        next_id[0] += 1
        return {**template, "id": next_id[0]}

    return row


def bench_writer(engine: Any, workspace_id: int) -> None:
    from mecm.services.charging import _charged_item
    from mecm.store.credit import STORE_CHARGED
    from mecm.store.tables import messages
    from mecm.store.writer import GroupCommitWriter, Insert, Together

    row = message_rows(workspace_id)
    variants = {
        "plain": lambda: [Insert(messages, [row()]) for _ in range(BATCH)],
        "priced": lambda: [Together(STORE_CHARGED, _charged_item(row(), PRICE, (), None)) for _ in range(BATCH)],
    }
    total: dict[str, list[float]] = {name: [] for name in variants}
    in_transaction: dict[str, list[float]] = {name: [] for name in variants}
    with engine.connect() as connection:
        dialect = connection.dialect.name
        for round_ in range(ROUNDS):
            for name in sorted(variants, reverse=round_ % 2 == 1):
                spent = inside = 0.0
                for _ in range(PER_ROUND):
                    writes = variants[name]()
                    start = time.thread_time()
                    plan = GroupCommitWriter._plan(writes, dialect)
                    planned = time.thread_time()
                    with connection.begin():
                        GroupCommitWriter._apply(connection, plan, len(writes))
                        applied = time.thread_time()
                    spent += applied - start
                    inside += applied - planned
                total[name].append(spent / (PER_ROUND * BATCH) * 1e6)
                in_transaction[name].append(inside / (PER_ROUND * BATCH) * 1e6)
    print(f"writer thread, batches of {BATCH} ({dialect}): plan and apply, CPU per message")
    show_pair(total["plain"], total["priced"])
    print("  of which in the transaction (under the write lock; BEGIN and COMMIT not counted)")
    show_pair(in_transaction["plain"], in_transaction["priced"])


def bench_sends(engine: Any, workspace_id: int) -> None:
    from mecm.services.charging import store_charged
    from mecm.store.tables import messages
    from mecm.store.writer import GroupCommitWriter, Insert

    row = message_rows(workspace_id)
    writer = GroupCommitWriter(engine)

    async def plain() -> None:
        await writer.write(Insert(messages, [row()]))

    async def priced() -> None:
        await store_charged(writer, row(), PRICE)

    sends = {"plain": plain, "priced": priced}
    spent: dict[str, list[float]] = {name: [] for name in sends}

    async def run() -> None:
        for round_ in range(ROUNDS):
            for name in sorted(sends, reverse=round_ % 2 == 1):
                start = time.process_time()
                for _ in range(PER_ROUND):
                    await asyncio.gather(*(sends[name]() for _ in range(BATCH)))
                spent[name].append((time.process_time() - start) / (PER_ROUND * BATCH) * 1e6)

    try:
        asyncio.run(run())
    finally:
        writer.close()
    print(f"sends through the group-commit writer, {BATCH} concurrent: process CPU per message")
    show_pair(spent["plain"], spent["priced"])


def signed_paths(creds: dict, count: int) -> list[bytes]:
    """``count`` signed sendSMS paths, as bench/common.py's write_paths writes them for wrk."""
    from mecm.domain.b64 import encode as b64
    from mecm.domain.signature import sign

    instance, code, carrier = str(creds["instance_id"]), creds["code"], creds["carrier"]
    paths = []
    for i in range(count):
        params = [instance, carrier, code, b64(f"1305{2000000 + i * 37 % 7999999}"),
                  b64(f"Benchmark message {i}: your order has shipped")]
        signature = sign(creds["private_key"], "/".join(params))
        paths.append(f"/rest/api/tools/sendSMS/{'/'.join(params)}/{creds['public_key']}/{signature}".encode())
    return paths


def bench_requests(work: Path) -> None:
    from bench.common import CONNECTIONS, demo, free_port, mecm_env
    from bench.guard_ratio import limit_the_key, price_everything
    from mecm.api.app import create_app
    from mecm.config import load_settings

    apps: dict[str, Any] = {}
    paths: dict[str, list[bytes]] = {}
    for name in ("plain", "priced"):
        side = work / name
        side.mkdir(mode=0o700)  # mecm keeps its keys there
        env = mecm_env(side, free_port(), limited=name == "priced")
        creds = demo(env)
        if name == "priced":
            price_everything(env, creds)
            limit_the_key(env, creds)
        apps[name] = create_app(load_settings(env), delivery="none")
        paths[name] = signed_paths(creds, 4_000)
    # CPU per request of the event loop's thread, and of the writer's (store/writer.py: its commits'
    # fsync and the disk make that one vary more), each from its own thread's clock
    spent: dict[str, dict[str, list[float]]] = {name: {"loop": [], "writer": []} for name in apps}
    refused: list[bytes] = []

    async def request(app: Any, path: bytes) -> None:
        scope = {"type": "http", "method": "GET", "path": path.decode(), "raw_path": path, "query_string": b"",
                 "headers": [], "http_version": "1.1", "scheme": "http"}
        status = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.extend(v for k, v in message["headers"] if k == b"x-mecm-status")

        await app(scope, receive, send)
        if status != [b"OK"]:
            refused.extend(status)

    async def client(app: Any, mine: list[bytes]) -> None:
        for path in mine:
            await request(app, path)

    async def run() -> None:
        for app in apps.values():
            await app.runtime.start()
        try:
            for name, app in apps.items():  # warm: catalogs read, statements compiled
                await asyncio.gather(*(client(app, paths[name][i::CONNECTIONS][:4]) for i in range(CONNECTIONS)))
            writers = {name: time.pthread_getcpuclockid(app.runtime.writer._thread.ident)  # type: ignore[arg-type]
                       for name, app in apps.items()}
            for round_ in range(ROUNDS):
                for name in sorted(apps, reverse=round_ % 2 == 1):
                    mine = paths[name]
                    start, writer_start = time.thread_time(), time.clock_gettime(writers[name])
                    await asyncio.gather(*(client(apps[name], mine[i::CONNECTIONS]) for i in range(CONNECTIONS)))
                    spent[name]["loop"].append((time.thread_time() - start) / len(mine) * 1e6)
                    spent[name]["writer"].append((time.clock_gettime(writers[name]) - writer_start) / len(mine) * 1e6)
        finally:
            for app in apps.values():
                await app.runtime.stop()

    asyncio.run(run())
    if refused:
        sys.exit(f"{len(refused)} requests not answered OK: {sorted(set(refused))}")
    print(f"sendSMS requests through api/ogangi.py, {CONNECTIONS} at a time (sqlite): CPU per request")
    for thread in ("loop", "writer"):
        print(f" {thread} thread")
        show_pair(spent["plain"][thread], spent["priced"][thread])


def main() -> None:
    parts = sys.argv[1:] or ["limiter", "writer", "sends", "requests"]
    if "limiter" in parts:
        bench_limiter()
    if "writer" in parts or "sends" in parts:
        with tempfile.TemporaryDirectory(prefix="mecm-guard-cpu-") as work:
            engine, workspace_id = scratch_database(Path(work))
            try:
                if "writer" in parts:
                    bench_writer(engine, workspace_id)
                if "sends" in parts:
                    bench_sends(engine, workspace_id)
            finally:
                engine.dispose()
    if "requests" in parts:
        with tempfile.TemporaryDirectory(prefix="mecm-guard-cpu-") as work:
            bench_requests(Path(work))


if __name__ == "__main__":
    main()
