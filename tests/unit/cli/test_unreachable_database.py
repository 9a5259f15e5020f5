"""A database that cannot be reached stops a command with one line naming it and the cause, never a
traceback (issue 16: a PostgreSQL away made ``mecm api`` print 484 lines)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.server import MECM


def _closed_port() -> int:
    """A port of 127.0.0.1 on which nothing listens (taken, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args", [["serve"], ["api"], ["worker"], ["admin", "workspace", "list"]],
                         ids=["serve", "api", "worker", "admin"])
def test_a_database_that_refuses_connections_is_one_line(tmp_path: Path, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    url = f"postgresql://mecm:hunter2@127.0.0.1:{_closed_port()}/mecm"
    env.update({"MECM_DATABASE_URL": url, "MECM_VAR_DIR": str(tmp_path / "var"),
                "MECM_CONFIG": str(tmp_path / "mecm.toml"), "COLUMNS": "300"})
    (tmp_path / "mecm.toml").write_text("")
    done = subprocess.run([*MECM, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot use the database postgresql://mecm:***@127.0.0.1:")
    assert "Connection refused" in lines[0] and "hunter2" not in done.stderr
    assert done.stdout == ""


def test_a_database_that_never_answers_is_one_line_after_the_connect_timeout(tmp_path: Path) -> None:
    # A listener that takes the connection and never says a word: as a host behind a firewall that
    # drops packets, where libpq alone would wait for ever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
        env.update({"MECM_DATABASE_URL": f"postgresql://mecm@127.0.0.1:{silent.getsockname()[1]}/mecm",
                    "MECM_VAR_DIR": str(tmp_path / "var"), "MECM_CONFIG": str(tmp_path / "mecm.toml"),
                    "COLUMNS": "300"})
        (tmp_path / "mecm.toml").write_text("")
        done = subprocess.run([*MECM, "admin", "workspace", "list"], env=env, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: cannot use the database postgresql://mecm@127.0.0.1:")
    assert "timeout" in done.stderr
