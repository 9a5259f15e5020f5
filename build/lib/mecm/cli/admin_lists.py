"""``mecm admin list ...`` and ``mecm admin broadcast ...``: subscriber lists, and texts sent to them.

Every change is written to the audit log as the OS user running the command (``cli:<user>``)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction
from mecm.errors import InvalidParameter

list_app = typer.Typer(no_args_is_help=True, help="Subscriber lists.")
broadcast_app = typer.Typer(no_args_is_help=True, help="Broadcasts: one text to every member of a list.")

ListOption = typer.Option(..., "--list", help="List id.")
BroadcastOption = typer.Option(..., "--id", help="Broadcast id.")


@list_app.command("create")
def list_create(workspace: int = typer.Option(..., help="Workspace (instance) id."),
                name: str = typer.Option(..., help="List name, unique in the workspace."),
                as_json: bool = JsonOption) -> None:
    """A new, empty list."""
    from mecm.services.admin import lists
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: lists.create_list(c, workspace, name, actor=actor))
    emit(row, as_json, f"list {row['id']} ({row['name']}) created")


@list_app.command("list")
def list_list(workspace: int = typer.Option(..., help="Workspace (instance) id."), wide: bool = WideOption,
              as_json: bool = JsonOption) -> None:
    """The workspace's lists and how many members each has."""
    from mecm.services.admin import lists

    emit_table("lists", in_transaction(as_json, lambda c, _: lists.list_lists(c, workspace)), as_json, "Lists",
               wide=wide, workspace=workspace)


@list_app.command("rename")
def list_rename(list_id: int = ListOption, name: str = typer.Option(..., help="The new name, unique in the "
                                                                               "workspace."),
                as_json: bool = JsonOption) -> None:
    """Give a list a new name (its members and broadcasts stay)."""
    from mecm.services.admin import lists
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: lists.rename_list(c, list_id, name, actor=actor))
    emit(row, as_json, f"list {row['id']} is named {row['name']}")


@list_app.command("delete")
def list_delete(list_id: int = ListOption, as_json: bool = JsonOption) -> None:
    """Delete a list and its members (refused while a broadcast to it is scheduled, sending or paused,
    or an active campaign's action uses it; finished broadcasts keep their history)."""
    from mecm.services.admin import lists
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: lists.delete_list(c, list_id, actor=actor))
    emit(row, as_json, f"list {row['id']} ({row['name']}) deleted with its {row['members']} members")


@list_app.command("members")
def list_members(list_id: int = ListOption,
                 number: str = typer.Option("", help="Only numbers containing these digits."),
                 page: int = typer.Option(1, help="Page, from 1."),
                 per_page: int = typer.Option(100, "--per-page", help="Members per page (1 to 1000)."),
                 wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    """A page of a list's members, in number order."""
    from mecm.services.admin import lists

    result = in_transaction(as_json, lambda c, _: lists.list_members(c, list_id, number=number, page=page,
                                                                     per_page=per_page))
    if as_json:
        emit(result, True)
        return
    first = (result["page"] - 1) * result["per_page"]
    shown = f"{first + 1}-{first + len(result['members'])} of {result['total']}" if result["members"] else \
        f"none on page {result['page']} of {result['total']}"
    filtered = f" containing {number}" if number else ""
    emit_table("members", result["members"], False, f"List {list_id} ({result['name']}): members{filtered}, "
               f"{shown}", wide=wide, workspace=result["workspace_id"])


@list_app.command("import")
def list_import(list_id: int = ListOption,
                csv_file: Path = typer.Option(..., "--csv", help="CSV with a header; a 'number' column, "
                                              "other columns become template fields ({{name}})."),
                as_json: bool = JsonOption) -> None:
    """Add members from a CSV file (all or none: a bad number refuses the file, naming its line)."""
    from mecm.services.admin import lists
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()

    def run(connection, _vault):  # noqa: ANN001, ANN202
        try:
            content = csv_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidParameter("csv", f"cannot read {csv_file}: {error}") from None
        return lists.import_csv(connection, list_id, content, actor=actor)

    result = in_transaction(as_json, run)
    emit(result, as_json, f"{result['imported']} imported ({result['added']} new, {result['updated']} updated); "
                          f"the list has {result['members']} members")


@list_app.command("add")
def list_add(list_id: int = ListOption,
             number: str = typer.Option(..., help="The subscriber's number."), as_json: bool = JsonOption) -> None:
    """Add a number to a list."""
    from mecm.services.admin import lists
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: lists.add_member(c, list_id, number, actor=actor))
    emit(row, as_json, f"{row['number']} is on list {list_id}")


