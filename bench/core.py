"""``make bench``: ten scenarios in one run, issue 15's figures against their targets, and one
BENCHJSON line.

core       (a) ``mecm serve`` on a fresh SQLite database with the demo workspace and its simulated
           carrier, driven by wrk with pre-signed sendSMS paths; then wait until every message is final.
api-alone  the same load at ``mecm serve --delivery none`` (bench/api_alone.py): the core scenario's
           accepted/s over this one is what delivery beside the API costs it (issue 15: >= 0.9).
core-guarded  the core scenario with rate limits (per workspace and per key) and a price list, all too
           high ever to refuse, against the plain one: what issue 12's limits and credit cost (target:
           >= 0.95), both servers loaded in turn a few seconds at a time (bench/guard_ratio.py says
           why). ``python -m bench.core core`` runs only this comparison.
smpp       the same load through ``mecm serve`` to ``mecm smsc-sim`` over SMPP (bench/smpp.py).
scale-out  (b) PostgreSQL, ``mecm api --workers 2`` and one ``mecm worker``, SMPP to ``mecm smsc-sim``
           (bench/scale.py).
mo-search  (c) getMOMessages pages with filters over 10 million MOs on PostgreSQL (bench/mo_search.py).
baseline   the same load at a bare Starlette app returning a constant 300-byte XML body.
kannel     the same load (same wrk, paths of the same shape) at Kannel 1.4.5's sendsms, bearerbox
           with a file store, to fakesmsc (Debian packages kannel and kannel-extras, installed when
           missing; bench/kannel.py; target: core accepted/s >= 1.0 x Kannel accepted/s, issue 15).
           ``python -m bench.kannel`` runs it alone.
cli-start  wall time of ``mecm --help`` and ``mecm admin workspace list``, median of 11 runs
           (bench/cli_start.py; target < 0.3 s).
console    each console page and search over 1,000,000 messages and 1,000,000 MOs on SQLite and on
           PostgreSQL, p50 and p95 of 20 requests (bench/console_pages.py; target p95 <= 200 ms).

``BENCH_PRICED=1`` runs the core scenario with a price list (0.0075 a segment, any carrier, every
number) and a balance far bigger than the run can spend, so every send is debited and none refused:
compare its accepted/s with a run without it (issue 12: within 5 %).

Each prints accepted/s, latency, delivered/s, lost and peak RSS; the ratios (core accepted/s over
baseline req/s and over Kannel accepted/s, SMPP and scale-out delivered/s over core accepted/s)
compare figures measured in the same run.

Rate limits: none, unless MECM_BENCH_RATE_LIMIT=1 (bench/common.py), which configures limits far
above the load, to measure what taking tokens costs: ``make bench`` and
``MECM_BENCH_RATE_LIMIT=1 make bench`` give the two accepted/s to compare.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench import api_alone, cli_start, console_pages, guard_ratio, kannel, mo_search, scale, smpp
from bench.common import (
    CONNECTIONS,
    DURATION_S,
    HERE,
    HIGH_LIMIT,
    MECM,
    PATH_COUNT,
    RATE_LIMITED,
    demo,
    describe_serve,
    describe_write_lock,
    free_port,
    mecm_env,
    process,
    run_wrk,
    serve_figures,
    wait_final,
    wait_http,
    write_lock_figures,
    write_paths,
)

# ``python -m bench.core core``: only the guarded comparison (about 5 minutes).
ONLY_CORE = sys.argv[1:] == ["core"]
CORE_TARGET = 0.40  # core accepted/s over baseline req/s
KANNEL_TARGET = 1.0  # core accepted/s over Kannel's accepted/s (issue 15)


def bench_core(work: Path) -> dict:
    """The core scenario (priced with BENCH_PRICED=1, rate-limited with MECM_BENCH_RATE_LIMIT=1)."""
    work.mkdir()
    port = free_port()
    env = mecm_env(work, port, RATE_LIMITED)
    creds = demo(env)
    if os.environ.get("BENCH_PRICED", "") == "1":
        guard_ratio.price_everything(env, creds)
    if RATE_LIMITED:  # the demo key's own limit too: each send then takes a token from two buckets
        guard_ratio.limit_the_key(env, creds)
    paths = work / "paths.txt"
    write_paths(creds, paths)
    with process([*MECM, "serve"], env, work / "server.log") as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        result = run_wrk(f"http://127.0.0.1:{port}", paths)
        outcome = wait_final(work / "mecm.db", result["ok"])
        figures = serve_figures(server.pid)
    figures.update(write_lock_figures(work / "server.log"))  # written as the server stopped
    return {
        "requests": result["requests"], "ok": result["ok"], "errors": result["errors"],
        "accepted_per_s": result["ok"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        **outcome, **figures,
    }


def bench_baseline(paths: Path, work: Path) -> dict:
    port = free_port()
    with process([sys.executable, str(HERE / "baseline_app.py"), str(port)], None, work / "baseline.log") as server:
        wait_http(f"http://127.0.0.1:{port}/", server)
        result = run_wrk(f"http://127.0.0.1:{port}", paths)
    return {"req_per_s": result["requests"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000}


def print_core(core: dict) -> None:
    rss, cpu = describe_serve(core, core["stored"])
    priced = ", priced (BENCH_PRICED=1)" if os.environ.get("BENCH_PRICED", "") == "1" else ""
    print(f"""core (mecm serve, SQLite, simulated carrier{priced})
  accepted/s      {core['accepted_per_s']:10.0f}   ({core['ok']} OK of {core['requests']} requests, {core['errors']} errors)
  latency p50     {core['p50_ms']:10.2f} ms
  latency p99     {core['p99_ms']:10.2f} ms
  delivered/s     {core['delivered_per_s']:10.0f}   ({core['delivered']} delivered in {core['window_s']:.1f} s, first accepted to last final)
  lost            {core['lost']:10d}
  peak RSS        {rss}
  CPU             {cpu}
  write lock      {describe_write_lock(core, core['stored'], core['window_s'])}""", flush=True)


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("make bench needs wrk (Debian package 'wrk')")
    work = Path(tempfile.mkdtemp(prefix="mecm-bench-"))
    try:
        print(f"mecm bench: wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s, sendSMS with {PATH_COUNT} pre-signed URLs, "
              + (f"rate limits of {HIGH_LIMIT}/s (MECM_BENCH_RATE_LIMIT)" if RATE_LIMITED else "no rate limits"),
              flush=True)
        if ONLY_CORE:
            guard_ratio.print_guard_ratio(guard_ratio.guard_ratio(work / "core-guarded"))
            return
        core = bench_core(work / "core")
        print_core(core)
        guarded = guard_ratio.guard_ratio(work / "core-guarded")
        guard_ratio.print_guard_ratio(guarded)
        alone = api_alone.bench_api_alone(work / "api-alone")
        api_alone.print_api_alone(alone)
        over_smpp = smpp.bench_smpp(work / "smpp")
        smpp_ratio = over_smpp["delivered_per_s"] / core["accepted_per_s"]
        smpp.print_smpp(over_smpp, smpp_ratio)
        scaled = scale.bench_scale(work / "scale")
        scale_ratio = scaled["delivered_per_s"] / core["accepted_per_s"]
        scale.print_scale(scaled, scale_ratio)
        searched = mo_search.bench_mo_search(work / "mo-search")
        mo_search.print_mo_search(searched)
        cli = cli_start.bench_cli_start(work / "cli-start")
        cli_start.print_cli_start(cli)
        console = console_pages.bench_console_pages(work / "console")
        console_pages.print_console_pages(console)
        base = bench_baseline(work / "core" / "paths.txt", work)
        kannel_figures = kannel.bench_kannel(work / "kannel")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = core["accepted_per_s"] / base["req_per_s"]
    print(f"""bare Starlette baseline (constant 300-byte XML)
  req/s           {base['req_per_s']:10.0f}   p50 {base['p50_ms']:.2f} ms  p99 {base['p99_ms']:.2f} ms
