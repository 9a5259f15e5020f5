"""The CLI's fast read (store/direct.py): the same workspaces as SQLAlchemy reads, and only from a
database the ordinary way would open as it is (else None, having changed nothing). On SQLite and,
with MECM_TEST_DATABASE=postgresql, on PostgreSQL."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Engine, select, text

from mecm.config import Settings
from mecm.services.admin import fast_reads
from mecm.store import admin as store_admin
from mecm.store import direct, workspace_rows
from mecm.store.crypto import load_master_key
from mecm.store.engine import head_revision
from mecm.store.tables import workspaces
from tests.support.databases import on_postgresql


def test_the_schema_head_is_the_latest_migration() -> None:
    assert direct.SCHEMA_HEAD == head_revision(), (
        "a new migration: set SCHEMA_HEAD in src/mecm/store/direct.py to its revision")


def test_a_stale_schema_head_reads_nothing(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration added and SCHEMA_HEAD forgotten: the newest migration file is not SCHEMA_HEAD's."""
    settings = _settings(engine, tmp_path)
    monkeypatch.setattr(direct, "SCHEMA_HEAD", str(int(direct.SCHEMA_HEAD) - 1).zfill(4))
    with engine.begin() as connection:  # the database too, as a database not yet migrated would be
        connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": direct.SCHEMA_HEAD})
    assert fast_reads.list_workspaces(settings) is None


def test_the_listed_columns_are_the_tables() -> None:
    columns = [c for c in workspaces.c if c.name not in ("id", "webhook_secret_enc")]
    assert workspace_rows.COLUMNS == tuple(c.name for c in columns), (
        "a new column of workspaces: add it to COLUMNS in src/mecm/store/workspace_rows.py")
    assert workspace_rows.BOOLEANS == {c.name for c in columns if isinstance(c.type, Boolean)}


def _some_workspaces(engine: Engine) -> None:
    with engine.begin() as connection:
        first = store_admin.create_workspace(connection, "shop", "Asia/Tokyo")["instance_id"]
        second = store_admin.create_workspace(connection, "ünïcode 店", default_carrier="sim")["instance_id"]
        third = store_admin.create_workspace(connection, "old")["instance_id"]
        store_admin.update_workspace(connection, first, {"pin_in_response": False})
        store_admin.set_status_callback(connection, second, "http://127.0.0.1:9/status")
        connection.execute(workspaces.update().where(workspaces.c.id == second).values(webhook_secret_enc="secret"))
        connection.execute(workspaces.update().where(workspaces.c.id == third).values(archived_at_ms=1_700_000_000_000))


def _as_sqlalchemy_lists(engine: Engine, include_archived: bool) -> list[dict[str, Any]]:
    """The listing as store/admin.py made it before it shared its statement with the fast read."""
    query = select(workspaces).order_by(workspaces.c.id)
    if not include_archived:
        query = query.where(workspaces.c.archived_at_ms.is_(None))
    with engine.connect() as connection:
        return [{"instance_id": r["id"], **{k: v for k, v in r.items() if k not in ("id", "webhook_secret_enc")}}
                for r in connection.execute(query).mappings()]


@pytest.mark.parametrize("include_archived", [False, True])
def test_the_store_lists_what_sqlalchemy_reads(engine: Engine, include_archived: bool) -> None:
    _some_workspaces(engine)
    with engine.connect() as connection:
        listed = store_admin.list_workspaces(connection, include_archived)
    assert listed == _as_sqlalchemy_lists(engine, include_archived)
    assert [type(w["pin_in_response"]) for w in listed] == [bool] * len(listed)


def _settings(engine: Engine, home: Path) -> Settings:
    """The settings of a state with this database, ``home`` as var dir (private) and a master key."""
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), var_dir=str(home))
    load_master_key(settings, create=True)
    return settings


@pytest.mark.parametrize("include_archived", [False, True])
def test_the_fast_read_lists_what_sqlalchemy_reads(engine: Engine, tmp_path: Path, include_archived: bool) -> None:
    _some_workspaces(engine)
    listed = fast_reads.list_workspaces(_settings(engine, tmp_path), include_archived=include_archived)
    assert listed == _as_sqlalchemy_lists(engine, include_archived)
    assert [type(w["pin_in_response"]) for w in listed] == [bool] * len(listed)


def _schema_behind(engine: Engine, settings: Settings) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0018'"))


def _readable_database(engine: Engine, settings: Settings) -> None:
    if on_postgresql():
        pytest.skip("about SQLite's files")
    os.chmod(engine.url.database, 0o644)


def _open_var_dir(engine: Engine, settings: Settings) -> None:
    os.chmod(settings.var_path, 0o755)


def _no_master_key(engine: Engine, settings: Settings) -> None:
    (settings.var_path / "master.key").unlink()


def _bad_master_key(engine: Engine, settings: Settings) -> None:
    (settings.var_path / "master.key").write_text("not a key")


def _no_schema(engine: Engine, settings: Settings) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))


@pytest.mark.parametrize("change", [_schema_behind, _readable_database, _open_var_dir, _no_master_key,
                                    _bad_master_key, _no_schema], ids=lambda f: f.__name__.strip("_"))
def test_a_state_the_ordinary_way_would_change_or_refuse_is_not_read(engine: Engine, tmp_path: Path,
                                                                    change: Any) -> None:
    _some_workspaces(engine)
    settings = _settings(engine, tmp_path)
    change(engine, settings)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in settings.var_path.iterdir()}

    assert fast_reads.list_workspaces(settings) is None
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in settings.var_path.iterdir()} == modes  # nothing fixed


def test_a_missing_database_is_not_read_nor_made(tmp_path: Path) -> None:
    missing = Settings(database_url=f"sqlite:///{tmp_path / 'mecm.db'}", var_dir=str(tmp_path))
    load_master_key(missing, create=True)
    assert fast_reads.list_workspaces(missing) is None
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]  # no database made


def test_a_database_that_cannot_be_reached_is_left_to_the_ordinary_way(tmp_path: Path) -> None:
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{_closed_port()}/mecm", var_dir=str(tmp_path))
    load_master_key(settings, create=True)
    assert fast_reads.list_workspaces(settings) is None


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns: nothing listens there
