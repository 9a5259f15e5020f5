"""Every ``mecm`` command as typer builds it: the tree the front door (cli/front.py) hands a command
line to when it is not one of the few commands it runs itself (cli/front.py says why).

Building this app imports no sqlalchemy, alembic, starlette or uvicorn: each command imports what it
needs when it runs (tests/unit/cli/test_startup.py).
"""

from __future__ import annotations

import typer

from mecm.cli import admin, client_commands, help, server, smsc_sim

# Plain help text (cli/help.py says why); pretty_exceptions off: an unexpected error prints a plain
# traceback rather than loading rich's traceback renderer.
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="mecm: Mobile Engagement Campaign Manager. Settings come from MECM_CONFIG or the nearest "
                       "mecm.toml in this folder or above, then MECM_* variables; without them, state is kept in "
                       "~/.local/share/mecm. mecm init creates the database.")
server.register(app)
app.add_typer(admin.app, name="admin", help="Workspaces, keys, codes, carriers, campaigns, lists, credit, limits.")
client_commands.register(app)
smsc_sim.register(app)
help.describe_commands(app)
