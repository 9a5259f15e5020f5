"""Reads the CLI's fast commands make without SQLAlchemy (cli/front.py, store/direct.py).

Each answers None when the fast path cannot read (a schema to migrate, files to fix, something
missing to explain, a database that does not answer): the caller then runs the ordinary use case,
which acts and refuses as always. Same rows either way: the store runs one statement for both.
"""

from __future__ import annotations

from typing import Any

from mecm.config import Settings
from mecm.store import direct, workspace_rows


def list_workspaces(settings: Settings, *, include_archived: bool = False) -> list[dict[str, Any]] | None:
    """As services/admin/workspaces.py ``list_workspaces``, or None."""
    return direct.read(settings, lambda execute: workspace_rows.list_workspaces(execute, include_archived))
