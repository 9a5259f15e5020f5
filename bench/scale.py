"""The scale-out scenario of ``make bench``: PostgreSQL, ``mecm api --workers 2`` and one
``mecm worker``, delivering over SMPP to ``mecm smsc-sim``.

1. Start ``mecm smsc-sim`` (durable record, receipts after RECEIPT_DELAY_MS) and a fresh
   PostgreSQL database; create the demo workspace and an smpp carrier (window 50, no rate cap).
2. Start one ``mecm worker`` and ``mecm api --workers 2`` (a supervisor and two API processes on
   one port), wait until the worker is bound, drive pre-signed sendSMS paths with wrk.
3. Wait until every stored message is final; read the simulator's /stats.

Figures: accepted/s, p50/p99 acceptance latency, delivered/s (first accepted to last final), lost,
duplicates at the SMSC, and peak RSS and CPU of every mecm process.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from bench import postgres, smpp
from bench.common import (
    MECM,
    cpu_s,
    demo,
    free_port,
    mecm_env,
    peak_rss_mb,
    process,
    run_wrk,
    wait_final,
    wait_http,
    write_paths,
)
from bench.smpp import CARRIER, WINDOW, _listening, _sim_command, _wait_bound

DATABASE = f"mecm_bench_scale_{os.getpid()}"
API_WORKERS = 2
TARGET = 0.60  # delivered/s over the core scenario's accepted/s


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def bench_scale(work: Path) -> dict:
    work.mkdir()
    url = postgres.fresh_database(DATABASE)
    try:
        return _run(work, url)
    finally:
        postgres.drop_database(DATABASE)


def _run(work: Path, url: str) -> dict:
    sim_env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_SIM_")}
    with process(_sim_command(work), sim_env, work / "smsc-sim.log", stdout=subprocess.PIPE) as sim:
        listening = _listening(sim)
        control = listening["control_url"]
        port = free_port()
        env = {**mecm_env(work, port), "MECM_DATABASE_URL": url}
        creds = demo(env)
        smpp.add_carrier(env, listening)
        paths = work / "paths.txt"
        write_paths(creds, paths, carrier=CARRIER)
        with process([*MECM, "worker"], env, work / "worker.log") as worker, \
                process([*MECM, "api", "--workers", str(API_WORKERS)], env, work / "api.log") as api:
            wait_http(f"http://127.0.0.1:{port}/healthz", api)
            _wait_bound(control, worker)
            result = run_wrk(f"http://127.0.0.1:{port}", paths)
            outcome = wait_final(url, result["ok"])
            stats = httpx.get(control + "/stats", timeout=60).json()
            api_processes = _children(api.pid)
            rss = {"worker": peak_rss_mb(worker.pid), "api supervisor": peak_rss_mb(api.pid),
                   **{f"api {i + 1}": peak_rss_mb(pid) for i, pid in enumerate(api_processes)},
                   "smsc-sim": peak_rss_mb(sim.pid)}
            cpu = {"worker": cpu_s(worker.pid), **{f"api {i + 1}": cpu_s(pid) for i, pid in enumerate(api_processes)},
                   "smsc-sim": cpu_s(sim.pid)}
    return {
        "requests": result["requests"], "ok": result["ok"], "errors": result["errors"],
        "accepted_per_s": result["ok"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        **outcome,
        "smsc_submits": stats["submits"], "smsc_duplicates": stats["duplicates"],
        "peak_rss_mb": rss, "cpu_s": cpu,
    }


def print_scale(r: dict, ratio: float) -> None:
    others = {k: v for k, v in r["by_status"].items() if k != "DELIVERED_TO_DEVICE"}
    rss = ", ".join(f"{mb:.1f} MB {name}" for name, mb in r["peak_rss_mb"].items())
    cpu = ", ".join(f"{s:.1f} s {name}" for name, s in r["cpu_s"].items())
    print(f"""scale-out (PostgreSQL; mecm api --workers {API_WORKERS} + one mecm worker; smpp window {WINDOW}, no rate cap -> mecm smsc-sim)
  accepted/s      {r['accepted_per_s']:10.0f}   ({r['ok']} OK of {r['requests']} requests, {r['errors']} errors)
  latency p50     {r['p50_ms']:10.2f} ms
  latency p99     {r['p99_ms']:10.2f} ms
  delivered/s     {r['delivered_per_s']:10.0f}   ({r['delivered']} delivered in {r['window_s']:.1f} s, first accepted to last final{'; not delivered: ' + str(others) if others else ''})
  lost            {r['lost']:10d}
  SMSC duplicates {r['smsc_duplicates']:10d}   ({r['smsc_submits']} submits)
  peak RSS        {rss}
  CPU             {cpu}
ratio (b) = scale-out delivered/s / core accepted/s = {ratio:.2f}   (target >= {TARGET:.2f}, lost = 0, duplicates = 0)
""", flush=True)
