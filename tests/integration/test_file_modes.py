"""Every file mecm creates is its owner's alone, whatever the umask (issue 12, fix 4)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.test_methods import call, ok, send_sms_path, wait_status
from tests.support.databases import new_database_url, on_postgresql
from tests.support.server import MECM, Server, free_port, run_cli


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The umask a careless shell leaves (processes started meanwhile inherit it)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*")}


def test_database_keys_and_simulator_files_are_created_private(tmp_path: Path) -> None:
    home = tmp_path / "mecm"
    home.mkdir()
    var = home / "var"  # made by mecm init
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    env.update({"MECM_DATABASE_URL": f"sqlite:///{var / 'mecm.db'}" if not on_postgresql() else new_database_url(home),
                "MECM_VAR_DIR": str(var), "MECM_PORT": str(free_port()), "MECM_CONFIG": str(home / "none.toml"),
                "MECM_CATALOG_REFRESH_S": "0.2"})
    (home / "none.toml").write_text("")
    with umask(0o022):
        run_cli(env, "init")
        server = Server(home, int(env["MECM_PORT"]), env)
        server.creds = run_cli(env, "demo")
        server.start()
        try:
            message = ok(call(server, send_sms_path(server))).find("messages/message")
            wait_status(server, message.findtext("id"), "DELIVERED_TO_DEVICE")
            assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
            modes = modes_under(var)
        finally:
            server.stop()

    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    expected = {"master.key", "admin.token", "demo-credentials.json", "simulator-movistar.db",
                "simulator-movistar.db-wal", "simulator-movistar.db-shm"}
    if not on_postgresql():
        expected |= {"mecm.db", "mecm.db-wal", "mecm.db-shm", "mecm.db-writelock", "mecm.db-worker.lock"}
    assert expected <= set(modes), sorted(modes)
    assert {name: oct(mode) for name, mode in modes.items() if mode != (0o700 if (var / name).is_dir() else 0o600)} == {}


@pytest.mark.skipif(on_postgresql(), reason="the simulator's files are SQLite's and a log file")
def test_smsc_simulator_files_are_created_private(tmp_path: Path) -> None:
    db, record = tmp_path / "smsc.db", tmp_path / "pdus.jsonl"
    with umask(0o022):
        simulator = subprocess.Popen([*MECM, "smsc-sim", "--port", "0", "--control-port=-1", "--db-path", str(db),
                                      "--record-path", str(record), "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert simulator.stdout is not None and simulator.stdout.readline()  # listening
    finally:
        simulator.terminate()
        simulator.wait(10)
    modes = {name: mode for name, mode in modes_under(tmp_path).items() if name.startswith(("smsc.db", "pdus"))}
    assert {"smsc.db", "pdus.jsonl"} <= set(modes), sorted(modes)
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o600} == {}


def test_files_left_readable_by_an_older_mecm_are_made_private_at_start(tmp_path: Path) -> None:
    home = tmp_path / "mecm"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    url = new_database_url(home, migrated=False) if on_postgresql() else f"sqlite:///{home / 'mecm.db'}"
    env.update({"MECM_DATABASE_URL": url, "MECM_VAR_DIR": str(home), "MECM_CONFIG": str(home / "none.toml")})
    (home / "none.toml").write_text("")
    run_cli(env, "init")
    old = [home / "master.key", *([home / "mecm.db"] if not on_postgresql() else [])]
    for path in old:
        os.chmod(path, 0o644)
    listed = subprocess.run([*MECM, "admin", "workspace", "list", "--json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in old} == {p.name: "0o640" for p in old}
    assert "could be read by other users" in listed.stderr
