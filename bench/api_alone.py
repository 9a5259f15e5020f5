"""The API alone: the core scenario's load at ``mecm serve --delivery none`` (accept and store, no
worker), to compare with the core scenario's accepted/s: what delivery running beside the API costs
it (issue 15: the API with delivery running accepts at least 0.9 x what it accepts alone). The two
runs are a few minutes apart in one ``make bench``, on the same paths shape.

    PYTHONPATH=src python -m bench.api_alone
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bench.common import MECM, cpu_s, demo, free_port, mecm_env, peak_rss_mb, process, run_wrk, wait_http, write_paths


def bench_api_alone(work: Path) -> dict:
    work.mkdir(parents=True)
    port = free_port()
    env = mecm_env(work, port)
    paths = work / "paths.txt"
    write_paths(demo(env), paths)
    with process([*MECM, "serve", "--delivery", "none"], env, work / "server.log") as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        result = run_wrk(f"http://127.0.0.1:{port}", paths)
        rss, cpu = peak_rss_mb(server.pid), cpu_s(server.pid)
    return {"ok": result["ok"], "errors": result["errors"],
            "accepted_per_s": result["ok"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
            "peak_rss_mb": rss, "cpu_us_per_message": cpu * 1e6 / max(1, result["ok"])}


def print_api_alone(alone: dict) -> None:
    print(f"""API alone (mecm serve --delivery none, SQLite)
  accepted/s      {alone['accepted_per_s']:10.0f}   ({alone['ok']} OK, {alone['errors']} errors)
  latency p50     {alone['p50_ms']:10.2f} ms
  latency p99     {alone['p99_ms']:10.2f} ms
  peak RSS        {alone['peak_rss_mb']:10.1f} MB
  CPU             {alone['cpu_us_per_message']:10.0f} us per message
""", flush=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mecm-api-alone-"))
    try:
        print_api_alone(bench_api_alone(work / "api"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
