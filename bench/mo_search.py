"""The MO-search scenario of ``make bench``: getMOMessages pages over 10 million stored MOs, on
PostgreSQL, through a running ``mecm api``.

The seeded database (``mecm_bench_mo10m``) is built once per machine and kept for later runs: 10
million MOs of one workspace, from 50,000 subscribers to 3 codes through 3 carriers, one every 1.5 s
over 180 days (seeding takes a few minutes; ``BENCH_MO_RESEED=1`` builds it again). Each run then
times FILTER_REQUESTS sequential signed requests per filter, with a fresh random subscriber or day
each time, and prints p50/p99 per filter and the number of MOs a page matched on average.
"""

from __future__ import annotations

import base64
import os
import random
import statistics
import subprocess
import time
from pathlib import Path

from bench import postgres
from bench.common import MECM, free_port, mecm_env, peak_rss_mb, process, wait_http
from mecm.client import Client

DATABASE = "mecm_bench_mo10m"
ROWS = int(os.environ.get("BENCH_MO_ROWS", "10000000"))
SUBSCRIBERS = 50_000
STEP_MS = 1_555  # one MO every 1.555 s: 10 million over 180 days
START_MS = 1_780_000_000_000
DAY_MS = 86_400_000
FILTER_REQUESTS = 300
TARGET_P99_MS = 50.0
# The master key of the bench database only (it protects nothing else); fixed, so that later runs
# can use the key pair made by the first.
MASTER_KEY = base64.urlsafe_b64encode(b"mecm-bench-only-master-key-32by!").decode()

_SEED_CHUNK = 1_000_000
_SEED = """
INSERT INTO mo_messages (id, workspace_id, sender, code, text, carrier, keyword, campaign_id, campaign_name,
                         response_message_id, received_at_ms, capped)
SELECT g, %(workspace)s,
       '1305' || lpad((g %% {subscribers})::text, 7, '0'),
       (ARRAY['19893653744', '22222', '33333'])[1 + g %% 3],
       (ARRAY['OGANGI promo ', 'STOP', 'hello ', 'PIN please ', 'Win a prize '])[1 + g %% 5] || g,
       (ARRAY['movistar', 'digitel', 'movilnet'])[1 + g %% 3],
       '', NULL, '', NULL, {start} + g * {step}, false
  FROM generate_series(CAST(%(first)s AS bigint), CAST(%(last)s AS bigint)) AS g
""".format(subscribers=SUBSCRIBERS, start=START_MS, step=STEP_MS)


def _seeded(url: str) -> dict | None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as db:
            row = db.execute("SELECT rows, instance_id, public_key, private_key FROM bench_seed").fetchone()
    except psycopg.Error:
        return None
    if row is None or row[0] != ROWS:
        return None
    return {"instance_id": row[1], "public_key": row[2], "private_key": row[3]}


def _seed(work: Path, env: dict[str, str]) -> dict:
    import psycopg

    url = postgres.fresh_database(DATABASE)
    done = subprocess.run([*MECM, "demo", "--json"], env=env, capture_output=True, text=True, check=True)
    import json

    creds = json.loads(done.stdout)
    started = time.time()
    with psycopg.connect(url, autocommit=True) as db:
        for first in range(1, ROWS + 1, _SEED_CHUNK):
            last = min(ROWS, first + _SEED_CHUNK - 1)
            db.execute(_SEED, {"workspace": creds["instance_id"], "first": first, "last": last})
            print(f"  seeded {last:,} of {ROWS:,} MOs ({time.time() - started:.0f} s)", flush=True)
        db.execute("VACUUM ANALYZE mo_messages")
        db.execute("CREATE TABLE bench_seed (rows bigint, instance_id int, public_key text, private_key text)")
        db.execute("INSERT INTO bench_seed VALUES (%s, %s, %s, %s)",
                   (ROWS, creds["instance_id"], creds["public_key"], creds["private_key"]))
    return {k: creds[k] for k in ("instance_id", "public_key", "private_key")}


def _filters(rng: random.Random) -> dict[str, dict]:
    subscriber = f"1305{rng.randrange(SUBSCRIBERS):07d}"
    day = START_MS + rng.randrange(170) * DAY_MS
    return {
        "from (one subscriber)": {"from_": subscriber},
        "from + since/until (a subscriber's month)": {"from_": subscriber, "since": day, "until": day + 30 * DAY_MS},
        "from + keyword": {"from_": subscriber, "keyword": "^OGANGI"},
        "to + since/until (one code, one hour)": {"to": "22222", "since": day, "until": day + 3_600_000},
        "since/until (one day, ~55,000 MOs)": {"since": day, "until": day + DAY_MS},
    }


def bench_mo_search(work: Path) -> dict:
    work.mkdir()
    port = free_port()
    url = postgres.url_of(DATABASE)
    env = {**mecm_env(work, port), "MECM_DATABASE_URL": url, "MECM_MASTER_KEY": MASTER_KEY}
    creds = None if os.environ.get("BENCH_MO_RESEED") else _seeded(url)
    seeded_now = creds is None
    if creds is None:
        print(f"mo-search: seeding {ROWS:,} MOs into {DATABASE} (once; kept for later runs)", flush=True)
        creds = _seed(work, env)
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    matched: dict[str, list[int]] = {}
    with process([*MECM, "api"], env, work / "api.log") as api:
        wait_http(f"http://127.0.0.1:{port}/healthz", api)
        with Client(f"http://127.0.0.1:{port}", creds["instance_id"], creds["public_key"],
                    creds["private_key"]) as client:
            client.get_mo_messages(1, 20, from_="13050000001")  # a first request: connections warm
            for _ in range(FILTER_REQUESTS):
                for name, search in _filters(rng).items():
                    began = time.perf_counter()
                    page = client.get_mo_messages(1, 20, **search)
                    timings.setdefault(name, []).append((time.perf_counter() - began) * 1000)
                    matched.setdefault(name, []).append(page.records)
        rss = peak_rss_mb(api.pid)
    return {
        "rows": ROWS, "seeded_now": seeded_now, "api_peak_rss_mb": rss,
        "filters": {name: {"p50_ms": statistics.median(ms), "p99_ms": _p99(ms),
                           "mean_matched": statistics.fmean(matched[name])} for name, ms in timings.items()},
    }


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def print_mo_search(r: dict) -> None:
    print(f"mo-search (PostgreSQL, {r['rows']:,} MOs, getMOMessages page 1 of 20 through mecm api, "
          f"{FILTER_REQUESTS} requests per filter, one at a time)")
    for name, f in r["filters"].items():
        print(f"  {name:44s} p50 {f['p50_ms']:7.2f} ms  p99 {f['p99_ms']:7.2f} ms   "
              f"(~{f['mean_matched']:,.0f} MOs match)")
    worst = max(f["p99_ms"] for f in r["filters"].values())
    print(f"  peak RSS        {r['api_peak_rss_mb']:10.1f} MB mecm api")
    print(f"worst filtered page p99 = {worst:.2f} ms   (target <= {TARGET_P99_MS:.0f} ms)\n", flush=True)
