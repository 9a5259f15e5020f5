"""``make bench``: sendSMS throughput of ``mecm serve`` against a bare Starlette baseline, one run.

1. Start ``mecm serve`` on a fresh SQLite database with the demo workspace and simulated carrier.
2. Drive pre-signed sendSMS requests at it with wrk (C, its own core: not the bottleneck).
3. Wait until every stored message is final; count delivered and lost.
4. Drive the same load at a bare Starlette app returning a constant 300-byte XML body.
5. Print accepted/s, p50/p99 latency, delivered/s, lost, peak RSS and the ratio.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from mecm.domain.b64 import encode as b64
from mecm.domain.signature import sign

HERE = Path(__file__).parent
DURATION_S = int(os.environ.get("BENCH_DURATION_S", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
PATH_COUNT = 200_000
FINAL = ("DELIVERED_TO_DEVICE", "UNDELIVERED", "EXPIRED", "UNREACHABLE", "NOT_SENT", "BAD_FROM", "BAD_TO",
         "BAD_CARRIER", "NOT_ENOUGH_FUNDS")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"{url} did not answer within 30 s")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_wrk(url: str, paths_file: Path) -> dict:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--timeout", "10s",
               "-s", str(HERE / "wrk_paths.lua"), url]
    done = subprocess.run(command, env={**os.environ, "PATHS": str(paths_file)}, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    sys.exit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


def write_paths(creds: dict, path: Path) -> None:
    """Unique texts, so every request is a distinct signed send."""
    instance, carrier, code = str(creds["instance_id"]), creds["carrier"], creds["code"]
    with path.open("w") as out:
        for i in range(PATH_COUNT):
            number = f"1305{random.randint(2000000, 9999999)}"
            params = [instance, carrier, code, b64(number), b64(f"Benchmark message {i}: your order has shipped")]
            signature = sign(creds["private_key"], "/".join(params))
            out.write(f"/rest/api/tools/sendSMS/{'/'.join(params)}/{creds['public_key']}/{signature}\n")


def bench_mecm(work: Path) -> dict:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    env.update({"MECM_DATABASE_URL": f"sqlite:///{work / 'mecm.db'}", "MECM_VAR_DIR": str(work),
                "MECM_PORT": str(port), "MECM_CONFIG": str(work / "none.toml")})
    (work / "none.toml").write_text("")
    mecm = [sys.executable, "-m", "mecm"]
    creds = json.loads(subprocess.run([*mecm, "demo", "--json"], env=env, capture_output=True, text=True,
                                      check=True).stdout)
    paths = work / "paths.txt"
    write_paths(creds, paths)
    server = subprocess.Popen([*mecm, "serve"], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(work / "server.log", "w"))
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        started = time.time()
        result = run_wrk(f"http://127.0.0.1:{port}", paths)
        load_s = time.time() - started
        db = sqlite3.connect(work / "mecm.db")
        stored = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        placeholders = ",".join("?" * len(FINAL))
        deadline = time.time() + 120
        while time.time() < deadline:
            final = db.execute(f"SELECT COUNT(*) FROM messages WHERE status IN ({placeholders})", FINAL).fetchone()[0]
            if final >= stored:
                break
            time.sleep(0.05)
        drained_s = time.time() - started
        delivered = db.execute("SELECT COUNT(*) FROM messages WHERE status = 'DELIVERED_TO_DEVICE'").fetchone()[0]
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    return {
        "requests": result["requests"], "ok": result["ok"], "errors": result["errors"],
        "accepted_per_s": result["ok"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "stored": stored, "delivered": delivered, "delivered_per_s": delivered / drained_s,
        # An OK answer whose message is not stored, or never reached a final status, is lost.
        "lost": max(0, result["ok"] - stored) + (stored - final),
        "peak_rss_mb": rss, "load_s": load_s, "drain_s": drained_s - load_s,
    }


def bench_baseline(work: Path) -> dict:
    port = free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "baseline_app.py"), str(port)])
    paths = work / "paths.txt"
    try:
        wait_http(f"http://127.0.0.1:{port}/", server)
        result = run_wrk(f"http://127.0.0.1:{port}", paths)
    finally:
        server.terminate()
        server.wait(30)
    return {"req_per_s": result["requests"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000}


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("make bench needs wrk (Debian package 'wrk')")
    work = Path(tempfile.mkdtemp(prefix="mecm-bench-"))
    try:
        print(f"mecm bench: wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s, sendSMS with {PATH_COUNT} pre-signed URLs",
              flush=True)
        mecm = bench_mecm(work)
        base = bench_baseline(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = mecm["accepted_per_s"] / base["req_per_s"]
    print(f"""
core (mecm serve, SQLite, simulated carrier)
  accepted/s      {mecm['accepted_per_s']:10.0f}   ({mecm['ok']} OK of {mecm['requests']} requests, {mecm['errors']} errors)
  latency p50     {mecm['p50_ms']:10.2f} ms
  latency p99     {mecm['p99_ms']:10.2f} ms
  delivered/s     {mecm['delivered_per_s']:10.0f}   ({mecm['delivered']} delivered; drained {mecm['drain_s']:.1f} s after the load)
  lost            {mecm['lost']:10d}
  peak RSS        {mecm['peak_rss_mb']:10.1f} MB
bare Starlette baseline (constant 300-byte XML)
  req/s           {base['req_per_s']:10.0f}   p50 {base['p50_ms']:.2f} ms  p99 {base['p99_ms']:.2f} ms
ratio = accepted/s / baseline req/s = {ratio:.2f}   (target >= 0.40, lost = 0)
""")
    print("BENCHJSON " + json.dumps({"core": mecm, "baseline": base, "ratio": ratio}))


if __name__ == "__main__":
    main()
