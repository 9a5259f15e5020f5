"""Start a real ``mecm serve`` process on a fresh database, for API and integration tests."""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from mecm.domain.signature import sign
from tests.support import cli_forkserver
from tests.support.databases import new_database_url, on_postgresql
from tests.support.waiting import wait_until

MECM = [sys.executable, "-m", "mecm"]
# How long ``mecm serve`` may take to answer its health check: a bound on a wait for it, not a time
# waited. It starts in a few seconds on a quiet machine; 30 s ran out under a loaded one's test runs.
STARTUP_S = 60.0


def _port_range() -> range:
    """Ports for this test process's servers, below the kernel's ephemeral range (32768 and up), so
    that no socket bound to port 0 meanwhile can take one between its choice and the server's bind.
    No other test process picks from it: each database's run has a range of its own, and each of the
    run's pytest-xdist workers (``make test`` runs several) a slice of that."""
    start = 20_000 if not on_postgresql() else 26_000
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    size = 6_000 // workers
    return range(start + worker * size, start + (worker + 1) * size)


_PORTS = _port_range()


def free_port() -> int:
    for _ in range(100):
        port = random.choice(_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use
            return port
    raise RuntimeError(f"no free port in {_PORTS}")


def run_mecm(args: list[str], *, env: dict[str, str], input: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``mecm *args`` in a process of its own, as ``subprocess.run([*MECM, *args], env=env, input=input,
    capture_output=True, text=True)`` returns it; the process is forked from one that has imported mecm
    already (tests/support/cli_forkserver.py says why). Tests of how the command starts use MECM."""
    return cli_forkserver.run(args, env=env, input=input, timeout=timeout)


def run_cli(env: dict[str, str], *args: str) -> dict:
    """Run ``mecm ... --json`` and return its one JSON object."""
    done = run_mecm([*args, "--json"], env=env)
    if done.returncode != 0:
        raise RuntimeError(f"mecm {' '.join(args)} failed ({done.returncode}): {done.stdout} {done.stderr}")
    return json.loads(done.stdout)


def answers(url: str) -> bool:
    """Does a mecm at ``url`` answer its health check (now, within a second)?"""
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def kill_process(process: subprocess.Popen | cli_forkserver.ForkedProcess | None) -> None:
    """SIGKILL: no goodbye, like a crash."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


def stop_process(process: subprocess.Popen | cli_forkserver.ForkedProcess | None, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout_s``."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            kill_process(process)


@dataclass
class Server:
    home: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen | cli_forkserver.ForkedProcess | None = None
    creds: dict = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)  # what make_server wrote to mecm.toml

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return self.env["MECM_DATABASE_URL"]

    def cli(self, *args: str) -> dict:
        return run_cli(self.env, *args)

    @functools.cached_property
    def admin_token(self) -> str:
        """The deployment's single admin token, as ``mecm admin token`` prints it (asked once)."""
        return self.cli("admin", "token")["admin_token"]

    def admin_api(self, token: str | None = None) -> httpx.Client:
        """A client of the admin API (``/admin/api``) with the admin token, or ``token``; close it
        (``with server.admin_api() as http``). The server must be started."""
        return httpx.Client(base_url=self.url + "/admin/api",
                            headers={"Authorization": f"Bearer {token or self.admin_token}"}, timeout=30)

    def start(self) -> None:
        self.process = cli_forkserver.start(["serve"], env=self.env, output=self.home / "server.log")
        deadline = time.time() + STARTUP_S
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {(self.home / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start within {STARTUP_S:.0f} s")

    def kill(self) -> None:
        kill_process(self.process)

    def stop(self) -> None:
        stop_process(self.process, timeout_s=15)

    def catalog_refreshes(self) -> dict[str, int]:
        """Catalog refreshes each process of the server has completed (``mecm_catalog_refreshes_total``
        on /metrics, by process: the API's role, and ``worker``)."""
        token = self.settings.get("ops_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = httpx.get(f"{self.url}/metrics", headers=headers, timeout=30)
        answer.raise_for_status()
        counts = {}
        for line in answer.text.splitlines():
            if line.startswith("mecm_catalog_refreshes_total{"):
                labels, value = line.rsplit(" ", 1)
                counts[labels.split('process="', 1)[1].split('"', 1)[0]] = int(float(value))
        return counts

    def wait_for_catalog(self, timeout: float = 30.0) -> None:
        """Until each process of the running server has re-read the catalog (workspaces, keys, codes,
        carriers, campaigns; opt-outs) from a start after this call: what the CLI committed before
        the call is then seen by all of them. Two refreshes, because one may have begun before."""
        before = self.catalog_refreshes()
        assert before, "the server's /metrics shows no catalog refreshes"

        def caught_up() -> bool:
            now = self.catalog_refreshes()
            # A process that answers only now (the worker, starting) begins its first refresh after this
            # call: one is enough for it.
            return all(now.get(p, 0) >= before.get(p, -1) + 2 for p in {*before, *now})

        wait_until(caught_up, timeout)

    # -- helpers for tests --------------------------------------------------------------------

    def count(self, table: str, where: str = "1=1", *args: object) -> int:
        return self.query(f"SELECT COUNT(*) FROM {table} WHERE {where}", *args)[0][0]

    def query(self, sql: str, *args: object) -> list[tuple]:
        """Run ``sql`` (``?`` placeholders) on the server's database, SQLite or PostgreSQL."""
        url = self.database_url
        if url.startswith("sqlite:///"):
            with sqlite3.connect(url[len("sqlite:///"):]) as connection:
                return connection.execute(sql, args).fetchall()
        import psycopg

        with psycopg.connect(url) as connection:
            cursor = connection.execute(sql.replace("?", "%s"), args)
            return cursor.fetchall() if cursor.description is not None else []  # an INSERT returns no rows

    def signed_path(self, method: str, params: list[str], *, tools: bool = True, creds: dict | None = None,
                    encode: bool = True) -> str:
        creds = creds or self.creds
        raw = [quote(p, safe="") if encode else p for p in params]
        signature = sign(creds["private_key"], "/".join(raw))
        prefix = "tools/" if tools else ""
        return f"/rest/api/{prefix}{method}/{'/'.join(raw)}/{creds['public_key']}/{signature}"


def make_server(home: Path, **settings: str) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    env.update({
        "MECM_DATABASE_URL": new_database_url(home),
        "MECM_VAR_DIR": str(home),
        "MECM_PORT": str(port),
        "MECM_CATALOG_REFRESH_S": "0.2",
        # Longer than httpx's keep-alive expiry (5 s), so that a test's client always drops an idle
        # connection before the server does: with both at 5 s, a request sent on a connection the
        # server was closing got "Server disconnected without sending a response" (a send, which
        # cannot be retried blindly). tests/api/test_http_limits.py sets its own.
        "MECM_HTTP_KEEP_ALIVE_S": "30",
        "MECM_CONFIG": str(home / "mecm.toml"),
    })
    (home / "mecm.toml").write_text("".join(f'{k} = "{v}"\n' for k, v in settings.items()))
    server = Server(home, port, env, settings=dict(settings))
    server.creds = demo(env)  # the demo workspace, as `make run` makes it (serve would refuse an empty database)
    return server


def demo(env: dict[str, str]) -> dict:
    """What ``mecm demo --json`` does and prints, run in this process: set-up, not under test (a CLI
    process costs a second or two of imports; tests/integration/test_file_modes.py runs the command)."""
    from mecm.cli.server import demo_credentials_path, ensure_demo
    from mecm.config import load_settings

    settings = load_settings(env)
    creds = ensure_demo(settings)
    return {**creds, "base_url": f"http://{settings.host}:{settings.port}",
            "credentials_file": str(demo_credentials_path(settings))}
