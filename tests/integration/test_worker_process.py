"""``mecm serve`` delivers from a worker process it starts: the worker is restarted when it dies,
dies with serve, and a restart in between loses nothing and submits nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.integration.test_crash_recovery import FINAL, send_many
from tests.support.databases import on_postgresql
from tests.support.server import Server, make_server, run_mecm
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def children(pid: int) -> set[int]:
    """The processes ``pid`` started (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not collected it


def wait_for(condition, timeout_s: float, what: str):  # noqa: ANN001, ANN201
    try:
        return wait_until(condition, timeout=timeout_s)
    except AssertionError:
        raise AssertionError(f"not within {timeout_s} s: {what}") from None


def the_worker(server: Server) -> int:
    assert server.process is not None
    (pid,) = wait_for(lambda: children(server.process.pid), 10, "serve started its worker")
    return pid


def wait_all_final(server: Server, count: int) -> dict[str, int]:
    not_final = "status NOT IN (%s)" % ",".join(f"'{s}'" for s in FINAL)
    wait_for(lambda: server.count("messages", not_final) == 0, 60, "every message final")
    statuses = dict(server.query("SELECT status, COUNT(*) FROM messages GROUP BY status"))
    assert sum(statuses.values()) == count
    return statuses


def test_a_killed_worker_is_restarted_and_nothing_is_lost_or_sent_twice(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.cli("admin", "carrier", "add", "--name", "slowsim", "--connector", "simulator",
               "--delivery-delay-ms", "1000")
    server.start()
    try:
        first = the_worker(server)
        ids = asyncio.run(send_many(server, "slowsim", 600))
        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: children(server.process.pid) - {first}, 15, "a new worker")  # type: ignore[union-attr]
        assert len(second) == 1 and not alive(first)

        assert wait_all_final(server, 600) == {"DELIVERED_TO_DEVICE": 600}
        with sqlite3.connect(tmp_path / "simulator-slowsim.db") as carrier_db:
            submits = dict(carrier_db.execute("SELECT client_ref, submit_count FROM submissions").fetchall())
        assert sorted(submits) == sorted(ids)
        assert {ref: n for ref, n in submits.items() if n != 1} == {}, "a message reached the carrier twice"
        assert "restarting" in (tmp_path / "server.log").read_text()
    finally:
        server.stop()


def test_the_worker_dies_with_serve_and_stops_with_it(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.start()
    worker = the_worker(server)
    server.kill()
    wait_for(lambda: not alive(worker), 5, "the worker of a killed serve exits")

    server.start()  # the next serve's worker takes over the queue
    worker = the_worker(server)
    c = server.creds
    with httpx.Client(base_url=server.url) as client:
        path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64("13056708084"),
                                              b64("after a restart")], encode=False)
        assert b"<status>OK</status>" in client.get(path).content
    assert wait_all_final(server, 1) == {"DELIVERED_TO_DEVICE": 1}

    server.stop()  # SIGTERM: serve stops its worker gracefully before it exits itself
    assert not alive(worker)
    log = (tmp_path / "server.log").read_text()
    assert f"delivery worker {worker} stopped" in log


def test_a_carrier_that_cannot_start_holds_its_messages_and_stops_no_other(tmp_path: Path) -> None:
    from tests.support.tls import make_certificates

    server = make_server(tmp_path)
    ca = make_certificates(tmp_path / "certs").ca
    server.cli("admin", "carrier", "add", "--name", "broken", "--connector", "smpp", "--host", "127.0.0.1",
               "--port", "9", "--system-id", "x", "--password", "pw", "--tls", "--tls-ca", str(ca))
    ca.unlink()  # the CA file is gone: the carrier's settings no longer hold
    server.start()
    try:
        c = server.creds
        with httpx.Client(base_url=server.url) as client:
            for carrier, text in (("broken", "held"), (c["carrier"], "delivered")):
                path = server.signed_path("sendSMS", [str(c["instance_id"]), carrier, c["code"],
                                                      b64("13056708084"), b64(text)], encode=False)
                assert b"<status>OK</status>" in client.get(path).content
        wait_for(lambda: server.query("SELECT status FROM messages WHERE text = 'delivered'")
                 == [("DELIVERED_TO_DEVICE",)], 30, "the demo carrier delivers")
        if on_postgresql():
            # A worker claims only messages to the carriers it holds a bind for (another worker may
            # hold this one's): the held message is left PENDING, untried, for whoever can start it.
            assert server.query("SELECT status FROM messages WHERE text = 'held'") == [("PENDING",)]
        else:
            # The one worker claims every message: the held one was tried, and waits for its carrier
            # rather than failing.
            (held,) = wait_for(lambda: server.query("SELECT status, status_detail FROM messages WHERE text = 'held'"
                                                    " AND status_detail IS NOT NULL"), 30, "the held message tried")
            assert held[0] == "PENDING" and held[1].startswith("Carrier cannot be started"), held
        assert "carrier broken cannot be started" in (tmp_path / "server.log").read_text()
    finally:
        server.stop()


def test_carrier_status_says_when_no_worker_runs(tmp_path: Path) -> None:
    import subprocess

    from tests.support.server import MECM

    server = make_server(tmp_path)
    server.process = subprocess.Popen([*MECM, "serve", "--delivery", "none"], env=server.env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _answers(server.url), 30, "serve answers")
        done = run_mecm(["admin", "carrier", "status", "--json"], env=server.env)
        assert done.returncode != 0
        assert "no delivery worker is running" in done.stdout + done.stderr
    finally:
        server.stop()


def test_on_a_worker_node_carrier_status_asks_the_worker_itself(tmp_path: Path) -> None:
    """Issue 16: a node running ``mecm worker`` alone has no HTTP port to ask; the command asks the
    worker of this machine on its status socket."""
    import json
    import subprocess

    from tests.support.server import MECM

    server = make_server(tmp_path)  # its port: nothing listens there
    with open(tmp_path / "worker.log", "ab") as log:
        worker = subprocess.Popen([*MECM, "worker"], env=server.env, stdout=log, stderr=log)
    try:
        def status() -> list | None:
            done = run_mecm(["admin", "carrier", "status", "--json"], env=server.env)
            return json.loads(done.stdout)["carriers"] if done.returncode == 0 else None

        carriers = wait_for(status, 60, "the worker answers for its carriers")
        assert [c["carrier"] for c in carriers] == [server.creds["carrier"]]
    finally:
        worker.terminate()
        worker.wait(30)
    done = run_mecm(["admin", "carrier", "status"], env=server.env)
    assert done.returncode == 2
    assert "no delivery worker of this database runs on this machine" in " ".join(done.stderr.split())


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_worker_whose_serve_is_gone_exits_before_reading_anything(tmp_path: Path) -> None:
    # Armed before the worker's imports and database check (seconds on a loaded machine), so a serve
    # killed during them leaves no worker behind: here its parent is not the serve named, and the
    # database it would refuse does not exist, yet it exits at once on the first check.
    import subprocess
    import sys

    not_its_parent = str(os.getpid() + 1)  # its parent is this test's process
    env = {**os.environ, "MECM_PARENT_PID": not_its_parent, "MECM_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}
    done = subprocess.run([sys.executable, "-m", "mecm", "worker"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"mecm: the process that started this one ({not_its_parent}) has exited"
