"""docs/operations.md followed literally on one machine (issue 16): ``make ops-trial``, and CI runs it
(tests/integration/test_operations_trial.py).

What the document says to type is read from the document itself, so the trial fails when the two
part: the PostgreSQL statements of step 1, the environment file of step 3, the services' ExecStart
lines of step 4, the openssl command and the nginx configuration of step 6, and the rolling restart
procedure. Only addresses, ports, paths and names are changed, each by a rule below (``Doc``), and
every address left in the configuration must be 127.0.0.1: nothing here connects anywhere else.

The deployment: PostgreSQL (a role and database of the trial's own, dropped at the end), two API
nodes (``mecm api --workers 2`` each, their own var dir as on their own machines), one
``mecm worker``, ``mecm smsc-sim`` as the carrier (SMPP, window 10), Debian's nginx in front with a
self-signed certificate. The script plays systemd: it starts the services, stops them with SIGTERM
and starts them again.

It checks, and exits 1 naming what failed:

1. ``nginx -t`` passes on the document's configuration;
2. under load through nginx (HTTPS), a rolling restart of both API nodes, done as the document says,
   answers no request with a 5xx or a broken connection;
3. a SIGKILL of the worker under load loses nothing (every message answered OK is delivered) and
   the SMSC sees at most the carrier's window twice (the bound docs/operations.md states);
4. the request ids nginx passed appear in the API nodes' logs (every failure, a sample of the rest).

Needs nginx and openssl (Debian packages ``nginx``, ``openssl``) and a PostgreSQL superuser at
``MECM_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1/postgres``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import psycopg

from mecm.domain.b64 import encode as b64
from mecm.domain.signature import sign

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "operations.md"
MECM = [sys.executable, "-m", "mecm"]
ADMIN_URL = os.environ.get("MECM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")
NAME = f"mecm_ops_trial_{os.getpid()}"  # the role and the database the document calls "mecm"
WINDOW = 10
SENDERS = 8  # requests in flight through nginx at any moment
STARTUP_S = 90  # a bound on waits for a process to start on a busy machine, never a time waited
T = TypeVar("T")


def say(line: str) -> None:
    print(line, flush=True)


def wait_until(what: str, predicate: Callable[[], T], timeout_s: float = STARTUP_S, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TrialFailed(f"not within {timeout_s:g} s: {what}")
        time.sleep(interval)
    return value


class TrialFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- what the document says to type ---------------------------------------------------------------


def indented_blocks(text: str) -> list[str]:
    """The document's indented code blocks (four spaces), each as its text without the indent."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("    ") or (current and not line.strip()):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current).strip("\n"))
            current = []
    if current:
        blocks.append("\n".join(current).strip("\n"))
    return blocks


def block_starting(blocks: list[str], start: str, containing: str = "") -> str:
    found = [b for b in blocks if b.lstrip().startswith(start) and containing in b]
    if len(found) != 1:
        raise TrialFailed(f"docs/operations.md: expected one code block starting {start!r}"
                          f"{f' with {containing!r}' if containing else ''}, found {len(found)}")
    return found[0]


@dataclass
class Doc:
    sql: list[str]  # step 1, as the superuser
    env: dict[str, str]  # step 3: the environment file
    api_args: list[str]  # step 4: after .../bin/mecm in the API unit's ExecStart
    worker_args: list[str]  # step 4: the worker's
    openssl: list[str]  # step 6
    nginx_conf: str  # step 6: /etc/nginx/conf.d/mecm.conf


