"""``mecm admin workspace list``, run by the front door itself (cli/front.py): click, and the fast
read of services/admin/fast_reads.py, which falls back to the ordinary use case when it cannot
read (then the command acts and refuses as every admin command does).

Light imports only at the top (click, cli/output.py): ``mecm admin workspace --help`` imports this
module to list the command.
"""

from __future__ import annotations

import click

from mecm.cli.output import JSON_HELP, WIDE_HELP, emit_table, friendly_errors


@click.command("list")
@click.option("--all", "everything", is_flag=True, help="Archived workspaces too.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def command(everything: bool, wide: bool, as_json: bool) -> None:
    """The workspaces in use (with --all, the archived ones too)."""
    from mecm.config import load_settings
    from mecm.services.admin import fast_reads

    with friendly_errors(as_json):
        rows = fast_reads.list_workspaces(load_settings(), include_archived=everything)
    if rows is None:
        from mecm.cli.transaction import in_transaction
        from mecm.services.admin import workspaces

        rows = in_transaction(as_json, lambda c, _: workspaces.list_workspaces(c, include_archived=everything))
    emit_table("workspaces", rows, as_json, "Workspaces", wide=wide)
