"""``--help`` of every command: a description, no raw Markdown or reST, no <bool> beside a flag."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from mecm.cli import app


def _paths(command, path=()):  # noqa: ANN001, ANN202
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _paths(sub, (*path, name))


COMMANDS = list(_paths(typer.main.get_command(app)))


def test_every_command_has_a_description() -> None:
    assert [" ".join(path) for path, command in COMMANDS if not (command.help or command.short_help)] == []


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "mecm")
def test_help_shows_no_raw_markup(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "``" not in result.output and "`" not in result.output
    assert "<bool>" not in result.output
    assert "Show this message and exit." in result.output