def read_doc() -> Doc:
    text = DOC.read_text()
    blocks = indented_blocks(text)
    sql = re.findall(r'psql -c "([^"]+)"', block_starting(blocks, "sudo -u postgres psql"))
    env = {}
    for line in block_starting(blocks, "MECM_DATABASE_URL=", "MECM_VAR_DIR").splitlines():
        key, _, value = line.partition("=")
        env[key.strip()] = value.split("#", 1)[0].strip()
    api = re.search(r"^\s*ExecStart=\S+/mecm (api .*)$", text, re.M)
    worker = re.search(r"^\s*ExecStart=\S+/mecm (worker.*)$", text, re.M)
    if api is None or worker is None:
        raise TrialFailed("docs/operations.md: no ExecStart line for the API or the worker")
    openssl = shlex.split(block_starting(blocks, "openssl req").replace("\\\n", " "))
    return Doc(sql=sql, env=env, api_args=shlex.split(api.group(1)), worker_args=shlex.split(worker.group(1)),
               openssl=openssl, nginx_conf=block_starting(blocks, "upstream mecm_api"))


# -- the deployment, on one machine ---------------------------------------------------------------


@dataclass
class Node:
    """One service, as systemd runs it: a command, an environment, a log; started and stopped."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log)

    def stop(self, timeout_s: float = 30) -> int | None:
        """systemctl stop: SIGTERM, SIGKILL after TimeoutStopSec."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise TrialFailed(f"{self.name} did not stop within {timeout_s:g} s of SIGTERM") from None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Deployment:
    work: Path
    doc: Doc
    env: dict[str, str] = field(default_factory=dict)
    api_ports: list[int] = field(default_factory=list)
    https_port: int = 0
    nodes: dict[str, Node] = field(default_factory=dict)
    nginx_conf: Path | None = None
    creds: dict[str, Any] = field(default_factory=dict)
    sim_control: str = ""
    upstream_as_written: str | None = None  # conf.d/mecm.conf before any node was marked down

    # step 1
    def create_database(self) -> str:
        statements = [s.replace("ROLE mecm ", f"ROLE {NAME} ").replace("DATABASE mecm OWNER mecm",
                                                                      f"DATABASE {NAME} OWNER {NAME}")
                      for s in self.doc.sql]
        if len(statements) != 2 or any(NAME not in s for s in statements):
            raise TrialFailed(f"docs/operations.md step 1 is not a CREATE ROLE and a CREATE DATABASE: {self.doc.sql}")
        self.drop_database()
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as connection:
            for statement in statements:
                connection.execute(statement)
        password = re.search(r"PASSWORD '([^']*)'", statements[0])
        host = ADMIN_URL.split("@", 1)[1].split("/", 1)[0]
        return f"postgresql://{NAME}:{password.group(1) if password else ''}@{host}/{NAME}"

    def drop_database(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
            connection.execute(f"DROP ROLE IF EXISTS {NAME}")

    # steps 2 and 3
    def write_environment(self, database_url: str) -> None:
        secrets = self.mecm("new-secrets", "--json")
        env = dict(self.doc.env)
        if set(env) != {"MECM_DATABASE_URL", "MECM_MASTER_KEY", "MECM_ADMIN_TOKEN", "MECM_LOG_FORMAT", "MECM_VAR_DIR"}:
            raise TrialFailed(f"docs/operations.md step 3 names other settings: {sorted(env)}")
        env["MECM_DATABASE_URL"] = database_url
        env["MECM_MASTER_KEY"], env["MECM_ADMIN_TOKEN"] = secrets["MECM_MASTER_KEY"], secrets["MECM_ADMIN_TOKEN"]
        env["MECM_VAR_DIR"] = str(self.work / "admin-var")  # each machine its own /var/lib/mecm
        (self.work / "admin-var").mkdir(mode=0o700)
        self.env = env

    def node_env(self, name: str) -> dict[str, str]:
        var = self.work / name / "var"
        var.mkdir(parents=True, exist_ok=True, mode=0o700)
        return {**without_mecm_settings(), **self.env, "MECM_VAR_DIR": str(var)}

    def mecm(self, *args: str) -> Any:
        done = subprocess.run([*MECM, *args], env={**without_mecm_settings(), **self.env}, capture_output=True, text=True,
                              timeout=300, cwd=self.work)
        if done.returncode != 0:
            raise TrialFailed(f"mecm {' '.join(args)}: exit {done.returncode}: {done.stdout}{done.stderr}")
        return json.loads(done.stdout) if "--json" in args else done.stdout

    # step 4
    def services(self) -> None:
        if not {"0.0.0.0", "8080"} <= set(self.doc.api_args):
            raise TrialFailed(f"the API unit's ExecStart has no --host 0.0.0.0 --port 8080: {self.doc.api_args}")
        for index in (1, 2):
            port = free_port()
            self.api_ports.append(port)
            args = [("127.0.0.1" if a == "0.0.0.0" else str(port) if a == "8080" else a) for a in self.doc.api_args]
            name = f"api-{index}"
            self.nodes[name] = Node(name, [*MECM, *args], self.node_env(name), self.work / f"{name}.log")
        self.nodes["worker-1"] = Node("worker-1", [*MECM, *self.doc.worker_args], self.node_env("worker-1"),
                                      self.work / "worker-1.log")
        for name in ("api-1", "api-2", "worker-1"):  # smsc-sim, started earlier, is not a service
            self.nodes[name].start()
        for index, port in enumerate(self.api_ports, 1):
            wait_until(f"api-{index} ready", lambda p=port: ready(p))

    # step 6
    def proxy(self) -> None:
        prefix = self.work / "nginx"
        for sub in ("conf.d", "tmp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        openssl = [a.replace("/etc/nginx/", f"{prefix}/") for a in self.doc.openssl]
        run(openssl)
        self.https_port = free_port()
        conf = self.doc.nginx_conf
        rules = [
            ("server api-1.internal:8080", f"server 127.0.0.1:{self.api_ports[0]}"),
            ("server api-2.internal:8080", f"server 127.0.0.1:{self.api_ports[1]}"),
            ("listen 443 ssl;", f"listen 127.0.0.1:{self.https_port} ssl;"),
            ("/etc/nginx/", f"{prefix}/"),
            ("allow 10.0.0.0/8;", "allow 127.0.0.1;"),
        ]
        for old, new in rules:
            if old not in conf:
                raise TrialFailed(f"docs/operations.md's nginx configuration has no {old!r}")
            conf = conf.replace(old, new)
        left = set(re.findall(r"\b(?:\d+\.){3}\d+\b|\b[\w-]+\.internal\b", conf)) - {"127.0.0.1"}
        if left:
            raise TrialFailed(f"an address other than 127.0.0.1 is left in the nginx configuration: {left}")
        (prefix / "conf.d" / "mecm.conf").write_text(conf + "\n")
        self.nginx_conf = prefix / "nginx.conf"
        temp = "\n".join(f"    {kind}_temp_path {prefix}/tmp/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.nginx_conf.write_text(f"""{'user root;' if os.geteuid() == 0 else ''}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format trial '$request_id $status $upstream_addr $request_time';
    access_log {prefix}/access.log trial;
{temp}
    include {prefix}/conf.d/mecm.conf;
}}
""")
        tested = subprocess.run([nginx(), "-t", "-p", str(prefix), "-c", str(self.nginx_conf)],
                                capture_output=True, text=True)
        if tested.returncode != 0:
            raise TrialFailed(f"nginx -t failed: {tested.stderr}")
        say("  nginx -t: " + tested.stderr.strip().splitlines()[-1])
        self.nodes["nginx"] = Node("nginx", [nginx(), "-p", str(prefix), "-c", str(self.nginx_conf),
                                             "-g", "daemon off;"], dict(os.environ), self.work / "nginx.out")
        self.nodes["nginx"].start()
        wait_until("nginx answers", lambda: https_answers(self.https_port, self.cert_path))

    @property
    def cert_path(self) -> Path:
        return self.work / "nginx" / "mecm.crt"

    def nginx_signal(self, command: str) -> None:
        assert self.nginx_conf is not None
        run([nginx(), "-p", str(self.nginx_conf.parent), "-c", str(self.nginx_conf), "-s", command])

    def nginx_workers(self) -> set[int]:
        master = self.nodes["nginx"].process
        assert master is not None
        return children(master.pid)

    def mark_down(self, index: int, down: bool) -> None:
        """Rolling restart, steps 1 and 4: ``down`` on the node's upstream line (or the line as the
        document has it), ``nginx -s reload``, and wait until nginx runs the new configuration
        alone: the reload returns at once, and the old worker processes go on with the old one
        until their requests are answered."""
        conf_path = self.work / "nginx" / "conf.d" / "mecm.conf"
        if self.upstream_as_written is None:
            self.upstream_as_written = conf_path.read_text()
        conf = self.upstream_as_written
        if down:
            line = f"server 127.0.0.1:{self.api_ports[index - 1]}"
            conf = re.sub(rf"{re.escape(line)}[^;]*;", f"{line} down;", conf)
        conf_path.write_text(conf)
        before = self.nginx_workers()
        self.nginx_signal("reload")
        wait_until("nginx's old worker processes exited after the reload",
                   lambda: (now := self.nginx_workers()) and not (now & before), interval=0.05)

    def carrier(self) -> None:
        sim_home = self.work / "smsc"
        sim_home.mkdir()
        self.nodes["smsc-sim"] = Node(
            "smsc-sim", [*MECM, "smsc-sim", "--port", "0", "--control-port", "0", "--password", "trial8pw",
                         "--db-path", str(sim_home / "smsc.db"), "--receipt-delay-ms", "20", "--json"],
            without_mecm_settings(), sim_home / "smsc-sim.log")
        node = self.nodes["smsc-sim"]
        # its first line on stdout says where it listens; its log goes to stderr
        with open(sim_home / "listening.json", "wb") as listening_file, open(node.log_path, "ab") as log:
            node.process = subprocess.Popen(node.argv, env=node.env, stdout=listening_file, stderr=log)
        listening = wait_until("smsc-sim listening", lambda: read_json_line(sim_home / "listening.json"))
        self.sim_control = listening["control_url"]
        added = subprocess.run(
            [*MECM, "admin", "carrier", "add", "--name", "smsc", "--connector", "smpp", "--host", listening["host"],
             "--port", str(listening["port"]), "--system-id", "mecm", "--window", str(WINDOW), "--json"],
            env={**without_mecm_settings(), **self.env, "MECM_SMPP_PASSWORD": "trial8pw"}, capture_output=True, text=True, cwd=self.work)
        if added.returncode != 0:
            raise TrialFailed(f"mecm admin carrier add: {added.stdout}{added.stderr}")

    def sim_stats(self) -> dict[str, Any]:
        return httpx.get(self.sim_control + "/stats", timeout=30).json()

    def statuses(self, ids: list[int]) -> Counter[str]:
        with psycopg.connect(self.env["MECM_DATABASE_URL"], connect_timeout=10) as connection:
            rows = connection.execute("SELECT status, COUNT(*) FROM messages WHERE id = ANY(%s) GROUP BY status",
                                      (ids,)).fetchall()
        return Counter(dict(rows))

    def close(self) -> None:
        for node in reversed(list(self.nodes.values())):
            with contextlib.suppress(Exception):
                node.stop(timeout_s=30)


def without_mecm_settings() -> dict[str, str]:
    """This process's environment without MECM_ settings: each node gets the guide's alone."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}


