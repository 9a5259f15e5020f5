"""``make profile``: where the API process spends its time on the sendSMS path.

Starts ``mecm serve`` on a fresh SQLite database (as make bench's core scenario), drives it with wrk
and pre-signed sendSMS paths, and samples the API process with py-spy (100 samples a second, idle
time left out) for the load's duration. Prints the functions that were on CPU most often, by their
own time and with what they call, and the accepted/s of the profiled run (py-spy slows it a little). ``BENCH_PRICED=1``: with a price
list, as the core scenario's (bench/core.py). ``PROFILE_PROCESS=worker``: the delivery worker that
``mecm serve`` started, instead of the API process (what delivering costs, beside the same load).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import (
    DURATION_S,
    MECM,
    RATE_LIMITED,
    demo,
    free_port,
    mecm_env,
    process,
    run_wrk,
    wait_http,
    wait_until,
    worker_pid,
    write_paths,
)
from bench.guard_ratio import limit_the_key, price_everything

TOP = int(os.environ.get("PROFILE_TOP", "25"))  # how many functions to print
PROCESS = os.environ.get("PROFILE_PROCESS", "api")  # "api" or "worker"


def _frame_name(frame: str) -> str:
    """py-spy's "function (path/to/file.py:line)" as "function (file.py)"."""
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[parts.index("mecm"):]) if "mecm" in parts else Path(path).name
    return f"{function} ({short})"


def summarise(raw: Path) -> tuple[int, Counter[str], Counter[str]]:
    """(samples, own samples per function, samples with the function anywhere on the stack)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    return samples, own, total


def main() -> None:
    if PROCESS not in ("api", "worker"):
        sys.exit("PROFILE_PROCESS must be api or worker")
    if shutil.which("wrk") is None or shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None:
        sys.exit("make profile needs wrk (Debian package) and py-spy (pip install py-spy)")
    py_spy = str(Path(sys.executable).parent / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="mecm-profile-"))
    try:
        port = free_port()
        env = mecm_env(work, port)
        creds = demo(env)
        if os.environ.get("BENCH_PRICED", "") == "1":
            price_everything(env, creds)
        if RATE_LIMITED:  # the demo key's own limit too, as the guarded core scenario's
            limit_the_key(env, creds)
        paths = work / "paths.txt"
        write_paths(creds, paths)
        raw = work / "profile.txt"
        with process([*MECM, "serve"], env, work / "server.log") as server:
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
            profiled = server.pid if PROCESS == "api" else \
                wait_until(lambda: worker_pid(server.pid), 60, "mecm serve started no worker")
            spy = subprocess.Popen([py_spy, "record", "--format", "raw", "--rate", "100", "--duration",
                                    str(DURATION_S), "--pid", str(profiled), "--output", str(raw), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            result = run_wrk(f"http://127.0.0.1:{port}", paths)
            spy.wait(60)
        samples, own, total = summarise(raw)
        accepted = result["ok"] / (result["duration_us"] / 1e6)
        what = "API process" if PROCESS == "api" else "delivery worker"
        print(f"mecm serve {what} under wrk (-c64, {DURATION_S} s): {accepted:.0f} accepted/s while profiled, "
              f"{samples} samples on CPU")
        print(f"\n{'own %':>6} {'with callees %':>15}  function")
        for name, count in own.most_common(TOP):
            print(f"{100 * count / samples:6.1f} {100 * total[name] / samples:15.1f}  {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
