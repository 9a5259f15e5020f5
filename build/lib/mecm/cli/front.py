"""The ``mecm`` command's front door: click alone, and a command's module only once it runs.

``mecm --help`` and ``mecm admin workspace list`` must finish within 0.3 s (issue 13, measured by
bench/cli_start.py). typer alone costs ~0.1 s of CPU to import and ~0.1 s more (pydantic) to build
its commands; building every command imports every command module. So the tree a user walks is
made of click groups that know their commands by name from a static index (cli/command_index.py,
generated from the real commands and tested to match them) and import nothing until a command runs:

* a group (``mecm``, ``mecm admin``, ``mecm admin workspace``...) prints its help from the index,
  exactly as typer would (tests/unit/cli/test_front.py compares them page by page); a group with
  options or an action of its own (``mecm admin token``) is typer's, as a command is;
* a command in ``NATIVE`` is a click command of its own module, run here: the fast path;
* any other command is typer's (cli/typer_app.py): the command line goes to typer as it was typed,
  and typer parses, helps and runs it as before (its start-up cost is paid by these commands only).

A new typer command needs nothing here but a fresh index: ``python -m mecm.cli.front`` rewrites
cli/command_index.py (the test says so when the index is stale). A new fast command is a click
command in a module that imports only click at its top (the group imports it to list it), added
to ``NATIVE``.

click (the package, which uvicorn needs too) rather than typer's own copy of it: importing
``typer`` at all costs its whole package (~0.08 s), and typer's copy is private to typer.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from mecm.cli.command_index import INDEX

# Commands the front door runs itself, by path: "module:attribute" of a click command.
NATIVE: dict[tuple[str, ...], str] = {
    ("admin", "workspace", "list"): "mecm.cli.workspace_list:command",
}


def _native(path: tuple[str, ...]) -> click.Command:
    module, _, attribute = NATIVE[path].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command), NATIVE[path]
    return command


class IndexedGroup(click.Group):
    """A group whose commands come from the index, made (or imported) only when asked for."""

    def __init__(self, path: tuple[str, ...], entry: dict[str, Any]) -> None:
        super().__init__(name=path[-1] if path else "mecm", help=entry["help"], short_help=entry["short_help"],
                         hidden=entry["hidden"], no_args_is_help=entry["no_args_is_help"])
        self.path = path
        self.names = entry["commands"]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.names:
            return self._not_in_the_index(ctx, cmd_name)
        return command_at((*self.path, cmd_name))

    def _not_in_the_index(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command added since the index was written still runs (the index's test fails meanwhile);
        a typo gets typer's words, "Did you mean ...?" included."""
        path = (*self.path, cmd_name)
        if _typer_knows(path):
            return TyperCommand(path, {"help": None, "short_help": None, "hidden": True})
        import difflib

        close = difflib.get_close_matches(cmd_name, self.names)
        if close:
            ctx.fail(f"No such command {cmd_name!r}. Did you mean {', '.join(map(repr, close))}?")
        return None  # click's "No such command", as typer's


def _typer_knows(path: tuple[str, ...]) -> bool:
    import typer.main

    from mecm.cli.typer_app import app

    command: Any = typer.main.get_command(app)
    for name in path:
        command = (getattr(command, "commands", None) or {}).get(name)
        if command is None:
            return False
    return True


class TyperCommand(click.Command):
    """A command typer runs: in a listing, its name and description; run, typer takes the whole
    command line (its own help, options, errors and exit status)."""

    def __init__(self, path: tuple[str, ...], entry: dict[str, Any]) -> None:
        super().__init__(name=path[-1], help=entry["help"], short_help=entry["short_help"], hidden=entry["hidden"],
                         add_help_option=False)
        self.path = path

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)  # as typed, for typer: none of them is click's business
        return ctx.args

    def invoke(self, ctx: click.Context) -> Any:
        from mecm.cli.typer_app import app

        app(args=[*self.path, *ctx.args], prog_name="mecm")


def command_at(path: tuple[str, ...]) -> click.Command:
    if path in NATIVE:
        return _native(path)
    entry = INDEX[path]
    return IndexedGroup(path, entry) if entry["commands"] is not None else TyperCommand(path, entry)


def main() -> None:
    command_at(())(prog_name="mecm")


# -- the index ----------------------------------------------------------------------------------------

def index_of_commands() -> dict[tuple[str, ...], dict[str, Any]]:
    """The index as the commands give it: typer's tree (cli/typer_app.py) and the NATIVE commands,
    each listed after the typer commands of its group."""
    import typer.main

    from mecm.cli.typer_app import app

    index: dict[tuple[str, ...], dict[str, Any]] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        commands = getattr(command, "commands", None)
        if command.params or getattr(command, "invoke_without_command", False):
            commands = None  # a group with options or an action of its own: typer runs it, as a command
        entry = {"help": command.help, "short_help": command.short_help, "hidden": command.hidden,
                 "no_args_is_help": getattr(command, "no_args_is_help", False),
                 "commands": None if commands is None else list(commands)}
        index[path] = entry
        for name, sub in (commands or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    for path in NATIVE:
        native = _native(path)
        group = index[path[:-1]]["commands"]
        assert group is not None, f"{path}: its group is typer's to run"
        if path[-1] not in group:
            group.append(path[-1])
        index[path] = {"help": native.help, "short_help": native.short_help, "hidden": native.hidden,
                       "no_args_is_help": False, "commands": None}
    return index


def write_index(target: Path) -> None:
    lines = ['"""Every ``mecm`` command and group by its path: what the front door (cli/front.py) lists and',
             "prints as help without importing the commands. Generated by ``python -m mecm.cli.front`` from the",
             'commands themselves; tests/unit/cli/test_front.py checks it still matches them. Do not edit."""',
             "", "from __future__ import annotations", "", "from typing import Any", "",
             "INDEX: dict[tuple[str, ...], dict[str, Any]] = {"]
    for path, entry in index_of_commands().items():
        lines.append(f"    {path!r}: {entry!r},")
    lines.append("}")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_index(Path(__file__).with_name("command_index.py"))
    sys.stdout.write(f"wrote {Path(__file__).with_name('command_index.py')}\n")
