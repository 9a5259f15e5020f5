"""The console's pages over a large workspace (issue 14: each page and search within 200 ms p95 with
1,000,000 messages and 1,000,000 MOs), on SQLite and on PostgreSQL, through a running ``mecm serve``.

For each database: seeds one workspace with ROWS messages and ROWS MOs spread over the last week (one
SQL statement each: a recursive count on SQLite, generate_series on PostgreSQL; one message in a
hundred still waiting for its receipt), starts ``mecm serve`` and waits until its worker has indexed
them by number (store/number_index.py) and kept the week's dashboard hours
(services/dashboard_keeper.py), both timed; signs in as its owner and opens the dashboard once
(timed). Then it asks each page REQUESTS times in turn, printing p50 and p95 per page. Before each dashboard request the kept
hours' counts are made RECOUNT_AFTER_MS older (services/admin/dashboard.py), so that each such
request also counts a kept hour again, as it does for an hour with messages still waiting for
receipts: the dashboard's figures are its worst case, which a deployment with a day of unanswered
messages meets at about every other refresh.

``BENCH_CONSOLE_ROWS`` sets the size (default 1,000,000); ``BENCH_CONSOLE_DATABASES`` the databases
(default ``sqlite,postgresql``). The PostgreSQL database, ``mecm_bench_console`` on
bench/postgres.py's server, is made afresh and dropped at the end.

    PYTHONPATH=src python -m bench.console_pages
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench import postgres
from bench.common import MECM, demo, free_port, mecm_env, process, wait_http, wait_until
from mecm.domain.ids import EPOCH_MS, first_id_at
from mecm.services.admin.dashboard import RECOUNT_AFTER_MS

ROWS = int(os.environ.get("BENCH_CONSOLE_ROWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_CONSOLE_REQUESTS", "20"))
DATABASES = os.environ.get("BENCH_CONSOLE_DATABASES", "sqlite,postgresql").split(",")
TARGET_P95_MS = 200.0
WEEK_MS = 7 * 86_400_000
_ID_SHIFT = 22  # domain/ids.py: 10 node bits and 12 sequence bits below the time
PASSWORD = "bench console password"
PG_DATABASE = "mecm_bench_console"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

# One message every WEEK_MS / ROWS ms, so each id is unique; one in twenty undelivered, one in a
# hundred still waiting for its receipt, valid for 8 days: the worker beside serve has nothing to do.
_MESSAGES_SQLITE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
INSERT INTO messages (id, workspace_id, client_id, kind, carrier, sender, recipient, text, flags, data_coding,
                      segments, priority, status, status_detail, created_at_ms, updated_at_ms,
                      next_attempt_at_ms, attempts, expires_at_ms, carrier_message_id)
SELECT (:start + i * :step - :epoch) << :shift, :ws, 'K', 'sms', 'movistar', '19893653744',
       '58414' || printf('%07d', i % 50000), 'Your order ' || i || ' has shipped', '', 'GSM7', 1, 1,
       CASE WHEN i % 100 = 50 THEN 'SENT_TO_CARRIER' WHEN i % 20 = 0 THEN 'UNDELIVERED'
            ELSE 'DELIVERED_TO_DEVICE' END, NULL,
       :start + i * :step, :start + i * :step + 1500, 0, 1, :start + i * :step + 8 * 86400000, printf('%016x', i)
  FROM n
"""
_MOS_SQLITE = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
INSERT INTO mo_messages (id, workspace_id, sender, code, text, carrier, keyword, campaign_id, campaign_name,
                         response_message_id, received_at_ms, capped)
SELECT ((:start + i * :step - :epoch) << :shift) + 1, :ws, '58414' || printf('%07d', i % 50000), '19893653744',
       CASE WHEN i % 3 = 0 THEN 'OGANGI hello ' || i ELSE 'hi there ' || i END, 'movistar',
       CASE WHEN i % 3 = 0 THEN '^OGANGI' ELSE '' END, NULL, CASE WHEN i % 3 = 0 THEN 'welcome' ELSE '' END,
       NULL, :start + i * :step, 0
  FROM n
"""
# The same rows on PostgreSQL (psycopg's placeholders: a literal % is written %%).
_MESSAGES_PG = """
INSERT INTO messages (id, workspace_id, client_id, kind, carrier, sender, recipient, text, flags, data_coding,
                      segments, priority, status, status_detail, created_at_ms, updated_at_ms,
                      next_attempt_at_ms, attempts, expires_at_ms, carrier_message_id)
