"""The Kannel scenario of ``make bench``: what an established open-source SMS gateway gives on this
machine, under the same load as mecm's core scenario.

Kannel 1.4.5 from Debian's packages (``kannel``: bearerbox and smsbox; ``kannel-extras``: fakesmsc,
its test SMSC), installed with apt-get when missing. bearerbox, smsbox and fakesmsc run on
127.0.0.1 only, with a kannel.conf, logs and store in a temporary directory:

    wrk ──HTTP GET /cgi-bin/sendsms──> smsbox ──> bearerbox (store-type file) ──> smsc fake ──> fakesmsc

wrk is run as bench/common.py's run_wrk runs it (-t1, the same connections, duration and timeout)
with a copy of bench/wrk_paths.lua that counts Kannel's success answer ("202", body
``0: Accepted for delivery``) where mecm's counts ``<status>OK</status>``; as there, answers of 400
and up are errors. The paths file has the shape of write_paths': PATH_COUNT GET paths, one a line,
each with its own recipient and text.

Kannel is set up as one would run it for throughput with a durable queue: store-type file (each
message appended to the store file and flushed, no fsync, before bearerbox acknowledges it to
smsbox; smsbox answers only then, immediate-sendsms-reply is off), log level warning, no access
logs, DLRs in memory. fakesmsc takes every MT and prints nothing (-m 0: it sends no MO).

Figures: req/s and accepted/s, p50 and p99, errors, messages bearerbox handed to fakesmsc (and any
accepted but not sent), and the peak RSS and CPU of bearerbox and smsbox.

``python -m bench.kannel`` runs this scenario alone; ``make bench`` runs it after the baseline and
prints core accepted/s over Kannel accepted/s (bench/core.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import httpx

from bench.common import CONNECTIONS, DURATION_S, HERE, PATH_COUNT, cpu_s, free_port, peak_rss_mb, run_wrk

PACKAGES = ("kannel", "kannel-extras")
HOST = "127.0.0.1"
USER, PASSWORD, ADMIN_PASSWORD = "bench", "bench-sendsms", "bench-admin"
SENDER = "55501"
ACCEPTED = "0: Accepted for delivery"  # smsbox's answer (HTTP 202) once bearerbox has stored the message
DRAIN_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True,
                          check=False)
    return done.returncode == 0 and done.stdout.strip() == "install ok installed"


def ensure_packages() -> None:
    """Install the Debian packages kannel and kannel-extras if they are missing (as ``make bench``
    installs wrk); exit with a one-line message naming the package if that fails."""
    missing = [p for p in PACKAGES if not _installed(p)]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, capture_output=True, check=False)
    for package in missing:
        if not _installed(package):
            sys.exit(f"the kannel scenario needs Kannel (Debian package '{package}'); "
                     f"install it with: sudo apt-get install {' '.join(PACKAGES)}")


def _package_file(package: str, name: str) -> Path:
    listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
    for line in listed.splitlines():
        if line.endswith("/" + name) and os.access(line, os.X_OK) and Path(line).is_file():
            return Path(line)
    sys.exit(f"the kannel scenario found no {name} in the Debian package '{package}'")


def binaries() -> dict[str, Path]:
    """bearerbox and smsbox (package kannel) and fakesmsc (kannel-extras, under /usr/lib/kannel/test)."""
    return {"bearerbox": _package_file("kannel", "bearerbox"), "smsbox": _package_file("kannel", "smsbox"),
            "fakesmsc": _package_file("kannel-extras", "fakesmsc")}


def write_config(work: Path, ports: dict[str, int]) -> Path:
    """kannel.conf: every listening socket on 127.0.0.1, logs and store in `work`."""
    conf = work / "kannel.conf"
    conf.write_text(f"""\
group = core
admin-port = {ports['admin']}
admin-interface = {HOST}
admin-password = {ADMIN_PASSWORD}
admin-allow-ip = "{HOST}"
smsbox-port = {ports['smsbox']}
smsbox-interface = {HOST}
box-allow-ip = "{HOST}"
log-file = "{work / 'bearerbox.log'}"
log-level = 2
store-type = file
store-location = "{work / 'kannel.store'}"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = FAKE
port = {ports['fake']}
our-host = {HOST}
connect-allow-ip = "{HOST}"

