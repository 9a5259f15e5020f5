"""The latest migration is known without alembic (a CLI command starts without it), and agrees with it."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from mecm.store.engine import alembic_config, head_revision


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
