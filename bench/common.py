"""What the ``make bench`` scenarios share: ports, processes, wrk, signed paths, final statuses, RSS.

    port = free_port()
    env = mecm_env(work, port); creds = demo(env)      # a fresh SQLite database with the demo workspace
    write_paths(creds, work / "paths.txt", carrier="movistar")
    with process([*MECM, "serve"], env, work / "server.log") as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        result = run_wrk(f"http://127.0.0.1:{port}", work / "paths.txt")
        outcome = wait_final(work / "mecm.db", result["ok"])
        serve_figures(server.pid)                         # RSS and CPU of the API and its worker
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx

from mecm.domain.b64 import encode as b64
from mecm.domain.signature import sign

HERE = Path(__file__).parent
DURATION_S = int(os.environ.get("BENCH_DURATION_S", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
PATH_COUNT = 200_000
DRAIN_TIMEOUT_S = 120
MECM = [sys.executable, "-m", "mecm"]
FINAL = ("DELIVERED_TO_DEVICE", "UNDELIVERED", "EXPIRED", "UNREACHABLE", "NOT_SENT", "BAD_FROM", "BAD_TO",
         "BAD_CARRIER", "NOT_ENOUGH_FUNDS")
OPEN = ("PENDING", "SENDING", "SENT_TO_CARRIER")  # every other status is final


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str] | None, log: Path, **popen: object) -> Iterator[subprocess.Popen]:
    """A child process, stopped with SIGTERM (then SIGKILL) on exit; stderr goes to `log`."""
    with open(log, "w") as err:
        child = subprocess.Popen(command, env=env, stdout=popen.pop("stdout", subprocess.DEVNULL), stderr=err,
                                 **popen)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)


def wait_http(url: str, child: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if child.poll() is not None:
            sys.exit(f"{child.args[:4]} exited with {child.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"{url} did not answer within {timeout} s")


T = TypeVar("T")


def wait_until(find: Callable[[], T | None], timeout_s: float, failure: str) -> T:
    """What ``find`` returns once it returns something true, asked every 0.1 s (the poll of a wait
    for a condition, not a wait); the benchmark stops with ``failure`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (found := find()):
        if time.monotonic() > deadline:
            sys.exit(failure)
        time.sleep(0.1)
    return found


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), read before it is stopped."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_pid(serve_pid: int) -> int | None:
    """The delivery worker that ``mecm serve`` started (its one child process), if any."""
    children = [int(c) for task in Path(f"/proc/{serve_pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    return children[0] if children else None


def serve_figures(serve_pid: int) -> dict:
    """Peak RSS and CPU seconds of ``mecm serve`` (the API) and of its delivery worker, read before
    they are stopped."""
    worker = worker_pid(serve_pid)
    if worker is None:
        sys.exit("mecm serve is running without its delivery worker")
    return {"peak_rss_mb": peak_rss_mb(serve_pid), "cpu_s": cpu_s(serve_pid),
            "worker_peak_rss_mb": peak_rss_mb(worker), "worker_cpu_s": cpu_s(worker)}


def describe_serve(figures: dict, messages: int) -> tuple[str, str]:
    """The peak RSS and CPU lines' text for mecm: API process, then worker process."""
    per = 1e6 / max(1, messages)
    rss = f"{figures['peak_rss_mb']:10.1f} MB mecm API, {figures['worker_peak_rss_mb']:.1f} MB its worker"
    cpu = (f"{figures['cpu_s']:10.1f} s mecm API ({figures['cpu_s'] * per:.0f} us per message), "
           f"{figures['worker_cpu_s']:.1f} s worker ({figures['worker_cpu_s'] * per:.0f} us)")
    return rss, cpu


_WRITER_LINE = re.compile(r" (api|worker|all) (?:receipt )?writer: (\d+) writes in (\d+) commits; "
                          r"([\d.]+) s waiting for the write lock, ([\d.]+) s holding it")


def write_lock_figures(log: Path) -> dict:
    """Seconds each process held and waited for SQLite's shared write lock, from the lines its
    writers log when they stop (mecm/runtime.py): by role, every writer of the process summed."""
    held: dict[str, float] = {}
    waited: dict[str, float] = {}
    for match in _WRITER_LINE.finditer(log.read_text(errors="replace")):
        role = match.group(1)
        waited[role] = waited.get(role, 0.0) + float(match.group(4))
        held[role] = held.get(role, 0.0) + float(match.group(5))
    return {"lock_held_s": held, "lock_waited_s": waited}


def describe_write_lock(figures: dict, messages: int, window_s: float) -> str:
    """The write lock line: how long the API and its worker held it, per message and in all."""
    held, waited = figures["lock_held_s"], figures["lock_waited_s"]
    if "api" not in held or "worker" not in held:
        return "(no writer figures in the log)"
    per = 1e6 / max(1, messages)
    busy = (held["api"] + held["worker"]) / window_s if window_s > 0 else float("nan")
    return (f"{held['api']:10.1f} s held by the API ({held['api'] * per:.0f} us per message, "
            f"{waited['api']:.1f} s waiting for it), {held['worker']:.1f} s by its worker "
            f"({held['worker'] * per:.0f} us); busy {100 * busy:.0f}% of the {window_s:.1f} s window")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, paths_file: Path, duration_s: int = DURATION_S, script: Path = HERE / "wrk_paths.lua") -> dict:
    """wrk (C, one thread, its own core) replaying pre-signed paths; its WRKJSON summary. ``script``:
    the Lua script that replays them and counts the answers (bench/kannel.py counts Kannel's)."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration_s}s", "--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(command, env={**os.environ, "PATHS": str(paths_file)}, capture_output=True, text=True,
                          check=False)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    sys.exit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


# MECM_BENCH_RATE_LIMIT=1 runs every scenario with rate limits configured, too high ever to refuse:
# each workspace's default limit of every class at HIGH_LIMIT (and in the core scenario the demo key
# a limit of its own as well, bench/core.py), so each request takes its tokens as in a deployment.
# Unset, the scenarios run with no rate limit at all (the defaults, 1,000 sends a second per
# workspace, would refuse the load a bench sends). The two runs' accepted/s compare the limits' cost.
RATE_LIMITED = os.environ.get("MECM_BENCH_RATE_LIMIT", "") not in ("", "0")
HIGH_LIMIT = 1_000_000  # per second, and the burst


def rate_limit_env(limited: bool = RATE_LIMITED) -> dict[str, str]:
    """The settings of the rate limits a bench scenario runs with (see RATE_LIMITED)."""
    rate, burst = (str(HIGH_LIMIT), str(HIGH_LIMIT)) if limited else ("0", "1")
    return {f"MECM_RATE_{cls}_{part}": value for cls in ("SENDS", "PINS", "READS")
            for part, value in (("PER_S", rate), ("BURST", burst))}


def mecm_env(work: Path, port: int, limited: bool = RATE_LIMITED) -> dict[str, str]:
    """The environment of a mecm on its own SQLite database and var directory in `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    env.update({"MECM_DATABASE_URL": f"sqlite:///{work / 'mecm.db'}", "MECM_VAR_DIR": str(work),
                "MECM_PORT": str(port), "MECM_CONFIG": str(work / "none.toml"), **rate_limit_env(limited)})
    (work / "none.toml").write_text("")
    return env