@list_app.command("remove")
def list_remove(list_id: int = ListOption,
                number: str = typer.Option(..., help="The subscriber's number."), as_json: bool = JsonOption) -> None:
    """Take a number off a list."""
    from mecm.services.admin import lists
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: lists.remove_member(c, list_id, number, actor=actor))
    emit(row, as_json, f"{row['number']} " + ("removed" if row["removed"] else "was not on the list"))


@broadcast_app.command("create")
def broadcast_create(
    list_id: int = ListOption,
    code: str = typer.Option(..., help="The workspace's code it is sent from."),
    text: str = typer.Option(..., help="Template: {{to}}, {{from}} and the members' CSV fields."),
    name: str = typer.Option("", help="A name to know it by."),
    at: str = typer.Option(None, help="Start at (ISO 8601; without offset, workspace time). Default: now."),
    carrier: str = typer.Option(None, help="Through this carrier (default: routed per number)."),
    quiet_hours: str = typer.Option(None, help="HH:MM-HH:MM in workspace time: nothing is queued then."),
    as_json: bool = JsonOption,
) -> None:
    """Send a text to every member of a list, now or at a time (refused in an archived workspace)."""
    from mecm.services.admin import broadcasts
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: broadcasts.create_broadcast(
        c, list_id, code, text, actor=actor, name=name, at=at, carrier=carrier, quiet_hours=quiet_hours))
    emit(row, as_json, f"broadcast {row['id']} to {row['members']} members scheduled")


@broadcast_app.command("list")
def broadcast_list(workspace: int = typer.Option(None, help="Only this workspace."), wide: bool = WideOption,
                   as_json: bool = JsonOption) -> None:
    """Broadcasts and their state (scheduled, sending, paused, done, cancelled)."""
    from mecm.services.admin import broadcasts

    rows = in_transaction(as_json, lambda c, _: broadcasts.list_broadcasts(c, workspace))
    emit_table("broadcasts", rows, as_json, "Broadcasts", wide=wide)


@broadcast_app.command("pause")
def broadcast_pause(broadcast_id: int = BroadcastOption, as_json: bool = JsonOption) -> None:
    """Stop sending: nothing more is queued, its waiting messages are held until it is resumed."""
    from mecm.services.admin import broadcasts
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: broadcasts.pause_broadcast(c, broadcast_id, actor=actor))
    emit(row, as_json, f"broadcast {broadcast_id} paused; {row['held']} waiting messages held")


@broadcast_app.command("resume")
def broadcast_resume(broadcast_id: int = BroadcastOption, as_json: bool = JsonOption) -> None:
    """Carry on a paused broadcast where it stopped (no member is sent it twice, none is left out)."""
    from mecm.services.admin import broadcasts
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: broadcasts.resume_broadcast(c, broadcast_id, actor=actor))
    emit(row, as_json, f"broadcast {broadcast_id} resumed ({row['state']}); {row['released']} held messages due "
                       "again")


@broadcast_app.command("cancel")
def broadcast_cancel(broadcast_id: int = BroadcastOption, as_json: bool = JsonOption) -> None:
    """Stop a broadcast for good: messages still waiting are withdrawn."""
    from mecm.services.admin import broadcasts
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: broadcasts.cancel_broadcast(c, broadcast_id, actor=actor))
    emit(row, as_json, f"broadcast {broadcast_id} cancelled; {row['withdrawn']} waiting messages withdrawn")


@broadcast_app.command("status")
def broadcast_status(
    broadcast_id: int = BroadcastOption,
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