def nginx() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise TrialFailed(f"{argv[0]} failed: {done.stderr or done.stdout}")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def tls_context(cert: Path) -> ssl.SSLContext:
    """Trusts the trial's self-signed certificate; its name (sms.example.com) is not checked, since
    the trial reaches nginx at 127.0.0.1."""
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    return context


def https_answers(port: int, cert: Path) -> bool:
    try:
        return httpx.get(f"https://127.0.0.1:{port}/healthz", verify=tls_context(cert), timeout=5).status_code < 600
    except httpx.HTTPError:
        return False


def read_json_line(path: Path) -> dict | None:
    line = path.read_text().split("\n", 1)[0] if path.exists() else ""
    return json.loads(line) if line.endswith("}") else None


# -- the load ---------------------------------------------------------------------------------------


class Load(threading.Thread):
    """SENDERS clients sending sendSMS through nginx without pause until stopped. Keeps the ids of
    every message answered OK and every answer that was not (HTTP status, or the error).

    Each send carries an Idempotency-Key, and a send whose connection closed before any answer is
    sent again once with the same key, as docs/operations.md tells clients to: ``nginx -s reload``
    closes idle keep-alive connections, and a request written on one as it closes gets no answer.
    The key makes the retry safe whatever happened to the first (the SMSC's count of distinct
    messages checks it); the retries are counted and printed."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.ok: list[int] = []
        self.failures: list[str] = []
        self.request_ids: list[str] = []
        self.stopping = threading.Event()
        self.sent = 0
        self.retried: list[str] = []

    def run(self) -> None:
        asyncio.run(self._run())

    def _path(self, n: int) -> str:
        c = self.deployment.creds
        params = ["smsc", quote(str(c["code"])), b64(f"58414{n:07d}"), b64(f"trial {n}")]
        joined = "/".join([str(c["instance_id"]), *params])
        return f"/rest/api/tools/sendSMS/{joined}/{quote(c['public_key'], safe='')}/{sign(c['private_key'], joined)}"

    async def _run(self) -> None:
        base = f"https://127.0.0.1:{self.deployment.https_port}"
        async with httpx.AsyncClient(base_url=base, verify=tls_context(self.deployment.cert_path), timeout=60) as http:
            async def sender(first: int) -> None:
                n = first
                while not self.stopping.is_set():
                    n += SENDERS
                    self.sent += 1
                    path, key = self._path(n), {"Idempotency-Key": f"trial-{n}"}
                    try:
                        try:
                            response = await http.get(path, headers=key)
                        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                            self.retried.append(error.__class__.__name__)
                            response = await http.get(path, headers=key)
                    except httpx.HTTPError as error:
                        self.failures.append(f"{error.__class__.__name__}: {error}")
                        continue
                    if response.status_code != 200:
                        self.failures.append(f"HTTP {response.status_code}")
                        continue
                    root = ET.fromstring(response.content)
                    if root.findtext("status") != "OK":
                        self.failures.append(f"{root.findtext('status')}: {root.findtext('description')}")
                        continue
                    message_id = root.findtext("result/messages/message/id")
                    if not message_id:
                        self.failures.append("OK without a message id")
                        continue
                    self.ok.append(int(message_id))

            await asyncio.gather(*(sender(i) for i in range(SENDERS)))

    def wait_for_more(self, count: int) -> None:
        start = len(self.ok)
        wait_until(f"{count} more messages answered OK", lambda: len(self.ok) >= start + count)


# -- the trial ----------------------------------------------------------------------------------------


def trial(work: Path) -> list[str]:
    """Runs every step; the list of what failed (empty: all held)."""
    failed: list[str] = []
    try:
        deployment = Deployment(work, read_doc())
    except TrialFailed as error:
        return [str(error)]
    try:
        say("step 1: PostgreSQL role and database")
        database_url = deployment.create_database()
        say("step 2-3: secrets (mecm new-secrets), the environment, mecm init")
        deployment.write_environment(database_url)
        deployment.mecm("init")
        deployment.creds = deployment.mecm("demo", "--json")
        deployment.carrier()
        say(f"step 4: two API nodes ({' '.join(deployment.doc.api_args)}) and one worker")
        deployment.services()
        say("step 6: certificate, nginx")
        deployment.proxy()

        load = Load(deployment)
        load.start()
        try:
            load.wait_for_more(200)
            say("rolling restart of both API nodes under load")
            for index in (1, 2):
                node = deployment.nodes[f"api-{index}"]
                deployment.mark_down(index, True)
                code = node.stop()
                node.start()
                wait_until(f"api-{index} ready again", lambda p=deployment.api_ports[index - 1]: ready(p))
                deployment.mark_down(index, False)
                say(f"  api-{index}: stopped (exit {code}), started, ready, back in the upstream")
                load.wait_for_more(200)
            restart_failures = list(load.failures)
            if restart_failures:
                failed.append(f"rolling restart: {len(restart_failures)} requests failed: "
                              f"{Counter(restart_failures).most_common(5)}")

            say("worker SIGKILL under load")
            before = deployment.sim_stats()
            wait_until("the SMSC is receiving submits", lambda: deployment.sim_stats()["submits"] >= before["submits"] + 100)
            deployment.nodes["worker-1"].kill()
            deployment.nodes["worker-1"].start()  # Restart=always
            load.wait_for_more(300)
        finally:
            load.stopping.set()
            load.join(timeout=120)
        if load.failures[len(restart_failures):]:
            failed.append(f"after the rolling restart, {len(load.failures) - len(restart_failures)} requests failed: "
                          f"{Counter(load.failures[len(restart_failures):]).most_common(5)}")

        ids = load.ok
        final = {"DELIVERED_TO_DEVICE"}
        try:
            wait_until("every message answered OK is delivered",
                       lambda: set(deployment.statuses(ids)) <= final and sum(deployment.statuses(ids).values()) == len(ids),
                       timeout_s=180, interval=0.5)
        except TrialFailed as error:
            failed.append(f"{error}: {dict(deployment.statuses(ids))} of {len(ids)}")
        stats = deployment.sim_stats()
        duplicates = stats["duplicates"]
        say(f"  {len(load.retried)} sends retried after their connection closed unanswered: {Counter(load.retried)}")
        say(f"  {len(ids)} messages answered OK of {load.sent} sent; {dict(deployment.statuses(ids))}; "
            f"SMSC: {stats['submits']} submits, {duplicates} duplicates (bound: window {WINDOW})")
        if stats["submits"] - duplicates != len(ids):
            failed.append(f"the SMSC received {stats['submits'] - duplicates} distinct messages, not {len(ids)}")
        if duplicates > WINDOW:
            failed.append(f"{duplicates} messages reached the SMSC twice after one worker kill: more than the window")

        logged = request_ids_logged(work)
        passed = {line.split(" ", 1)[0] for line in (work / "nginx" / "access.log").read_text().splitlines()}
        say(f"  request ids: {len(logged)} in the API logs, {len(logged & passed)} of them passed by nginx")
        if not logged or not logged <= passed:
            failed.append(f"the API logs' request ids are not those nginx passed: {sorted(logged - passed)[:5]}")
    except TrialFailed as error:
        failed.append(str(error))
    finally:
        deployment.close()
        with contextlib.suppress(Exception):
            deployment.drop_database()
    return failed


def request_ids_logged(work: Path) -> set[str]:
    """The request ids of the API nodes' request log lines for sendSMS (JSON, MECM_LOG_FORMAT=json):
    the trial's own /readyz polls go to the nodes directly, not through nginx."""
    ids = set()
    for log in (work / "api-1.log", work / "api-2.log"):
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if (record.get("logger") == "mecm.requests" and record.get("request_id")
                        and record.get("message", "").startswith("sendSMS ")):
                    ids.add(record["request_id"])
    return ids


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="mecm-ops-trial-"))
    say(f"docs/operations.md on one machine, in {work}")
    failed = trial(work)
    if failed:
        say("FAILED:\n" + "\n".join(f"- {f}" for f in failed) + f"\n(logs kept in {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    say("every check held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