group = smsbox
bearerbox-host = {HOST}
bearerbox-port = {ports['smsbox']}
sendsms-port = {ports['sendsms']}
sendsms-interface = {HOST}
log-file = "{work / 'smsbox.log'}"
log-level = 2

group = sendsms-user
username = {USER}
password = {PASSWORD}
user-allow-ip = "{HOST}"

group = sms-service
keyword = default
text = "No service"
""")
    return conf


def write_kannel_paths(path: Path) -> None:
    """PATH_COUNT sendsms paths, each with its own recipient and text (write_paths' shape)."""
    with path.open("w") as out:
        for i in range(PATH_COUNT):
            number = f"1305{random.randint(2000000, 9999999)}"
            text = quote_plus(f"Benchmark message {i}: your order has shipped")
            out.write(f"/cgi-bin/sendsms?username={USER}&password={PASSWORD}&from={SENDER}&to={number}"
                      f"&text={text}\n")


def write_wrk_script(work: Path) -> Path:
    """bench/wrk_paths.lua counting Kannel's success answer instead of mecm's."""
    mecm_ok = '"<status>OK</status>"'
    source = (HERE / "wrk_paths.lua").read_text()
    if mecm_ok not in source:
        sys.exit(f"bench/wrk_paths.lua no longer matches {mecm_ok}: update bench/kannel.py")
    script = work / "wrk_kannel.lua"
    script.write_text(source.replace(mecm_ok, json.dumps(ACCEPTED)))
    return script


@contextlib.contextmanager
def box(command: list[str], log: Path, cwd: Path) -> Iterator[subprocess.Popen]:
    """A Kannel process in a process group of its own, stopped with SIGTERM to the group (bearerbox
    shuts down cleanly on it), then SIGKILL if it is still there after STOP_TIMEOUT_S."""
    with open(log, "w") as err:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                 cwd=cwd, start_new_session=True)
    try:
        yield child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
            os.killpg(child.pid, signal.SIGKILL)
        if child.returncode is None:
            child.wait(10)


_SENT = re.compile(r"SMS: received \d+ \(\d+ queued\), sent (\d+) \((\d+) queued\), store size (-?\d+)")


def status(client: httpx.Client, admin_url: str) -> str:
    return client.get(f"{admin_url}/status.txt", params={"password": ADMIN_PASSWORD}, timeout=2).text


