"""Issue 5: many processes on PostgreSQL. Two API processes (``mecm api --workers 2``) and two
delivery workers (``mecm worker``) share one database and one SMPP carrier (``mecm smsc-sim``)
allowed two binds. Under load one worker is killed with SIGKILL: the other takes over its
messages, every acknowledged message reaches a final status, and the SMSC sees a message twice
only as ``on_unknown=query`` allows (a submit whose response died with the worker: at most its
window).

PostgreSQL only: on SQLite one worker delivers per database (store/locks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.integration.test_crash_recovery import FINAL
from tests.integration.test_worker_process import alive, children
from tests.support.databases import on_postgresql
from tests.support.server import MECM, Server, answers, kill_process, make_server, stop_process
from tests.support.smsc import SmscSim, smsc_sim
from tests.support.tcp_proxy import tcp_proxy
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not on_postgresql(), reason="several workers share a PostgreSQL database only"),
]

WINDOW = 20
MESSAGES = 1500
BACKLOG = 1000  # of them sent before the workers start; the rest while they deliver
# Messages a worker claims at a time. With the default (500, up to 4 claims in hand) the first worker
# to look could claim every message while the other was slow to (a loaded machine) and leave it
# none; 4 claims of 25 leave most of the backlog to be shared.
DISPATCH_BATCH = 25
# How long four Python processes may take to start (imports, migrations check, leases) when the
# machine is busy: a bound on a wait for a condition, never a time waited.
STARTUP_S = 60


def wait_for(condition, timeout_s: float, what: str):  # noqa: ANN001, ANN201
    try:
        return wait_until(condition, timeout=timeout_s)
    except AssertionError:
        raise AssertionError(f"not within {timeout_s} s: {what}") from None


COMMANDS = {"api": ["api", "--workers", "2"], "api1": ["api"], "worker1": ["worker"], "worker2": ["worker"]}


@contextlib.contextmanager
def processes(server: Server, *names: str) -> Iterator[dict[str, subprocess.Popen]]:
    """Some of ``mecm api --workers 2`` and two ``mecm worker``, each logging to a file of its own."""
    started: dict[str, subprocess.Popen] = {}
    try:
        for name in names:
            log = open(server.home / f"{name}.log", "ab")
            started[name] = subprocess.Popen([*MECM, *COMMANDS[name]], env=server.env, stdout=log, stderr=log)
        if "api" in names or "api1" in names:
            wait_for(lambda: answers(server.url), STARTUP_S, "the API answers")
        yield started
    finally:
        for process in started.values():
            stop_process(process, timeout_s=15)


async def send(server: Server, carrier: str, numbers: range, accepted: list[int]) -> None:
    c = server.creds
    # 40 requests at a time: a request waiting its turn for a connection would count that wait against
    # its timeout, and on a busy machine a thousand queued ones run out of it (httpx.PoolTimeout).
    gate = asyncio.Semaphore(40)
    async with httpx.AsyncClient(base_url=server.url, limits=httpx.Limits(max_connections=40), timeout=30) as client:
        async def one(i: int) -> None:
            params = [str(c["instance_id"]), carrier, c["code"], b64(f"58414{i:07d}"), b64(f"scale-out {i}")]
            async with gate:
                response = await client.get(server.signed_path("sendSMS", params))
            root = ET.fromstring(response.content)
            assert root.findtext("status") == "OK", root.findtext("description")
            accepted.append(int(root.findtext("result/messages/message/id")))

        await asyncio.gather(*(one(i) for i in numbers))


def node_of(log: Path) -> int:
    """The node id a process leased (it logs it at start)."""
    found = wait_for(lambda: [line for line in log.read_text().splitlines() if "node id" in line], STARTUP_S, "a node id")
    return int(found[0].rsplit(" ", 1)[1])


def bound_sessions(sim: SmscSim) -> int:
    return len(sim.stats()["sessions"])


def test_two_apis_two_workers_one_killed_under_load_loses_nothing(tmp_path: Path) -> None:
    (tmp_path / "smsc").mkdir()
    with smsc_sim(tmp_path / "smsc", receipt_delay_ms=200, submit_latency_ms=5) as sim:
        server = make_server(tmp_path / "mecm", dispatch_batch=str(DISPATCH_BATCH))
        server.cli("admin", "carrier", "add", "--name", "movil", "--connector", "smpp", "--host", sim.host,
                   "--port", str(sim.port), "--system-id", sim.system_id, "--password", sim.password,
                   "--prefix", "58414", "--window", str(WINDOW), "--tps", "60", "--enquire-link-s", "1",
                   "--max-binds", "2")
        accepted: list[int] = []
        with processes(server, "api"), contextlib.ExitStack() as stack:
            # A backlog first: sent while the workers run, the messages could trickle in (a loaded
            # machine's API is slow) and be claimed one by one by whichever worker the API wakes.
            asyncio.run(send(server, "movil", range(BACKLOG), accepted))
            running = stack.enter_context(processes(server, "worker1", "worker2"))
            sim.wait_for(lambda: bound_sessions(sim) == 2, timeout=STARTUP_S)  # one bind per worker, no more
            sender = threading.Thread(target=lambda: asyncio.run(send(server, "movil", range(BACKLOG, MESSAGES),
                                                                      accepted)))
            sender.start()
            try:
                # Both workers deliver: each claims messages of its own.
                wait_for(lambda: len(server.query("SELECT DISTINCT claimed_by FROM messages"
                                                  " WHERE claimed_by IS NOT NULL")) == 2, 30, "both workers at work")
                # Killed in the middle of its work, under load: messages it claimed are SENDING.
                dead = node_of(server.home / "worker1.log")
                sending = f"status = 'SENDING' AND claimed_by = {dead}"
                wait_for(lambda: server.count("messages", sending) >= 10, 30, "the first worker at work")
                kill_process(running["worker1"])
                left_sending = {row[0] for row in server.query(f"SELECT id FROM messages WHERE {sending}")}
            finally:
                sender.join()
            assert len(set(accepted)) == MESSAGES

            not_final = "status NOT IN (%s)" % ",".join(f"'{s}'" for s in FINAL)
            wait_for(lambda: server.count("messages", not_final) == 0, 120, "every message final")
            statuses = Counter(dict(server.query("SELECT status, COUNT(*) FROM messages GROUP BY status")))
            assert statuses == {"DELIVERED_TO_DEVICE": MESSAGES}

            # What it left SENDING was taken over by the survivor, none by a restarted worker.
            survivor = node_of(server.home / "worker2.log")
            assert left_sending, "the kill left nothing SENDING: the take-over was not exercised"
            owners = Counter(row[0] for row in server.query("SELECT claimed_by FROM messages WHERE id IN (%s)"
                                                            % ",".join(map(str, left_sending))))
            assert owners == {survivor: len(left_sending)}

            stats = sim.stats()
            assert stats["submits"] - stats["duplicates"] == MESSAGES  # each message reached the SMSC
            assert stats["duplicates"] <= WINDOW  # only submits in flight when the worker died
            # The survivor never opened a second bind: the dead worker's slot was free, and taken once.
            assert bound_sessions(sim) <= 2
        for name in ("worker1.log", "worker2.log", "api.log"):
            assert sim.password not in (server.home / name).read_text()


def test_a_worker_whose_lease_session_ends_stops_rather_than_share_its_node_id(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    log = open(tmp_path / "worker.log", "ab")
    worker = subprocess.Popen([*MECM, "worker"], env=server.env, stdout=log, stderr=log)
    try:
        node = node_of(tmp_path / "worker.log")
        wait_for(lambda: "running" in (tmp_path / "worker.log").read_text(), 20, "the worker started")
        # The session holding the node id's advisory lock (its key: "mecm" above the node id), in this
        # test's database: other test runs on this PostgreSQL hold the same node ids in theirs.
        holder = f"""SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = {0x6D65636D}
                      AND objid = {node} AND objsubid = 1
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
        (pid,) = wait_for(lambda: server.query(holder), 10, "the lease held")[0]
        server.query(f"SELECT pg_terminate_backend({pid})")  # PostgreSQL restarted, a cut connection
        assert worker.wait(15) == 0  # a graceful stop, for its supervisor to start afresh
        assert "has ended; stopping" in (tmp_path / "worker.log").read_text()
        assert server.query(holder) == []  # nobody holds that node id now
    finally:
        kill_process(worker)


