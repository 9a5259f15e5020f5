"""The console's pages over a large workspace (issue 14: each page and search within 200 ms p95 with
1,000,000 messages and 1,000,000 MOs), on SQLite, through a running ``mecm serve``.

Seeds one workspace with ROWS messages and ROWS MOs spread over the last week (one SQL statement
each, a recursive count), signs in as its owner, and asks each page REQUESTS times in turn, printing
p50 and p95 per page. ``BENCH_CONSOLE_ROWS`` sets the size (default 1,000,000).

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

from bench.common import MECM, demo, free_port, mecm_env, process, wait_http
from mecm.domain.ids import EPOCH_MS

ROWS = int(os.environ.get("BENCH_CONSOLE_ROWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_CONSOLE_REQUESTS", "20"))
TARGET_P95_MS = 200.0
WEEK_MS = 7 * 86_400_000
_ID_SHIFT = 22  # domain/ids.py: 10 node bits and 12 sequence bits below the time
PASSWORD = "bench console password"

# Every row final (nothing for a worker to do), one every WEEK_MS / ROWS ms, so each id is unique.
_MESSAGES = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
INSERT INTO messages (id, workspace_id, client_id, kind, carrier, sender, recipient, text, flags, data_coding,
                      segments, priority, status, status_detail, created_at_ms, updated_at_ms,
                      next_attempt_at_ms, attempts, expires_at_ms, carrier_message_id)
SELECT (:start + i * :step - :epoch) << :shift, :ws, 'K', 'sms', 'movistar', '19893653744',
       '58414' || printf('%07d', i % 50000), 'Your order ' || i || ' has shipped', '', 'GSM7', 1, 1,
       CASE WHEN i % 20 = 0 THEN 'UNDELIVERED' ELSE 'DELIVERED_TO_DEVICE' END, NULL,
       :start + i * :step, :start + i * :step + 1500, 0, 1, :start + i * :step + 86400000, printf('%016x', i)
  FROM n
"""
_MOS = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1)
INSERT INTO mo_messages (id, workspace_id, sender, code, text, carrier, keyword, campaign_id, campaign_name,
                         response_message_id, received_at_ms, capped)
SELECT ((:start + i * :step - :epoch) << :shift) + 1, :ws, '58414' || printf('%07d', i % 50000), '19893653744',
       CASE WHEN i % 3 = 0 THEN 'OGANGI hello ' || i ELSE 'hi there ' || i END, 'movistar',
       CASE WHEN i % 3 = 0 THEN '^OGANGI' ELSE '' END, NULL, CASE WHEN i % 3 = 0 THEN 'welcome' ELSE '' END,
       NULL, :start + i * :step, 0
  FROM n
"""


def seed(database: Path, workspace_id: int) -> float:
    started = time.time()
    now = int(time.time() * 1000)
    values = {"rows": ROWS, "start": now - WEEK_MS, "step": WEEK_MS // ROWS, "epoch": EPOCH_MS,
              "shift": _ID_SHIFT, "ws": workspace_id}
    with sqlite3.connect(database) as db:
        db.execute(_MESSAGES, values)
        db.execute(_MOS, values)
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
        "messages by status": f"{w}/messages?status=UNDELIVERED", "messages by text": f"{w}/messages?text=order+99",
        "inbox": f"{w}/inbox", "inbox by number": f"{w}/inbox?number=584140012345",
        "campaigns": f"{w}/campaigns", "campaigns, try a message": f"{w}/campaigns?code=19893653744&text=OGANGI",
        "lists": f"{w}/lists", "broadcasts": f"{w}/broadcasts", "keys": f"{w}/keys", "people": f"{w}/people",
        "audit log": f"{w}/audit",
    }


def bench_console_pages(work: Path) -> dict:
    """Each page's p50 and p95 in ms, over the seeded workspace."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = mecm_env(work, port)
    creds = demo(env)
    workspace_id = creds["instance_id"]
    subprocess.run([*MECM, "admin", "user", "add", "--email", "owner@example.com", "--password-stdin"],
                   env=env, input=PASSWORD, text=True, check=True, capture_output=True)
    subprocess.run([*MECM, "admin", "user", "set-role", "--email", "owner@example.com", "--workspace",
                    str(workspace_id), "--role", "owner"], env=env, check=True, capture_output=True)
    seeded_s = seed(work / "mecm.db", workspace_id)
    figures: dict[str, dict[str, float]] = {}
    with process([*MECM, "serve", "--delivery", "none"], env, work / "server.log") as serve, \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        wait_http(f"http://127.0.0.1:{port}/healthz", serve, timeout=120)
        sign_in(http)
        for name, path in pages(workspace_id).items():
            times = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                answer = http.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
            figures[name] = {"p50_ms": statistics.median(times), "p95_ms": statistics.quantiles(times, n=20)[18]}
    return {"rows": ROWS, "requests": REQUESTS, "seeded_s": seeded_s, "pages": figures}


def print_console_pages(result: dict) -> None:
    print(f"console pages: {result['rows']:,} messages and {result['rows']:,} MOs over a week, SQLite "
          f"(seeded in {result['seeded_s']:.0f} s); {result['requests']} requests a page, target p95 <= "
          f"{TARGET_P95_MS:.0f} ms (issue 14; bench/console_pages.py)")
    for name, figure in result["pages"].items():
        verdict = "ok" if figure["p95_ms"] <= TARGET_P95_MS else "OVER"
        print(f"  {name:28} p50 {figure['p50_ms']:7.1f} ms   p95 {figure['p95_ms']:7.1f} ms   {verdict}")
    print(flush=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mecm-console-"))
    try:
        print_console_pages(bench_console_pages(work / "console"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
