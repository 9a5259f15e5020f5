"""Issue 12's ratio: the core scenario with rate limits and a price list (too high ever to refuse)
against the plain core scenario, measured so that a host whose speed drifts favours neither.

Run one after the other, two 10-s core runs on this shared host differed by up to 25 % with nothing
changed (bench.core's pairs, 2026-12-02: pair ratios 0.75 to 1.09), far more than the 5 % measured.
So both servers run at once, each idle while the other is loaded, and wrk drives them in turn for
SLICE_S seconds at a time, in the order plain, guarded, guarded, plain, ... for ROUNDS rounds: a
slow minute of the host falls on both alike. After each slice the loaded side's delivery is let
finish what it accepted (every message final) before the next slice starts: otherwise one side's
worker drained its backlog on the cores while wrk drove the other, and round ratios ranged from
0.67 to 1.07. Each side's accepted/s is its OK answers over its seconds of load; the ratio compares
those totals (the median of the rounds' ratios is printed beside it). Then each side's messages are
waited for to be final and counted lost as in the core scenario, and the API process's CPU per
message stored is shown. BENCH_GUARD_ROUNDS (24) sets the rounds: single rounds of one run ranged
from 0.87 to 1.09 on this host, and the total of many is what narrows that.

``python -m bench.guard_ratio`` runs it alone (about 5 minutes); ``make bench`` runs it as its
core-guarded scenario.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.common import (
    HIGH_LIMIT,
    MECM,
    cpu_s,
    demo,
    free_port,
    mecm_env,
    process,
    run_wrk,
    wait_final,
    wait_http,
    write_paths,
)

ROUNDS = int(os.environ.get("BENCH_GUARD_ROUNDS", "24"))
SLICE_S = int(os.environ.get("BENCH_GUARD_SLICE_S", "4"))
TARGET = 0.95


def price_everything(env: dict[str, str], creds: dict) -> None:
    """A price list and a balance no run can spend (almost 10^12 units: 10^14 sends at 0.0075)."""
    workspace = str(creds["instance_id"])
    for args in (("credit", "top-up", "--amount", "999999999999"),
                 ("price", "set", "--per-segment", "0.0075")):
        subprocess.run([*MECM, "admin", *args, "--workspace", workspace], env=env, check=True,
                       capture_output=True)


def limit_the_key(env: dict[str, str], creds: dict) -> None:
    """The demo key's own sends limit, beside the workspace's: each send takes a token from two buckets."""
    subprocess.run([*MECM, "admin", "limit", "set", "--workspace", str(creds["instance_id"]), "--key",
                    creds["public_key"], "--class", "sends", "--rate", str(HIGH_LIMIT), "--burst",
                    str(HIGH_LIMIT)], env=env, check=True, capture_output=True)


class Side:
    """One of the two servers and what wrk has measured of it."""

    def __init__(self, work: Path, guarded: bool) -> None:
        self.work, self.guarded = work, guarded
        work.mkdir(parents=True)
        self.port = free_port()
        self.env = mecm_env(work, self.port, limited=guarded)
        creds = demo(self.env)
        if guarded:
            price_everything(self.env, creds)
            limit_the_key(self.env, creds)
        self.paths = work / "paths.txt"
        write_paths(creds, self.paths)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ok = 0
        self.seconds = 0.0
        self.warm_up_ok = 0  # answered OK in the first, uncounted second: to be stored all the same

    def load(self, seconds: int) -> float:
        """wrk at this server for ``seconds``; the accepted/s of that slice."""
        result = run_wrk(self.url, self.paths, duration_s=seconds)
        slice_s = result["duration_us"] / 1e6
        self.ok += result["ok"]
        self.seconds += slice_s
        wait_final(self.work / "mecm.db", self.ok + self.warm_up_ok)  # its backlog delivered: both idle
        return result["ok"] / slice_s

    @property
    def accepted_per_s(self) -> float:
        return self.ok / self.seconds


def guard_ratio(work: Path, rounds: int = ROUNDS, slice_s: int = SLICE_S) -> dict:
    sides = {guarded: Side(work / ("guarded" if guarded else "plain"), guarded) for guarded in (False, True)}
    with contextlib.ExitStack() as stack:
        servers = {}
        for guarded, side in sides.items():
            servers[guarded] = stack.enter_context(process([*MECM, "serve"], side.env, side.work / "server.log"))
            wait_http(f"{side.url}/healthz", servers[guarded])
        for side in sides.values():  # a first second each, not counted: catalogs read, connections made
            side.warm_up_ok = run_wrk(side.url, side.paths, duration_s=1)["ok"]
            wait_final(side.work / "mecm.db", side.warm_up_ok)
        round_ratios = []
        for i in range(rounds):
            order = (False, True) if i % 2 == 0 else (True, False)
            rates = {guarded: sides[guarded].load(slice_s) for guarded in order}
            round_ratios.append(rates[True] / rates[False])
            print(f"  round {i + 1}: plain {rates[False]:.0f}/s, guarded {rates[True]:.0f}/s, "
                  f"ratio {round_ratios[-1]:.3f}", flush=True)
        figures = {}
        for guarded, side in sides.items():
            # every send answered OK, the warm-up's included, must be stored and end final
            outcome = wait_final(side.work / "mecm.db", side.ok + side.warm_up_ok)
            figures[guarded] = {"accepted_per_s": side.accepted_per_s, "ok": side.ok, "seconds": side.seconds,
                                "lost": outcome["lost"], "stored": outcome["stored"],
                                "cpu_us_per_message": cpu_s(servers[guarded].pid) * 1e6 / max(1, outcome["stored"])}
    return {"plain": figures[False], "guarded": figures[True], "rounds": rounds, "slice_s": slice_s,
            "ratio": figures[True]["accepted_per_s"] / figures[False]["accepted_per_s"],
            "median_round_ratio": statistics.median(round_ratios)}


def print_guard_ratio(result: dict) -> None:
    plain, guarded = result["plain"], result["guarded"]
    print(f"""core-guarded: rate limits ({HIGH_LIMIT}/s per workspace and per key) and a price list (every send debited),
  against plain core, {result['rounds']} rounds of {result['slice_s']} s each, in turn (bench/guard_ratio.py)
  accepted/s      plain {plain['accepted_per_s']:.0f}   guarded {guarded['accepted_per_s']:.0f}
  lost            plain {plain['lost']}   guarded {guarded['lost']}
  API CPU/message plain {plain['cpu_us_per_message']:.0f} us   guarded {guarded['cpu_us_per_message']:.0f} us
  ratio           {result['ratio']:.3f}   (median of the rounds {result['median_round_ratio']:.3f}; target >= {TARGET}, issue 12)
""", flush=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mecm-guard-"))
    try:
        print_guard_ratio(guard_ratio(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
