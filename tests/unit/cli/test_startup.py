"""The ``mecm`` command starts without the heavy libraries; ``make bench`` measures how fast
(bench/cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import MECM

HEAVY = ("sqlalchemy", "alembic", "starlette", "uvicorn", "phonenumbers", "httpx")
# What the front door's fast commands do without (cli/front.py): typer and pydantic too.
NOT_ON_THE_FAST_PATH = (*HEAVY, "typer", "pydantic", "cryptography", "argon2", "psycopg")


def test_building_the_cli_imports_no_database_or_web_library() -> None:
    script = ("import json, sys, typer.main\n"
              "from mecm.cli import app\n"
              "typer.main.get_command(app)\n"
              f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == []


def _run_loaded(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``mecm ARGS`` as the installed command runs it (mecm.cli's main), and the heavy libraries it
    had loaded when it ended."""
    script = ("import atexit, json, os, sys\n"
              "def loaded():\n"
              f"    found = [name for name in {NOT_ON_THE_FAST_PATH!r} if name in sys.modules]\n"
              "    with open(os.environ['LOADED_TO'], 'w') as out:\n"
              "        json.dump(found, out)\n"
              "atexit.register(loaded)\n"
              f"sys.argv = ['mecm', *{args!r}]\n"
              "from mecm.cli import main\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    return done, json.loads(Path(env["LOADED_TO"]).read_text())


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a user with a database made by ``mecm init`` and one workspace."""
    tmp_path = tmp_path_factory.mktemp("state")
    home = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_")}
    env.update({"MECM_VAR_DIR": str(home), "MECM_CONFIG": str(tmp_path / "mecm.toml"), "COLUMNS": "100",
                "LOADED_TO": str(tmp_path / "loaded.json")})
    (tmp_path / "mecm.toml").write_text("")
    for args in (["init"], ["admin", "workspace", "create", "--name", "shop", "--timezone", "Asia/Tokyo"]):
        subprocess.run([*MECM, *args], env=env, check=True, capture_output=True, timeout=60)
    return env


def test_help_lists_every_command_without_the_heavy_libraries(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "100", "LOADED_TO": str(tmp_path / "loaded.json")}
    done, loaded = _run_loaded(["--help"], env)
    assert done.returncode == 0, done.stderr
    assert loaded == []
    for name in ("serve", "init", "admin", "send", "smsc-sim"):
        assert f"\n  {name} " in done.stdout


@pytest.mark.parametrize("args", [[], ["--json"], ["--wide"], ["--all"]], ids=lambda a: " ".join(a) or "table")
def test_workspace_list_reads_without_the_heavy_libraries(state: dict[str, str], args: list[str]) -> None:
    done, loaded = _run_loaded(["admin", "workspace", "list", *args], state)
    assert done.returncode == 0, done.stderr
    assert loaded == []
    assert "shop" in done.stdout and done.stderr == ""


@pytest.mark.parametrize("args", [[], ["--json"], ["--wide"]], ids=lambda a: " ".join(a) or "table")
def test_workspace_list_prints_the_same_the_ordinary_way(state: dict[str, str], args: list[str]) -> None:
    fast, _ = _run_loaded(["admin", "workspace", "list", *args], state)
    os.chmod(state["MECM_VAR_DIR"], 0o755)  # a var dir others may enter: the ordinary way warns of it
    try:
        ordinary, loaded = _run_loaded(["admin", "workspace", "list", *args], state)
    finally:
        os.chmod(state["MECM_VAR_DIR"], 0o700)

    assert "sqlalchemy" in loaded and "can be entered by other users" in ordinary.stderr
    assert (ordinary.returncode, ordinary.stdout) == (fast.returncode, fast.stdout)
