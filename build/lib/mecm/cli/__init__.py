"""The ``mecm`` command: serve, db, demo, admin, send, mo.

Every command that prints takes ``--json`` and then prints exactly one JSON object.

Starting it imports click and nothing else of weight (cli/front.py): ``mecm --help`` and
``mecm admin workspace list`` finish within 0.3 s (bench/cli_start.py). ``app`` is the typer tree
of every command (cli/typer_app.py), built on first use.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    from mecm.cli.front import main as front_door

    front_door()


def __getattr__(name: str) -> Any:
    if name == "app":
        from mecm.cli.typer_app import app

        return app
    raise AttributeError(name)
