"""``mecm admin webhook ...``: the outbox of webhooks, status callbacks and e-mails; replaying or
discarding dead ones (the dead letters)."""

from __future__ import annotations

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction

app = typer.Typer(no_args_is_help=True, help="Webhooks, status callbacks and e-mails: the outbox.")

_IDS = typer.Option(None, "--id", help="A dead job (repeatable).")
_ALL = typer.Option(False, "--all", help="Every dead job (of --workspace, when given).")
_WORKSPACE = typer.Option(None, help="Only this workspace's (instance) jobs.")


@app.command("list")
def webhook_list(
    state: str = typer.Option(None, help="Only pending, done or dead (the dead-letter store)."),
    workspace: int = _WORKSPACE,
    limit: int = typer.Option(100, help="The newest this many."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import outbox

    rows = in_transaction(as_json, lambda c, _: outbox.list_jobs(c, state, limit, workspace_id=workspace))
    emit_table("jobs", rows, as_json, "Outbox", wide=wide)


@app.command("replay")
def webhook_replay(
    job_id: list[int] = _IDS,
    all_dead: bool = _ALL,
    workspace: int = _WORKSPACE,
    as_json: bool = JsonOption,
) -> None:
    """Dead jobs go back to pending, with their attempts counted afresh; the worker delivers them."""
    from mecm.services.admin import outbox
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    count = in_transaction(as_json, lambda c, _: outbox.replay(c, job_id, every_dead=all_dead,
                                                               workspace_id=workspace, actor=actor))
    emit({"replayed": count}, as_json, f"{count} job(s) queued again")


@app.command("discard")
def webhook_discard(
    job_id: list[int] = _IDS,
    all_dead: bool = _ALL,
    workspace: int = _WORKSPACE,
    as_json: bool = JsonOption,
) -> None:
    """Dead jobs are deleted: they will never be tried again."""
    from mecm.services.admin import outbox
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    count = in_transaction(as_json, lambda c, _: outbox.discard(c, job_id, every_dead=all_dead,
                                                                workspace_id=workspace, actor=actor))
    emit({"discarded": count}, as_json, f"{count} job(s) discarded")
