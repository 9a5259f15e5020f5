"""The ``mecm`` command: serve, db, demo, admin, send, mo.

Every command that prints takes ``--json`` and then prints exactly one JSON object.
"""

from __future__ import annotations

import typer

from mecm.cli import admin, client_commands, server, smsc_sim

app = typer.Typer(no_args_is_help=True, add_completion=False, help="mecm: Mobile Engagement Campaign Manager")
server.register(app)
app.add_typer(admin.app, name="admin", help="Workspaces, keys, codes, carriers, campaigns.")
client_commands.register(app)
smsc_sim.register(app)


def main() -> None:
    app()
