"""``mecm admin message search`` and ``mecm admin mo search``: a workspace's MTs or MOs, newest first,
a page at a time, or all of them as CSV (``--csv FILE``, ``--csv -`` for standard output). The same
filters, with the same names, as ``GET /admin/api/workspaces/{id}/messages`` and ``/mos``."""

from __future__ import annotations

import sys

import typer

from mecm.cli.output import JsonOption, WideOption, emit, friendly_errors, render_table

message_app = typer.Typer(no_args_is_help=True, help="A workspace's messages (MTs): search and export.")
mo_app = typer.Typer(no_args_is_help=True, help="A workspace's MOs (messages from subscribers): search and export.")

_WORKSPACE = typer.Option(..., help="Workspace (instance) id.")
_SINCE = typer.Option(None, help="From this ISO 8601 date or date and time (the workspace's zone without an offset).")
_UNTIL = typer.Option(None, help="Before this ISO 8601 date or date and time.")
_CAMPAIGN = typer.Option(None, help="A campaign id: its MOs, or the MTs answering them.")
_TEXT = typer.Option(None, help="The text contains this (A-Z case-insensitive).")
_CARRIER = typer.Option(None, help="Through this carrier (its name).")
_LIMIT = typer.Option(None, help="Rows in one page, 1 to 1000 (100); not with --csv, which writes every row.")
_BEFORE = typer.Option(None, help="The next page: the 'next' a former page printed.")
_CSV = typer.Option(None, "--csv", help="Write every matching row as CSV to this file ('-': standard output).")


@message_app.command("search")
def message_search(
    workspace: int = _WORKSPACE,
    since: str = _SINCE,
    until: str = _UNTIL,
    number: str = typer.Option(None, help="The subscriber's number (recipient), or the sender."),
    status: str = typer.Option(None, help="One or more statuses, comma-separated (DELIVERED_TO_DEVICE,NOT_SENT)."),
    campaign: str = _CAMPAIGN,
    code: str = typer.Option(None, help="Sent from this short or long code."),
    carrier: str = _CARRIER,
    text: str = _TEXT,
    limit: str = _LIMIT,
    before: str = _BEFORE,
    csv_to: str = _CSV,
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """Search the workspace's MTs (PIN messages show their PIN masked)."""
    params = {"since": since, "until": until, "number": number, "status": status, "campaign": campaign,
              "code": code, "carrier": carrier, "text": text, "limit": limit, "before": before}
    _search(workspace, "messages", params, csv_to, wide, as_json)


@mo_app.command("search")
def mo_search(
    workspace: int = _WORKSPACE,
    since: str = _SINCE,
    until: str = _UNTIL,
    number: str = typer.Option(None, help="The subscriber's number (sender)."),
    campaign: str = _CAMPAIGN,
    code: str = typer.Option(None, help="Sent to this short or long code."),
    carrier: str = _CARRIER,
    text: str = _TEXT,
    limit: str = _LIMIT,
    before: str = _BEFORE,
    csv_to: str = _CSV,
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """Search the workspace's MOs."""
    params = {"since": since, "until": until, "number": number, "campaign": campaign, "code": code,
              "carrier": carrier, "text": text, "limit": limit, "before": before}
    _search(workspace, "mos", params, csv_to, wide, as_json)


def _search(workspace: int, kind: str, params: dict[str, str | None], csv_to: str | None, wide: bool,
            as_json: bool) -> None:
    from mecm.cli.transaction import in_transaction
    from mecm.services.admin import messages

    if csv_to is None:
        found = in_transaction(as_json, lambda c, _: messages.search(c, workspace, kind, params))
        if as_json:
            emit(found, as_json)
            return
        rows = found[kind]
        title = f"{'Messages' if kind == 'messages' else 'MOs'} of workspace {workspace}"
        if not rows:
            sys.stdout.write(f"{title}: none\n")
            return
        sys.stdout.write(render_table(f"{kind}_search", rows, title, wide=wide))
        if found["next"] is not None:
            sys.stdout.write(f"more: --before {found['next']}\n")
        return
    export = in_transaction(as_json, lambda c, _: messages.prepare(c, workspace, kind, params, export=True))
    written = _write_csv(export, csv_to, as_json)
    if csv_to != "-":
        emit({"exported": written, "file": csv_to}, as_json, f"{written} row(s) written to {csv_to}")


def _write_csv(export, destination: str, as_json: bool) -> int:  # noqa: ANN001 - messages.Export
    """Every row, written as it is read: a page per read, each its own transaction. How many rows."""
    from mecm.cli.state import open_store
    from mecm.config import load_settings
    from mecm.errors import InvalidParameter

    with friendly_errors(as_json):
        engine, _ = open_store(load_settings())
        try:
            out = sys.stdout if destination == "-" else open(destination, "w", encoding="utf-8", newline="")
        except OSError as error:
            engine.dispose()
            raise InvalidParameter("csv", f"cannot write {destination}: {error.strerror}") from None
        try:
            out.write(export.header())
            before, count = export.search.before_id, 0
            while True:
                with engine.connect() as connection, connection.begin():
                    page = export.page(connection, before)
                out.write(page.lines)
                count += page.rows
                if page.after is None:
                    return count
                before = page.after
        finally:
            if out is not sys.stdout:
                out.close()
            engine.dispose()
    raise AssertionError("unreachable")