SELECT (%(start)s + i * %(step)s - %(epoch)s) << %(shift)s, %(ws)s, 'K', 'sms', 'movistar', '19893653744',
       '58414' || lpad((i %% 50000)::text, 7, '0'), 'Your order ' || i || ' has shipped', '', 'GSM7', 1, 1,
       CASE WHEN i %% 100 = 50 THEN 'SENT_TO_CARRIER' WHEN i %% 20 = 0 THEN 'UNDELIVERED'
            ELSE 'DELIVERED_TO_DEVICE' END, NULL,
       %(start)s + i * %(step)s, %(start)s + i * %(step)s + 1500, 0, 1, %(start)s + i * %(step)s + 8 * 86400000,
       lpad(to_hex(i), 16, '0')
  FROM generate_series(CAST(0 AS bigint), CAST(%(rows)s - 1 AS bigint)) AS i
"""
_MOS_PG = """
INSERT INTO mo_messages (id, workspace_id, sender, code, text, carrier, keyword, campaign_id, campaign_name,
                         response_message_id, received_at_ms, capped)
SELECT ((%(start)s + i * %(step)s - %(epoch)s) << %(shift)s) + 1, %(ws)s, '58414' || lpad((i %% 50000)::text, 7, '0'),
       '19893653744', CASE WHEN i %% 3 = 0 THEN 'OGANGI hello ' || i ELSE 'hi there ' || i END, 'movistar',
       CASE WHEN i %% 3 = 0 THEN '^OGANGI' ELSE '' END, NULL, CASE WHEN i %% 3 = 0 THEN 'welcome' ELSE '' END,
       NULL, %(start)s + i * %(step)s, false
  FROM generate_series(CAST(0 AS bigint), CAST(%(rows)s - 1 AS bigint)) AS i
"""


def _values(workspace_id: int) -> dict[str, int]:
    now = int(time.time() * 1000)
    return {"rows": ROWS, "start": now - WEEK_MS, "step": WEEK_MS // ROWS, "epoch": EPOCH_MS,
            "shift": _ID_SHIFT, "ws": workspace_id}


def seed(database: Path | str, workspace_id: int) -> float:
    """Seed the rows into a SQLite file or a postgresql:// URL; the seconds it took."""
    started = time.time()
    if isinstance(database, str):
        import psycopg

        with psycopg.connect(database, autocommit=True) as db:
            db.execute(_MESSAGES_PG, _values(workspace_id))
            db.execute(_MOS_PG, _values(workspace_id))
            db.execute("VACUUM ANALYZE messages")
            db.execute("VACUUM ANALYZE mo_messages")
    else:
        with sqlite3.connect(database) as db:
            db.execute(_MESSAGES_SQLITE, _values(workspace_id))
            db.execute(_MOS_SQLITE, _values(workspace_id))
            db.execute("ANALYZE")
    return time.time() - started


def sign_in(http: httpx.Client) -> None:
    page = http.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = http.post("/sign-in", data={"csrf_token": token, "email": "owner@example.com", "password": PASSWORD})
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.text[:300]}")


def pages(workspace_id: int) -> dict[str, str]:
    w = f"/w/{workspace_id}"
    return {
        "dashboard": w, "dashboard, live part": f"{w}?part=live",
        "messages": f"{w}/messages", "messages by number": f"{w}/messages?number=584140012345",
        # both read the index by number (store/number_index.py); the second with a time range given
        "messages by number, all time": f"{w}/messages?number=584140012345&since=2000-01-01",
        "messages by status": f"{w}/messages?status=UNDELIVERED", "messages by text": f"{w}/messages?text=order+99",
        "inbox": f"{w}/inbox", "inbox by number": f"{w}/inbox?number=584140012345",
        "campaigns": f"{w}/campaigns", "campaigns, try a message": f"{w}/campaigns?code=19893653744&text=OGANGI",
        "lists": f"{w}/lists", "broadcasts": f"{w}/broadcasts", "keys": f"{w}/keys", "people": f"{w}/people",
        "audit log": f"{w}/audit",
    }


def _run(database: Path | str, statement: str) -> int | None:
    """Run ``statement`` on the seeded database (a SQLite file, or a PostgreSQL URL); its first value."""
    if isinstance(database, str):
        import psycopg

        with psycopg.connect(database, autocommit=True) as db:
            cursor = db.execute(statement)
            return cursor.fetchone()[0] if cursor.description else None  # type: ignore[index]
    with sqlite3.connect(database) as db:
        cursor = db.execute(statement)
        return cursor.fetchone()[0] if cursor.description else None


