"""The ``mecm`` command as a user meets it: the same state from any folder, nothing created unasked,
tables and times people read, and ``serve`` saying where it listens. Real processes, real files."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.databases import on_postgresql
from tests.support.server import MECM, free_port, stop_process
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(on_postgresql(), reason="about SQLite files and folders found by the CLI")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no MECM_* variables and ``home`` as home directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_") and k != "XDG_DATA_HOME"}
    env.update({"HOME": str(home), "COLUMNS": "80", **extra})
    return env


def mecm(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MECM, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_from_a_folder_with_no_state_a_command_creates_nothing_and_says_where_it_looked(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env = clean_env(home)

    listed = mecm(elsewhere, env, "admin", "workspace", "list")

    assert listed.returncode == 2 and listed.stdout == ""
    error = " ".join(listed.stderr.split())  # as one line, whatever the terminal wrapped
    default = home / ".local" / "share" / "mecm"
    assert f"database {default / 'mecm.db'} does not exist" in error and "mecm init" in error
    assert f"no mecm.toml in {elsewhere} or any folder above it" in error
    assert f"the default var dir {default}" in error
    assert files_under(tmp_path) == ["elsewhere", "home"]  # no database, no master key, no var dir
    as_json = mecm(elsewhere, env, "admin", "workspace", "list", "--json")
    assert as_json.returncode == 2 and "does not exist" in json.loads(as_json.stdout)["error"]


def test_init_then_any_folder_finds_the_same_state_through_the_default(tmp_path: Path) -> None:
    home, one, two = tmp_path / "home", tmp_path / "one", tmp_path / "two"
    for folder in (home, one, two):
        folder.mkdir()
    env = clean_env(home)
    assert mecm(one, env, "init").returncode == 0
    created = mecm(one, env, "admin", "workspace", "create", "--name", "shop", "--json")
    assert created.returncode == 0, created.stderr
    listed = mecm(two, env, "admin", "workspace", "list", "--json")
    assert [w["name"] for w in json.loads(listed.stdout)["workspaces"]] == ["shop"]
    assert files_under(one) == [] and files_under(two) == []
    assert (home / ".local" / "share" / "mecm" / "master.key").is_file()


def test_a_mecm_toml_above_the_working_directory_is_used(tmp_path: Path) -> None:
    project = tmp_path / "project"
    deep = project / "src" / "deep"
    deep.mkdir(parents=True)
    (project / "mecm.toml").write_text('var_dir = "state"\n')
    env = clean_env(tmp_path / "home")

    assert mecm(deep, env, "init").returncode == 0
    assert (project / "state" / "mecm.db").is_file() and (project / "state" / "master.key").is_file()
    assert files_under(deep) == []
    assert mecm(deep, env, "admin", "workspace", "create", "--name", "deep", "--json").returncode == 0
    listed = mecm(project, env, "admin", "workspace", "list", "--json")
    assert [w["name"] for w in json.loads(listed.stdout)["workspaces"]] == ["deep"]
    assert not (tmp_path / "home").exists()  # the default was not touched


def test_a_missing_master_key_is_refused_never_made_again(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", MECM_VAR_DIR=str(tmp_path / "var"))
    assert mecm(tmp_path, env, "init").returncode == 0
    (tmp_path / "var" / "master.key").unlink()

    listed = mecm(tmp_path, env, "admin", "workspace", "list")

    assert listed.returncode == 2
    assert "no master key" in listed.stderr and "master.key does not exist" in " ".join(listed.stderr.split())
    assert not (tmp_path / "var" / "master.key").exists()


def test_new_secrets_are_a_master_key_and_an_admin_token_every_node_can_share(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", MECM_VAR_DIR=str(tmp_path / "var"))
    printed = mecm(tmp_path, env, "new-secrets")
    assert printed.returncode == 0 and printed.stderr == ""
    made = dict(line.split("=", 1) for line in printed.stdout.splitlines())  # an EnvironmentFile's lines
    assert sorted(made) == ["MECM_ADMIN_TOKEN", "MECM_MASTER_KEY"]
    assert not (tmp_path / "var").exists()  # it reads and writes nothing
    assert made != dict(line.split("=", 1) for line in mecm(tmp_path, env, "new-secrets").stdout.splitlines())

    node = {**env, **made}
    assert mecm(tmp_path, node, "init").returncode == 0
    assert not (tmp_path / "var" / "master.key").exists()  # the key given is the key used
    assert json.loads(mecm(tmp_path, node, "admin", "token", "--json").stdout) == {"admin_token": made["MECM_ADMIN_TOKEN"]}
    created = mecm(tmp_path, node, "admin", "workspace", "create", "--name", "shared", "--timezone", "UTC")
    assert created.returncode == 0, created.stderr
    key = mecm(tmp_path, node, "admin", "key", "create", "--workspace", "1", "--json")  # sealed with the key given
    assert key.returncode == 0, key.stderr


def test_tables_fit_the_terminal_with_whole_keys_and_iso_times(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", MECM_VAR_DIR=str(tmp_path / "var"))
    assert mecm(tmp_path, env, "init").returncode == 0
    workspace = json.loads(mecm(tmp_path, env, "admin", "workspace", "create", "--name", "tokyo", "--timezone",
                                "Asia/Tokyo", "--json").stdout)
    key = json.loads(mecm(tmp_path, env, "admin", "key", "create", "--workspace", str(workspace["instance_id"]),
                          "--json").stdout)

    keys = mecm(tmp_path, env, "admin", "key", "list")
    assert keys.returncode == 0, keys.stderr
    assert key["public_key"] in keys.stdout
    assert max(len(line) for line in keys.stdout.splitlines()) <= 80

    narrow = mecm(tmp_path, env, "admin", "workspace", "list").stdout
    wide = mecm(tmp_path, env, "admin", "workspace", "list", "--wide").stdout
    assert "more columns with --wide" in narrow and "status callback url" not in narrow
    assert "status callback url" in wide and "pin in response" in wide
    created = json.loads(mecm(tmp_path, env, "admin", "workspace", "list", "--json").stdout)["workspaces"][0]
    assert isinstance(created["created_at_ms"], int)  # scripts still get what they got
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", wide)  # Tokyo time, ISO 8601


def test_serve_says_where_it_listens_without_library_noise(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path / "home", MECM_VAR_DIR=str(tmp_path / "var"), MECM_PORT=str(port),
                    MECM_CATALOG_REFRESH_S="0.2")
    assert mecm(tmp_path, env, "init").returncode == 0
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen([*MECM, "serve"], cwd=tmp_path, env=env, stdout=stdout, stderr=stderr)
    try:
        assert wait_until(lambda: "listening on" in out.read_text(), timeout=30), err.read_text()
        line = out.read_text().splitlines()[0]
        assert line.startswith(f"mecm serve: listening on http://127.0.0.1:{port} (database sqlite:///")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        stop_process(server, timeout_s=15)
    logged = err.read_text()
    assert "alembic" not in logged and "Context impl" not in logged
