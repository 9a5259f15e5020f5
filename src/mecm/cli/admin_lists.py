"""``mecm admin list ...`` and ``mecm admin broadcast ...``: subscriber lists, and texts sent to them."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction
from mecm.errors import InvalidParameter

list_app = typer.Typer(no_args_is_help=True, help="Subscriber lists.")
broadcast_app = typer.Typer(no_args_is_help=True, help="Broadcasts: one text to every member of a list.")


@list_app.command("create")
def list_create(workspace: int = typer.Option(..., help="Workspace (instance) id."),
                name: str = typer.Option(..., help="List name, unique in the workspace."),
                as_json: bool = JsonOption) -> None:
    from mecm.services.admin import lists

    row = in_transaction(as_json, lambda c, _: lists.create_list(c, workspace, name))
    emit(row, as_json, f"list {row['id']} ({row['name']}) created")


@list_app.command("list")
def list_list(workspace: int = typer.Option(..., help="Workspace (instance) id."), wide: bool = WideOption,
              as_json: bool = JsonOption) -> None:
    from mecm.services.admin import lists

    emit_table("lists", in_transaction(as_json, lambda c, _: lists.list_lists(c, workspace)), as_json, "Lists",
               wide=wide, workspace=workspace)


@list_app.command("import")
def list_import(list_id: int = typer.Option(..., "--list", help="List id."),
                csv_file: Path = typer.Option(..., "--csv", help="CSV with a header; a 'number' column, "
                                              "other columns become template fields ({{name}})."),
                as_json: bool = JsonOption) -> None:
    """Add members from a CSV file (all or none: a bad number refuses the file, naming its line)."""
    from mecm.services.admin import lists

    def run(connection, _vault):  # noqa: ANN001, ANN202
        try:
            content = csv_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidParameter("csv", f"cannot read {csv_file}: {error}") from None
        return lists.import_csv(connection, list_id, content)

    result = in_transaction(as_json, run)
    emit(result, as_json, f"{result['imported']} imported; the list has {result['members']} members")


@list_app.command("add")
def list_add(list_id: int = typer.Option(..., "--list", help="List id."),
             number: str = typer.Option(..., help="The subscriber's number."), as_json: bool = JsonOption) -> None:
    from mecm.services.admin import lists

    row = in_transaction(as_json, lambda c, _: lists.add_member(c, list_id, number))
    emit(row, as_json, f"{row['number']} is on list {list_id}")


@list_app.command("remove")
def list_remove(list_id: int = typer.Option(..., "--list", help="List id."),
                number: str = typer.Option(..., help="The subscriber's number."), as_json: bool = JsonOption) -> None:
    from mecm.services.admin import lists

    row = in_transaction(as_json, lambda c, _: lists.remove_member(c, list_id, number))
    emit(row, as_json, f"{row['number']} " + ("removed" if row["removed"] else "was not on the list"))


@broadcast_app.command("create")
def broadcast_create(
    list_id: int = typer.Option(..., "--list", help="List id."),
    code: str = typer.Option(..., help="The workspace's code it is sent from."),
    text: str = typer.Option(..., help="Template: {{to}}, {{from}} and the members' CSV fields."),
    name: str = typer.Option("", help="A name to know it by."),
    at: str = typer.Option(None, help="Start at (ISO 8601; without offset, workspace time). Default: now."),
    carrier: str = typer.Option(None, help="Through this carrier (default: routed per number)."),
    quiet_hours: str = typer.Option(None, help="HH:MM-HH:MM in workspace time: nothing is queued then."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import broadcasts

    row = in_transaction(as_json, lambda c, _: broadcasts.create_broadcast(
        c, list_id, code, text, name=name, at=at, carrier=carrier, quiet_hours=quiet_hours))
    emit(row, as_json, f"broadcast {row['id']} to {row['members']} members scheduled")


@broadcast_app.command("list")
def broadcast_list(workspace: int = typer.Option(None, help="Only this workspace."), wide: bool = WideOption,
                   as_json: bool = JsonOption) -> None:
    from mecm.services.admin import broadcasts

    rows = in_transaction(as_json, lambda c, _: broadcasts.list_broadcasts(c, workspace))
    emit_table("broadcasts", rows, as_json, "Broadcasts", wide=wide)


@broadcast_app.command("cancel")
def broadcast_cancel(broadcast_id: int = typer.Option(..., "--id", help="Broadcast id."),
                     as_json: bool = JsonOption) -> None:
    from mecm.services.admin import broadcasts

    row = in_transaction(as_json, lambda c, _: broadcasts.cancel_broadcast(c, broadcast_id))
    emit(row, as_json, f"broadcast {broadcast_id} cancelled; {row['withdrawn']} waiting messages withdrawn")


@broadcast_app.command("status")
def broadcast_status(
    broadcast_id: int = typer.Option(..., "--id", help="Broadcast id."),
    watch: bool = typer.Option(False, "--watch", help="Follow it until every message is final."),
    as_json: bool = JsonOption,
) -> None:
    """Progress: queued, sent, delivered, failed, with a progress bar (or one JSON object)."""
    from rich.progress import BarColumn, Progress, TextColumn

    from mecm.cli.output import console
    from mecm.services.admin import broadcasts

    status = in_transaction(as_json, lambda c, _: broadcasts.broadcast_status(c, broadcast_id))
    if as_json:
        emit(status, True)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, console=console) as progress:
        bars = {name: progress.add_task(name, total=1) for name in ("queued", "sent", "delivered", "failed")}
        while True:
            eligible = max(1, status["members"] - status["skipped_opted_out"] - status["unsendable"])
            values = {"queued": status["enqueued"], "sent": status["sent"], "delivered": status["delivered"],
                      "failed": status["failed"]}
            for name, value in values.items():
                progress.update(bars[name], completed=value, total=eligible)
            if not watch or status["done"]:
                break
            time.sleep(1)
            status = in_transaction(False, lambda c, _: broadcasts.broadcast_status(c, broadcast_id))
    console.print(f"broadcast {broadcast_id} ({status['name']}): {status['state']}; "
                  f"{status['skipped_opted_out']} opted out, {status['unsendable']} with a text too long, "
                  f"{status['waiting']} waiting")
