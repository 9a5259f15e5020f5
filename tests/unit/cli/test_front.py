"""The front door (cli/front.py) shows the commands as typer would, from its index, and hands typer's
commands to typer as typed."""

from __future__ import annotations

import copy
from typing import Any

import click
import click.testing
import pytest
import typer.main
import typer.testing

from mecm.cli import app
from mecm.cli.command_index import INDEX
from mecm.cli.front import NATIVE, IndexedGroup, command_at, index_of_commands

GROUPS = [path for path, entry in INDEX.items() if entry["commands"] is not None]


def test_the_index_is_the_commands() -> None:
    assert index_of_commands() == INDEX, (
        "cli/command_index.py is stale (a command was added, renamed or described anew): "
        "run  python -m mecm.cli.front  to write it again")


def test_every_command_has_a_description() -> None:
    assert [" ".join(path) for path, entry in INDEX.items() if not (entry["help"] or entry["short_help"])] == []


def _typer_tree_with_the_native_commands() -> Any:
    """typer's tree of commands, with a stand-in for each command the front door runs itself, listed
    where the index lists it (after typer's commands of its group)."""
    root = typer.main.get_command(app)
    for path in NATIVE:
        group = root
        for name in path[:-1]:
            group = group.commands[name]
        native = command_at(path)
        stand_in = copy.copy(next(c for c in group.commands.values() if not hasattr(c, "commands")))
        stand_in.name, stand_in.help, stand_in.short_help = path[-1], native.help, native.short_help
        group.add_command(stand_in)
    return root


def _run_typer_command(command: Any, args: list[str]) -> tuple[int, str, str]:
    """Exit status, standard output and error of a command typer built (its runner takes only apps)."""
    with typer.testing.CliRunner().isolation(env={"COLUMNS": "100"}) as (stdout, stderr, _):
        try:
            command.main(args=args, prog_name="mecm")
            status = 0
        except SystemExit as exit_:
            status = exit_.code or 0
        return status, stdout.getvalue().decode(), stderr.getvalue().decode()


@pytest.mark.parametrize("args", [[*path, "--help"] for path in GROUPS] + [list(path) for path in GROUPS]
                         + [["admin", "nope"], ["nope"], ["admin", "workspce"], ["admin", "workspace", "lst"]],
                         ids=" ".join)
def test_a_group_says_what_typer_says(args: list[str]) -> None:
    typed = _run_typer_command(_typer_tree_with_the_native_commands(), args)
    front = click.testing.CliRunner().invoke(command_at(()), args, prog_name="mecm", env={"COLUMNS": "100"})
    assert (front.exit_code, front.stdout, front.stderr) == typed


def test_a_typer_command_is_typers_whole_command_line() -> None:
    args = ["admin", "workspace", "create", "--help"]
    typed = typer.testing.CliRunner().invoke(app, args, prog_name="mecm", env={"COLUMNS": "100"})
    front = click.testing.CliRunner().invoke(command_at(()), args, prog_name="mecm", env={"COLUMNS": "100"})
    assert front.exit_code == typed.exit_code == 0
    assert front.stdout == typed.stdout and "Usage: mecm admin workspace create [OPTIONS]" in front.stdout
    wrong = click.testing.CliRunner().invoke(command_at(()), ["admin", "workspace", "create", "--", "--name"],
                                             prog_name="mecm")
    assert wrong.exit_code == 2 and "Missing option '--name'" in wrong.stderr  # typer's own error, "--" kept


def test_a_command_the_index_does_not_know_yet_still_runs() -> None:
    path = ("admin", "workspace")
    stale = IndexedGroup(path, {**INDEX[path], "commands": [n for n in INDEX[path]["commands"] if n != "create"]})
    result = click.testing.CliRunner().invoke(stale, ["create", "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0 and "Usage: mecm admin workspace create [OPTIONS]" in result.stdout


def test_the_native_command_has_its_help() -> None:
    result = click.testing.CliRunner().invoke(command_at(()), ["admin", "workspace", "list", "--help"],
                                              prog_name="mecm", env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert "Usage: mecm admin workspace list [OPTIONS]" in result.stdout
    for option in ("--all", "--wide", "--json"):
        assert option in result.stdout
    assert isinstance(command_at(("admin", "workspace", "list")), click.Command)
