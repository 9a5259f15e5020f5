"""A server whose database is gone, or does not take writes, acknowledges nothing and says it is not
ready; no command but ``mecm init`` (and ``mecm demo``) creates a database (issue 12, fix 5)."""

from __future__ import annotations

import os
import resource
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.api.test_methods import send_sms_path
from tests.support.databases import new_database_url, on_postgresql
from tests.support.server import MECM, Server, free_port, make_server
from tests.support.waiting import wait_until

sqlite_only = pytest.mark.skipif(on_postgresql(), reason="the database file is SQLite's")


def send_status(server: Server, text: str = "hello") -> str:
    response = httpx.get(server.url + send_sms_path(server, text), timeout=10)
    return ET.fromstring(response.content).findtext("status")


def readyz(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=10)


def run_mecm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MECM, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture()
def server(tmp_path: Path) -> Server:
    srv = make_server(tmp_path / "mecm")
    srv.start()
    yield srv
    srv.stop()


@sqlite_only
def test_a_database_deleted_under_a_running_server_is_not_written_to_and_not_recreated(server: Server) -> None:
    database = server.home / "mecm.db"
    assert send_status(server) == "OK"
    database.unlink()

    statuses = [send_status(server, f"after {i}") for i in range(20)]
    assert "OK" not in statuses, statuses
    assert set(statuses) == {"ERROR"}
    answer = readyz(server)
    assert answer.status_code == 503
    assert answer.json()["status"] == "database file gone"
    assert "deleted" in answer.json()["error"]

    server.stop()
    refused = run_mecm(server.env, "serve")
    assert refused.returncode == 2
    assert "mecm init" in refused.stderr
    for args in (("worker",), ("api",), ("db", "upgrade"), ("admin", "workspace", "list")):
        assert run_mecm(server.env, *args).returncode == 2, args
    assert not database.exists(), "a start created a database"


@sqlite_only
def test_a_database_replaced_under_a_running_server_is_not_written_to(server: Server) -> None:
    database = server.home / "mecm.db"
    assert send_status(server) == "OK"
    copy = database.with_name("copy.db")
    copy.write_bytes(database.read_bytes())
    os.replace(copy, database)  # a backup restored over it, say

    assert send_status(server) == "ERROR"
    assert readyz(server).json()["error"].endswith("was replaced by another file")


@pytest.mark.skipif(on_postgresql(), reason="the failure made here is in the server process's own file writes")
def test_readiness_follows_whether_writes_succeed(server: Server) -> None:
    """Writes fail for real: the kernel refuses the server process any write to a file beyond 0 bytes
    (RLIMIT_FSIZE, the way a full disk refuses them), then allows them again."""
    assert readyz(server).status_code == 200
    pid = server.process.pid
    limits = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    try:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, limits[1]))
        assert send_status(server) == "ERROR"
        answer = readyz(server)
        assert answer.status_code == 503
        assert answer.json()["status"] == "database writes failing"
        assert readyz(server).status_code == 503, "a failing probe write made it ready"
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)
    # No send in between: /readyz's own probe write finds that writes succeed again.
    assert readyz(server).json()["status"] == "ready"
    assert send_status(server) == "OK"


def test_only_init_creates_a_database(tmp_path: Path) -> None:
    """A database without mecm's schema (an empty file, an empty PostgreSQL database) is refused by
    serve; mecm init creates the schema, and a second init changes nothing."""
    home = tmp_path / "mecm"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    url = new_database_url(home, migrated=False)
    env.update({"MECM_DATABASE_URL": url, "MECM_VAR_DIR": str(home / "var"), "MECM_PORT": str(free_port()),
                "MECM_CONFIG": str(home / "none.toml")})
    (home / "none.toml").write_text("")
    if not on_postgresql():
        (home / "mecm.db").touch()

    refused = run_mecm(env, "serve")
    assert refused.returncode == 2
    assert "holds no mecm schema" in refused.stderr and "mecm init" in refused.stderr

    first = run_mecm(env, "init", "--json")
    assert first.returncode == 0, first.stderr
    assert '"created": true' in first.stdout
    again = run_mecm(env, "init", "--json")
    assert '"created": false' in again.stdout

    server = Server(home, int(env["MECM_PORT"]), env)
    server.start()
    try:
        assert wait_until(lambda: readyz(server).status_code == 200)
    finally:
        server.stop()