def _wait_indexed(database: Path | str, up_to_ms: int) -> None:
    """Wait until the worker has indexed the seeded messages by number up to ``up_to_ms``."""
    wait_until(lambda: _run(database, "SELECT COALESCE(MAX(end_id), 0) FROM number_pieces") >= first_id_at(up_to_ms),
               600, "the worker did not index the seeded messages by number")


def _wait_kept(database: Path | str) -> None:
    """Wait until the worker has kept the counts of the seeded week's closed hours (services/dashboard_keeper.py)."""
    wait_until(lambda: _run(database, "SELECT count(*) FROM dashboard_hours") >= 7 * 24 - 2,
               600, "the worker did not keep the seeded week's hours")


def _age_kept_hours(database: Path | str) -> None:
    """Make every kept hour's count RECOUNT_AFTER_MS older: the next view counts one again."""
    _run(database, f"UPDATE dashboard_hours SET counted_at_ms = counted_at_ms - {RECOUNT_AFTER_MS}")


def _timed_get(http: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = http.get(path)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
    return elapsed_ms


def _bench_one(work: Path, database: str) -> dict:
    """Each page's p50 and p95 in ms over the seeded workspace on ``database`` (sqlite | postgresql)."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = mecm_env(work, port)
    if database == "postgresql":
        env["MECM_DATABASE_URL"] = postgres.fresh_database(PG_DATABASE)
    creds = demo(env)
    workspace_id = creds["instance_id"]
    subprocess.run([*MECM, "admin", "user", "add", "--email", "owner@example.com", "--password-stdin"],
                   env=env, input=PASSWORD, text=True, check=True, capture_output=True)
    subprocess.run([*MECM, "admin", "user", "set-role", "--email", "owner@example.com", "--workspace",
                    str(workspace_id), "--role", "owner"], env=env, check=True, capture_output=True)
    stored: Path | str = env["MECM_DATABASE_URL"] if database == "postgresql" else work / "mecm.db"
    seeded_s = seed(stored, workspace_id)
    figures: dict[str, dict[str, float]] = {}
    seeded_at_ms = int(time.time() * 1000)
    with process([*MECM, "serve"], env, work / "server.log") as serve, \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        wait_http(f"http://127.0.0.1:{port}/healthz", serve, timeout=120)
        began = time.perf_counter()
        _wait_indexed(stored, seeded_at_ms - 2 * 3_600_000)
        indexed_s = time.perf_counter() - began
        began = time.perf_counter()
        _wait_kept(stored)
        kept_s = time.perf_counter() - began
        sign_in(http)
        first_view_ms = _timed_get(http, f"/w/{workspace_id}")
        for name, path in pages(workspace_id).items():
            times = []
            for _ in range(REQUESTS):
                if name.startswith("dashboard"):
                    _age_kept_hours(stored)
                times.append(_timed_get(http, path))
            figures[name] = {"p50_ms": statistics.median(times), "p95_ms": statistics.quantiles(times, n=20)[18]}
    return {"seeded_s": seeded_s, "indexed_s": indexed_s, "kept_s": kept_s, "first_view_ms": first_view_ms,
            "pages": figures}


def bench_console_pages(work: Path) -> dict:
    """Each database's figures: the seeding time, the dashboard's first view of the seeded week, and
    each page's p50 and p95 in ms."""
    results = {}
    for database in DATABASES:
        try:
            results[database] = _bench_one(work / database, database)
        finally:
            if database == "postgresql":
                postgres.drop_database(PG_DATABASE)
    return {"rows": ROWS, "requests": REQUESTS, "databases": results}


def print_console_pages(result: dict) -> None:
    print(f"console pages: {result['rows']:,} messages and {result['rows']:,} MOs over a week; {result['requests']} "
          f"requests a page, target p95 <= {TARGET_P95_MS:.0f} ms (issue 14; bench/console_pages.py)")
    for database, figures in result["databases"].items():
        print(f"  {NAMES[database]} (seeded in {figures['seeded_s']:.0f} s); its worker indexed them by number in "
              f"{figures['indexed_s']:.0f} s and kept the week's dashboard hours {figures['kept_s']:.0f} s later; "
              f"the dashboard's first view then: {figures['first_view_ms']:.0f} ms; each dashboard request below "
              "also counts a kept hour again")
        for name, figure in figures["pages"].items():
            verdict = "ok" if figure["p95_ms"] <= TARGET_P95_MS else "OVER"
            print(f"    {name:28} p50 {figure['p50_ms']:7.1f} ms   p95 {figure['p95_ms']:7.1f} ms   {verdict}")
    print(flush=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mecm-console-"))
    try:
        print_console_pages(bench_console_pages(work / "console"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
