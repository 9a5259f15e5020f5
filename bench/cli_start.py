"""``make bench``: how long the ``mecm`` command takes, start to exit (wall time), for the commands
people run most: ``mecm --help`` and ``mecm admin workspace list`` (issue 13: under 0.3 s each).

Each command runs ``RUNS`` times in a fresh process of the installed ``mecm`` entry point, on a
database made by ``mecm init`` in a temporary var dir; the median is printed (a first run warms the
file cache and is not counted), with the median CPU time (user + system) beside it: on a busy
machine the wall time mostly measures the wait for a core, the CPU time what the command itself
costs. Python's compiled modules are kept (in the temporary dir, whatever PYTHONDONTWRITEBYTECODE
says), as an installed mecm has them: compiling mecm's modules at every start would add ~0.05 s.
``python -m bench.cli_start`` runs this part alone.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("MECM_BENCH_CLI_RUNS", "11"))
TARGET_S = 0.3
COMMANDS = (("--help",), ("admin", "workspace", "list"), ("admin", "workspace", "list", "--json"))
_ENTRY_POINT = Path(sys.executable).parent / "mecm"
MECM = [str(_ENTRY_POINT)] if _ENTRY_POINT.is_file() else [sys.executable, "-m", "mecm"]


def _environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"MECM_VAR_DIR": str(work / "var"), "MECM_CONFIG": str(work / "mecm.toml"), "COLUMNS": "100",
                "PYTHONPYCACHEPREFIX": str(work / "pycache")})
    (work / "mecm.toml").write_text("")
    return env


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(args: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time of one run."""
    cpu, started = _cpu_of_children(), time.perf_counter()
    subprocess.run([*MECM, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu_of_children() - cpu


def bench_cli_start(work: Path, runs: int = RUNS) -> dict[str, dict[str, float]]:
    """Median, fastest and slowest wall time of each command, and its median CPU time, in seconds."""
    work.mkdir(parents=True, exist_ok=True)
    env = _environment(work)
    subprocess.run([*MECM, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*MECM, "admin", "workspace", "create", "--name", "bench"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    results = {}
    for args in COMMANDS:
        _once(args, env)  # warm-up
        runs_taken = [_once(args, env) for _ in range(runs)]
        times = [wall for wall, _ in runs_taken]
        results["mecm " + " ".join(args)] = {"median_s": statistics.median(times), "min_s": min(times),
                                             "max_s": max(times),
                                             "cpu_median_s": statistics.median(cpu for _, cpu in runs_taken)}
    return results


def print_cli_start(results: dict[str, dict[str, float]]) -> None:
    print(f"CLI start-up, wall time of the whole command (median of {RUNS} runs; target < {TARGET_S} s on a quiet "
          f"machine; load average now {os.getloadavg()[0]:.1f})")
    for command, figures in results.items():
        verdict = "ok" if figures["median_s"] < TARGET_S else "over"
        print(f"  {command:<36} {figures['median_s']:6.3f} s   (min {figures['min_s']:.3f}, "
              f"max {figures['max_s']:.3f}; CPU {figures['cpu_median_s']:.3f} s)  {verdict}")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mecm-bench-cli-"))
    try:
        results = bench_cli_start(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_cli_start(results)
    print("BENCHJSON " + json.dumps({"cli_start": results}))


if __name__ == "__main__":
    main()
