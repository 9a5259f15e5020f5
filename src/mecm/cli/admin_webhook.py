"""``mecm admin webhook ...``: the outbox of webhooks, status callbacks and e-mails; replaying dead ones."""

from __future__ import annotations

import time

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction
from mecm.errors import InvalidParameter

app = typer.Typer(no_args_is_help=True, help="Webhooks, status callbacks and e-mails: the outbox.")
STATES = ("pending", "done", "dead")


@app.command("list")
def webhook_list(
    state: str = typer.Option(None, help="Only pending, done or dead (the dead-letter store)."),
    limit: int = typer.Option(100, help="The newest this many."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    from mecm.store import outbox as store_outbox

    def rows(connection, _vault):  # noqa: ANN001, ANN202
        if state is not None and state not in STATES:
            raise InvalidParameter("state", f"must be one of {', '.join(STATES)}")
        return store_outbox.list_jobs(connection, state, limit)

    emit_table("jobs", in_transaction(as_json, rows), as_json, "Outbox", wide=wide)


@app.command("replay")
def webhook_replay(
    job_id: list[int] = typer.Option(None, "--id", help="A dead job to try again (repeatable)."),
    all_dead: bool = typer.Option(False, "--all", help="Every dead job."),
    as_json: bool = JsonOption,
) -> None:
    """Dead jobs go back to pending, with their attempts counted afresh; the worker delivers them."""
    from mecm.store import outbox as store_outbox

    def replay(connection, _vault):  # noqa: ANN001, ANN202
        if bool(job_id) == all_dead:
            raise InvalidParameter("id", "give --id N (repeatable) or --all")
        return store_outbox.replay(connection, None if all_dead else job_id, int(time.time() * 1000))

    count = in_transaction(as_json, replay)
    emit({"replayed": count}, as_json, f"{count} job(s) queued again")