def wait_ready(client: httpx.Client, admin_url: str, sendsms_url: str, children: list[subprocess.Popen],
               timeout: float = 30) -> None:
    """Until fakesmsc is connected to bearerbox (its smsc online), smsbox is connected to it, and
    sendsms answers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for child in children:
            if child.poll() is not None:
                sys.exit(f"{Path(child.args[0]).name} exited with {child.returncode}")
        try:
            text = status(client, admin_url)
            if re.search(r"FAKE:\d+ \(online", text) and "smsbox:" in text:
                client.get(sendsms_url, timeout=2)  # any answer (403 without credentials) will do
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"Kannel was not ready within {timeout} s")


def wait_sent(client: httpx.Client, admin_url: str, accepted: int, timeout: float = DRAIN_TIMEOUT_S) -> dict:
    """Until bearerbox has handed every accepted message to fakesmsc (nothing queued, the store
    empty), or `timeout`: how many it sent."""
    deadline = time.time() + timeout
    while True:
        match = _SENT.search(status(client, admin_url))
        if match is None:
            sys.exit("bearerbox's status page has no SMS line")
        sent, queued, stored = (int(g) for g in match.groups())
        if (sent >= accepted and queued == 0 and stored <= 0) or time.time() > deadline:
            return {"sent": sent, "queued": queued, "store_size": stored}
        time.sleep(0.2)


def bench_kannel(work: Path) -> dict:
    """The Kannel scenario in `work` (created here): its figures."""
    ensure_packages()
    if shutil.which("wrk") is None:
        sys.exit("the kannel scenario needs wrk (Debian package 'wrk')")
    bins = binaries()
    work.mkdir()
    ports: dict[str, int] = {}
    while len(set(ports.values())) < 4:
        ports = {name: free_port() for name in ("admin", "smsbox", "fake", "sendsms")}
    conf = write_config(work, ports)
    paths = work / "paths.txt"
    write_kannel_paths(paths)
    script = write_wrk_script(work)
    admin_url, base_url = f"http://{HOST}:{ports['admin']}", f"http://{HOST}:{ports['sendsms']}"
    with contextlib.ExitStack() as stack, httpx.Client(trust_env=False) as client:
        # Stopped in reverse: smsbox, fakesmsc, bearerbox (each in a process group of its own).
        bearerbox = stack.enter_context(box([str(bins["bearerbox"]), "-v", "2", str(conf)],
                                            work / "bearerbox.stderr", work))
        deadline = time.time() + 30  # until its fake smsc listens (the connection is on its status page)
        while f"FAKE:{ports['fake']}" not in _try_status(client, admin_url) and time.time() < deadline:
            if bearerbox.poll() is not None:
                sys.exit(f"bearerbox exited with {bearerbox.returncode} (see {work / 'bearerbox.stderr'})")
            time.sleep(0.1)
        fakesmsc = stack.enter_context(box(
            [str(bins["fakesmsc"]), "-v", "2", "-H", HOST, "-r", str(ports["fake"]), "-m", "0", "1 2 text unused"],
            work / "fakesmsc.stderr", work))
        smsbox = stack.enter_context(box([str(bins["smsbox"]), "-v", "2", str(conf)], work / "smsbox.stderr", work))
        wait_ready(client, admin_url, f"{base_url}/cgi-bin/sendsms", [bearerbox, fakesmsc, smsbox])
        result = run_wrk(base_url, paths, script=script)
        drained = wait_sent(client, admin_url, result["ok"])
        figures = {"bearerbox_peak_rss_mb": peak_rss_mb(bearerbox.pid), "smsbox_peak_rss_mb": peak_rss_mb(smsbox.pid),
                   "bearerbox_cpu_s": cpu_s(bearerbox.pid), "smsbox_cpu_s": cpu_s(smsbox.pid)}
    seconds = result["duration_us"] / 1e6
    return {
        "requests": result["requests"], "ok": result["ok"], "errors": result["errors"],
        "req_per_s": result["requests"] / seconds, "accepted_per_s": result["ok"] / seconds,
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "sent": drained["sent"], "not_sent": max(0, result["ok"] - drained["sent"]),
        "peak_rss_mb": figures["bearerbox_peak_rss_mb"] + figures["smsbox_peak_rss_mb"], **figures,
    }


def _try_status(client: httpx.Client, admin_url: str) -> str:
    try:
        return status(client, admin_url)
    except httpx.HTTPError:
        return ""


def print_kannel(kannel: dict) -> None:
    per = 1e6 / max(1, kannel["ok"])
    print(f"""Kannel 1.4.5 (Debian kannel, kannel-extras): sendsms -> bearerbox (store file) -> fakesmsc
  req/s           {kannel['req_per_s']:10.0f}   ({kannel['ok']} accepted of {kannel['requests']} requests, {kannel['errors']} errors; accepted/s {kannel['accepted_per_s']:.0f})
  latency p50     {kannel['p50_ms']:10.2f} ms
  latency p99     {kannel['p99_ms']:10.2f} ms
  sent            {kannel['sent']:10d}   to fakesmsc ({kannel['not_sent']} accepted and not sent)
  peak RSS        {kannel['peak_rss_mb']:10.1f} MB bearerbox + smsbox ({kannel['bearerbox_peak_rss_mb']:.1f} + {kannel['smsbox_peak_rss_mb']:.1f})
  CPU             {kannel['bearerbox_cpu_s']:10.1f} s bearerbox ({kannel['bearerbox_cpu_s'] * per:.0f} us per message), {kannel['smsbox_cpu_s']:.1f} s smsbox ({kannel['smsbox_cpu_s'] * per:.0f} us)""",
          flush=True)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mecm-bench-kannel-"))
    try:
        print(f"kannel bench: wrk -t1 -c{CONNECTIONS} -d{DURATION_S}s, sendsms with {PATH_COUNT} distinct paths",
              flush=True)
        kannel = bench_kannel(work / "kannel")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_kannel(kannel)
    print("BENCHJSON " + json.dumps({"kannel": kannel}))


if __name__ == "__main__":
    main()
