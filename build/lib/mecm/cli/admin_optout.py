"""``mecm admin optout ...``: STOP / START / HELP keywords and answers, and who is opted out."""

from __future__ import annotations

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction as _in_transaction
from mecm.domain.optout import Intent

app = typer.Typer(no_args_is_help=True, help="Opt-out: STOP / START / HELP keywords, answers, opted-out numbers.")


@app.command("set")
def optout_set(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    code: str = typer.Option("", help="Only on this code of the workspace (default: all its codes)."),
    stop_keywords: str = typer.Option(None, help="Comma-separated words that opt a subscriber out."),
    start_keywords: str = typer.Option(None, help="Comma-separated words that opt a subscriber back in."),
    help_keywords: str = typer.Option(None, help="Comma-separated words answered with the help text."),
    stop_text: str = typer.Option(None, help="Answer to an opt-out."),
    start_text: str = typer.Option(None, help="Answer to an opt-in."),
    help_text: str = typer.Option(None, help="Answer to a help keyword."),
    as_json: bool = JsonOption,
) -> None:
    """Set keywords and answers (what is not given is kept; unset ones use the English and Spanish
    defaults). A message is taken for a keyword only when it is that word alone."""
    from mecm.services.admin import optouts
    from mecm.services.admin.audit import cli_actor

    keywords = {Intent.STOP: stop_keywords, Intent.START: start_keywords, Intent.HELP: help_keywords}
    texts = {Intent.STOP: stop_text, Intent.START: start_text, Intent.HELP: help_text}
    actor = cli_actor()
    policy = _in_transaction(as_json, lambda c, _: optouts.configure(c, workspace, code, keywords, texts,
                                                                     actor=actor))
    emit(policy, as_json, _describe(policy))


@app.command("show")
def optout_show(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    code: str = typer.Option("", help="As on this code of the workspace."),
    as_json: bool = JsonOption,
) -> None:
    """The keywords and answers in force."""
    from mecm.services.admin import optouts

    policy = _in_transaction(as_json, lambda c, _: optouts.describe_policy(c, workspace, code))
    emit(policy, as_json, _describe(policy))


@app.command("add")
def optout_add(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    number: str = typer.Option(..., help="The subscriber's number."),
    as_json: bool = JsonOption,
) -> None:
    """Opt a subscriber out, as if they had sent STOP (no answer is sent)."""
    from mecm.services.admin import optouts
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: optouts.set_opted_out(c, workspace, number, opted_out=True,
                                                                      actor=actor))
    _announce(row)
    emit(row, as_json, f"{row['number']} opted out of workspace {workspace}"
         + ("" if row["changed"] else " (already was)"))


@app.command("remove")
def optout_remove(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    number: str = typer.Option(..., help="The subscriber's number."),
    as_json: bool = JsonOption,
) -> None:
    """Opt a subscriber back in, as if they had sent START (no answer is sent)."""
    from mecm.services.admin import optouts
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: optouts.set_opted_out(c, workspace, number, opted_out=False,
                                                                      actor=actor))
    _announce(row)
    emit(row, as_json, f"{row['number']} opted back in to workspace {workspace}"
         + ("" if row["changed"] else " (was not opted out)"))


def _announce(row: dict) -> None:
    """A running server's next send sees the change (on SQLite through the file beside the
    database, store/optout_signal.py; on PostgreSQL it reads the database itself)."""
    if row["changed"]:
        from mecm.config import load_settings
        from mecm.store.engine import sqlite_path
        from mecm.store.optout_signal import announce

        announce(sqlite_path(load_settings().database_url))


@app.command("list")
def optout_list(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    number: str = typer.Option(None, help="Only numbers that contain these digits."),
    limit: int = typer.Option(100, help="At most this many (1 to 1000)."),
    offset: int = typer.Option(0, help="Skip this many first (the next page: --offset 100)."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """Subscribers opted out of the workspace, oldest first, a page at a time."""
    from mecm.services.admin import optouts

    rows = _in_transaction(as_json, lambda c, _: optouts.list_opt_outs(c, workspace, number=number, limit=limit,
                                                                       offset=offset))
    emit_table("opt_outs", rows, as_json, f"Opted out of workspace {workspace}", wide=wide)


def _describe(policy: dict) -> str:
    lines = [f"workspace {policy['instance_id']}" + (f", code {policy['code']}" if policy["code"] else "")]
    for intent in Intent:
        words = ", ".join(policy[f"{intent.value}_keywords"])
        lines.append(f"  {intent.value.upper():5}  {words}")
        for language, answer in policy[f"{intent.value}_text"].items():
            lines.append(f"         [{language}] {answer}")
    return "\n".join(lines)