def demo(env: dict[str, str]) -> dict:
    """Create the demo workspace (simulated carrier "movistar"); its credentials."""
    done = subprocess.run([*MECM, "demo", "--json"], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def write_paths(creds: dict, path: Path, carrier: str | None = None) -> None:
    """PATH_COUNT signed sendSMS paths with unique texts, so every request is a distinct send."""
    instance, code = str(creds["instance_id"]), creds["code"]
    carrier = carrier or creds["carrier"]
    with path.open("w") as out:
        for i in range(PATH_COUNT):
            number = f"1305{random.randint(2000000, 9999999)}"
            params = [instance, carrier, code, b64(number), b64(f"Benchmark message {i}: your order has shipped")]
            signature = sign(creds["private_key"], "/".join(params))
            out.write(f"/rest/api/tools/sendSMS/{'/'.join(params)}/{creds['public_key']}/{signature}\n")


def connect(database: Path | str) -> tuple[object, str]:
    """A DB-API connection to mecm's database (a SQLite file, or a postgresql:// URL) and its
    placeholder."""
    if isinstance(database, str) and database.startswith("postgresql"):
        import psycopg

        return psycopg.connect(database, autocommit=True), "%s"
    return sqlite3.connect(database), "?"


def wait_final(database: Path | str, ok: int, timeout: float = DRAIN_TIMEOUT_S) -> dict:
    """Wait until every stored message is final (or `timeout`), then count.

    `ok` is how many OK answers wrk saw. Lost: OK answers without a stored message, plus stored
    messages that never reached a final status. The load window runs from the first message's
    creation to the last final status (both from the rows' own timestamps, in ms).

    The wait polls only the messages still open (the queue index, status first), five times a
    second. It used to count the whole table every 50 ms: on PostgreSQL a scan of every message,
    25 ms each, half a core taken from the delivery it was timing in the scale-out scenario's
    drain.
    """
    db, mark = connect(database)
    final_marks = ",".join([mark] * len(FINAL))
    open_marks = ",".join([mark] * len(OPEN))
    try:
        deadline = time.time() + timeout
        while True:
            still_open = db.execute(f"SELECT COUNT(*) FROM messages WHERE status IN ({open_marks})",
                                    OPEN).fetchone()[0]
            if still_open == 0 or time.time() > deadline:
                # A request wrk left in flight may be stored a moment later: count both, and
                # wait on if one came in that is not final yet.
                stored, final = db.execute(
                    f"SELECT COUNT(*), COUNT(CASE WHEN status IN ({final_marks}) THEN 1 END) FROM messages",
                    FINAL).fetchone()
                if final >= stored or time.time() > deadline:
                    break
            time.sleep(0.2)  # the window comes from the rows' own timestamps, not from this poll
        delivered = db.execute("SELECT COUNT(*) FROM messages WHERE status = 'DELIVERED_TO_DEVICE'").fetchone()[0]
        first_ms, last_ms = db.execute(
            f"SELECT MIN(created_at_ms), MAX(CASE WHEN status IN ({final_marks}) THEN updated_at_ms END) "
            "FROM messages", FINAL).fetchone()
        by_status = dict(db.execute("SELECT status, COUNT(*) FROM messages GROUP BY status").fetchall())
    finally:
        db.close()
    window_s = (last_ms - first_ms) / 1000 if first_ms is not None and last_ms is not None else float("nan")
    return {
        "stored": stored, "final": final, "delivered": delivered, "by_status": by_status,
        "lost": max(0, ok - stored) + (stored - final),
        "first_created_ms": first_ms, "last_final_ms": last_ms, "window_s": window_s,
        "delivered_per_s": delivered / window_s if window_s and window_s > 0 else 0.0,
    }