def _at_least(count: int, found: set[int]) -> set[int] | None:
    return found if len(found) >= count else None


def test_a_killed_mecm_api_takes_its_processes_with_it(tmp_path: Path) -> None:
    """Issue 16: a SIGKILL of the ``mecm api`` parent left its two processes serving on the port."""
    server = make_server(tmp_path)
    with processes(server, "api") as started:
        parent = started["api"]
        # uvicorn's two processes (and multiprocessing's resource tracker, which goes too).
        serving = wait_for(lambda: _at_least(2, children(parent.pid)), STARTUP_S, "two API processes")
        parent.kill()
        parent.wait(10)
        wait_for(lambda: not any(map(alive, serving)), 10, "the API processes exit with their parent")
        assert not answers(server.url)


def _readiness(server: Server) -> tuple[int, str] | None:
    """/readyz's HTTP status and the status its body gives."""
    try:
        response = httpx.get(server.url + "/readyz", timeout=10)
    except httpx.HTTPError:
        return None
    return response.status_code, response.json()["status"]


def _send_one(server: Server, number: str) -> tuple[int, str]:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64(number), b64("while the database comes and goes")]
    response = httpx.get(server.url + server.signed_path("sendSMS", params), timeout=30)
    return response.status_code, ET.fromstring(response.content).findtext("status")


