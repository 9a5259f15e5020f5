"""The ``mecm`` command starts without the heavy libraries; ``make bench`` measures how fast
(bench/cli_start.py)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "starlette", "uvicorn", "phonenumbers", "httpx")


def test_building_the_cli_imports_no_database_or_web_library() -> None:
    script = ("import json, sys, typer.main\n"
              "from mecm.cli import app\n"
              "typer.main.get_command(app)\n"
              f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == []
