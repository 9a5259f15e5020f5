"""The SMPP scenario of ``make bench``: sendSMS through the API to ``mecm smsc-sim`` over SMPP.

1. Start ``mecm smsc-sim`` (durable SQLite record, receipts on, RECEIPT_DELAY_MS after each submit).
2. Create the demo workspace on a fresh database and an ``smpp`` carrier "smsc" pointing at the
   simulator (window 50, tps 0: no rate cap); the pre-signed paths name that carrier.
3. Start ``mecm serve``, wait until it is bound, drive the paths with wrk for BENCH_DURATION_S.
4. Wait until every stored message is final; read the simulator's /stats.

Figures: delivered/s (DELIVERED_TO_DEVICE per second, from the first accepted message to the last
final status), p99 acceptance latency, lost (an OK answer without a final message), duplicates at
the SMSC (submit_sm repeating an earlier one), peak RSS and CPU seconds of mecm and of the simulator.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

import httpx

from bench.common import (
    MECM,
    cpu_s,
    demo,
    describe_serve,
    free_port,
    mecm_env,
    peak_rss_mb,
    process,
    run_wrk,
    serve_figures,
    wait_final,
    wait_http,
    write_paths,
)

CARRIER = "smsc"
WINDOW = 50
RECEIPT_DELAY_MS = 10
SYSTEM_ID, PASSWORD = "mecm", "bench8pw"
TARGET = 0.60  # SMPP delivered/s over core accepted/s


def _sim_command(work: Path) -> list[str]:
    return [*MECM, "smsc-sim", "--port", "0", "--control-port", "0", "--system-id", SYSTEM_ID,
            "--password", PASSWORD, "--receipt-delay-ms", str(RECEIPT_DELAY_MS), "--db-path",
            str(work / "smsc.db"), "--json"]


def _listening(sim: subprocess.Popen) -> dict:
    ready, _, _ = select.select([sim.stdout], [], [], 30)
    line = sim.stdout.readline() if ready else b""
    if not line:
        raise SystemExit(f"smsc-sim did not start (exit code {sim.poll()})")
    return json.loads(line)


def add_carrier(env: dict[str, str], listening: dict) -> None:
    """The smpp carrier CARRIER, bound to the simulator that printed ``listening``."""
    add = [*MECM, "admin", "carrier", "add", "--name", CARRIER, "--connector", "smpp", "--host",
           listening["host"], "--port", str(listening["port"]), "--system-id", SYSTEM_ID,
           "--window", str(WINDOW), "--tps", "0", "--json"]
    added = subprocess.run(add, env={**env, "MECM_SMPP_PASSWORD": PASSWORD}, capture_output=True, text=True,
                           check=False)
    if added.returncode != 0:
        raise SystemExit(f"mecm admin carrier add failed: {added.stdout}{added.stderr}")


def _wait_bound(control_url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"mecm serve exited with {server.returncode}")
        if any(s["bind"] == "transceiver" for s in httpx.get(control_url + "/stats").json()["sessions"]):
            return
        time.sleep(0.1)
    raise SystemExit(f"mecm did not bind to the simulator within {timeout} s")


def bench_smpp(work: Path) -> dict:
    work.mkdir()
    sim_env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_SIM_")}
    with process(_sim_command(work), sim_env, work / "smsc-sim.log", stdout=subprocess.PIPE) as sim:
        listening = _listening(sim)
        control = listening["control_url"]
        port = free_port()
        env = mecm_env(work, port)
        creds = demo(env)
        add_carrier(env, listening)
        paths = work / "paths.txt"
        write_paths(creds, paths, carrier=CARRIER)
        with process([*MECM, "serve"], env, work / "server.log") as server:
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
            _wait_bound(control, server)
            result = run_wrk(f"http://127.0.0.1:{port}", paths)
            outcome = wait_final(work / "mecm.db", result["ok"])
            stats = httpx.get(control + "/stats", timeout=60).json()
            figures = serve_figures(server.pid)
            sim_rss, sim_cpu = peak_rss_mb(sim.pid), cpu_s(sim.pid)
    per_second = list(stats["per_second"].values())
    return {
        "requests": result["requests"], "ok": result["ok"], "errors": result["errors"],
        "accepted_per_s": result["ok"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        **outcome,
        "smsc_submits": stats["submits"], "smsc_duplicates": stats["duplicates"],
        "smsc_receipts_acked": stats["deliver_sm_acked"], "smsc_throttled": stats["throttled"],
        "smsc_commits": stats["commits"],
        "smsc_peak_submits_per_s": max(per_second, default=0),
        **figures, "sim_peak_rss_mb": sim_rss, "sim_cpu_s": sim_cpu,
    }


def print_smpp(r: dict, ratio: float) -> None:
    others = {k: v for k, v in r["by_status"].items() if k != "DELIVERED_TO_DEVICE"}
    rss, cpu = describe_serve(r, r["stored"])
    sim_per_submit_us = r["sim_cpu_s"] / r["smsc_submits"] * 1e6 if r["smsc_submits"] else float("nan")
    print(f"""smpp (mecm serve, SQLite, smpp carrier: window {WINDOW}, no rate cap -> mecm smsc-sim, receipts after {RECEIPT_DELAY_MS} ms)
  accepted/s      {r['accepted_per_s']:10.0f}   ({r['ok']} OK of {r['requests']} requests, {r['errors']} errors)
  latency p50     {r['p50_ms']:10.2f} ms
  latency p99     {r['p99_ms']:10.2f} ms
  delivered/s     {r['delivered_per_s']:10.0f}   ({r['delivered']} delivered in {r['window_s']:.1f} s, first accepted to last final{'; not delivered: ' + json.dumps(others) if others else ''})
  lost            {r['lost']:10d}
  SMSC duplicates {r['smsc_duplicates']:10d}   ({r['smsc_submits']} submits, {r['smsc_receipts_acked']} receipts acknowledged, peak {r['smsc_peak_submits_per_s']} submits/s)
  peak RSS        {rss}, {r['sim_peak_rss_mb']:.1f} MB smsc-sim
  CPU             {cpu}, {r['sim_cpu_s']:.1f} s smsc-sim ({sim_per_submit_us:.0f} us per submit)
ratio = smpp delivered/s / core accepted/s = {ratio:.2f}   (target >= {TARGET:.2f}, lost = 0, duplicates = 0)
""", flush=True)