def test_an_api_process_whose_database_goes_away_is_not_ready_until_it_is_back(tmp_path: Path) -> None:
    """Issue 16: with PostgreSQL away, ``mecm api`` stopped (its node id's session had ended) instead
    of answering 503 at /readyz; now it stays up, refuses sends, and leases a node id again."""
    from sqlalchemy.engine import make_url

    server = make_server(tmp_path, http_error_codes="true")
    direct = make_url(server.database_url)
    with tcp_proxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        server.env["MECM_DATABASE_URL"] = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        with processes(server, "api1") as started:  # one process: the send below meets the one asked
            wait_for(lambda: _readiness(server) == (200, "ready"), STARTUP_S, "ready")
            assert _send_one(server, "584140000001") == (200, "OK")
            proxy.cut()
            # First the database does not answer; then the session leasing the node id is seen gone.
            wait_for(lambda: _readiness(server) == (503, "no node id"), 60, "not ready while the database is away")
            assert _send_one(server, "584140000002") == (503, "ERROR")
            proxy.restore()
            wait_for(lambda: _readiness(server) == (200, "ready"), 60, "ready again once the database is back")
            assert _send_one(server, "584140000003") == (200, "OK")
            assert started["api1"].poll() is None, "the API process stayed up through the outage"
    server.env["MECM_DATABASE_URL"] = direct.render_as_string(hide_password=False)  # the proxy is gone
    recipients = [row[0] for row in server.query("SELECT recipient FROM messages ORDER BY id")]
    assert recipients == ["584140000001", "584140000003"]  # the refused send left nothing


def _sends_counted(server: Server) -> float:
    """sendSMS answered OK, as one scrape of /metrics says (a new connection: any process answers)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(server.url + "/metrics", timeout=30).text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "mecm_api_requests_total" and s.labels == {"method": "sendSMS", "status": "OK"})


def test_one_scrape_counts_the_requests_of_every_api_process(tmp_path: Path) -> None:
    """Issue 16: under ``mecm api --workers 2`` a scrape counted only the process that answered it."""
    server = make_server(tmp_path)
    counts_dir = tmp_path / "metrics" / f"api-{server.port}"

    def processes_counting() -> int:
        return sum(1 for file in counts_dir.glob("*.json") if json.loads(file.read_text()))

    with processes(server, "api"):
        sent = 0
        # Sends on new connections until both processes have answered some (the kernel picks which
        # process accepts a connection), so that no single process's count is the node's.
        while processes_counting() < 2:
            assert sent < 5000, "one process took every connection"
            assert _send_one(server, f"58414{sent:07d}") == (200, "OK")
            sent += 1
        wait_for(lambda: _sends_counted(server) == sent, 30, "a scrape counts every process's sends")
        assert [_sends_counted(server) for _ in range(20)] == [sent] * 20