ratio (a) = core accepted/s / baseline req/s = {ratio:.2f}   (target >= {CORE_TARGET:.2f} (issue 2), >= 0.60 (issue 5); p99 <= 25 ms, peak RSS <= 150 MB)
""")
    kannel.print_kannel(kannel_figures)
    kannel_ratio = (core["accepted_per_s"] / kannel_figures["accepted_per_s"] if kannel_figures["accepted_per_s"]
                    else float("nan"))
    print(f"ratio = core accepted/s / Kannel accepted/s = {kannel_ratio:.2f}   (target >= {KANNEL_TARGET:.2f}, "
          f"issue 15: {'yes' if kannel_ratio >= KANNEL_TARGET else 'no'})\n", flush=True)
    api_ratio = core["accepted_per_s"] / alone["accepted_per_s"]
    print_issue_15(core, ratio, kannel_ratio, smpp_ratio, scale_ratio, api_ratio)
    print("BENCHJSON " + json.dumps({"core": core, "core_guarded": guarded, "api_alone": alone, "api_ratio": api_ratio,
                                     "smpp": over_smpp, "scale": scaled, "mo_search": searched,
                                     "cli_start": cli, "console_pages": console,
                                     "baseline": base, "ratio": ratio, "smpp_ratio": smpp_ratio,
                                     "scale_ratio": scale_ratio, "kannel": kannel_figures,
                                     "kannel_ratio": kannel_ratio}))


def print_issue_15(core: dict, baseline_ratio: float, kannel_ratio: float, smpp_ratio: float, scale_ratio: float,
                   api_ratio: float) -> None:
    """Issue 15's acceptance, each figure from this run beside its target."""
    delivered_ratio = core["delivered_per_s"] / core["accepted_per_s"]
    rss = max(core["peak_rss_mb"], core["worker_peak_rss_mb"])
    rows = [
        ("core accepted/s / Kannel accepted/s", f"{kannel_ratio:.2f}", ">= 1.00", kannel_ratio >= 1.0),
        ("core accepted/s / bare Starlette req/s", f"{baseline_ratio:.2f}", ">= 0.60", baseline_ratio >= 0.60),
        ("core delivered/s / accepted/s", f"{delivered_ratio:.2f}", ">= 0.90", delivered_ratio >= 0.90),
        ("core p99", f"{core['p99_ms']:.1f} ms", "<= 25 ms", core["p99_ms"] <= 25),
        ("core peak RSS, largest process", f"{rss:.0f} MB", "<= 150 MB", rss <= 150),
        ("core lost", f"{core['lost']}", "0", core["lost"] == 0),
        ("SMPP delivered/s / core accepted/s", f"{smpp_ratio:.2f}", ">= 0.60", smpp_ratio >= 0.60),
        ("scale-out delivered/s / core accepted/s", f"{scale_ratio:.2f}", ">= 0.60", scale_ratio >= 0.60),
        ("API with delivery / API alone, accepted/s", f"{api_ratio:.2f}", ">= 0.90", api_ratio >= 0.90),
    ]
    print("issue 15, from this run:")
    for name, figure, target, met in rows:
        print(f"  {name:42} {figure:>9}   target {target:9}  {'yes' if met else 'no'}")
    print(flush=True)


if __name__ == "__main__":
    main()
