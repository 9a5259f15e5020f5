"""``mecm admin webhook ...``: the outbox of webhooks, status callbacks and e-mails; replaying dead ones."""

from __future__ import annotations

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction

app = typer.Typer(no_args_is_help=True, help="Webhooks, status callbacks and e-mails: the outbox.")


@app.command("list")
def webhook_list(
    state: str = typer.Option(None, help="Only pending, done or dead (the dead-letter store)."),
    limit: int = typer.Option(100, help="The newest this many."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import outbox

    emit_table("jobs", in_transaction(as_json, lambda c, _: outbox.list_jobs(c, state, limit)), as_json, "Outbox",
               wide=wide)


@app.command("replay")
def webhook_replay(
    job_id: list[int] = typer.Option(None, "--id", help="A dead job to try again (repeatable)."),
    all_dead: bool = typer.Option(False, "--all", help="Every dead job."),
    as_json: bool = JsonOption,
) -> None:
    """Dead jobs go back to pending, with their attempts counted afresh; the worker delivers them."""
    from mecm.services.admin import outbox

    count = in_transaction(as_json, lambda c, _: outbox.replay(c, job_id, every_dead=all_dead))
    emit({"replayed": count}, as_json, f"{count} job(s) queued again")
