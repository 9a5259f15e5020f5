"""The CLI's way to the state: the database and the master key, found by the settings (mecm/config.py)
and never created here unless asked (``mecm init``, ``mecm demo``).

A refusal says where the settings came from (which ``mecm.toml``, which variables, or the default var
dir), so a command run from an unexpected folder explains itself instead of starting afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mecm.config import Settings, describe_sources
from mecm.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mecm.store.crypto import Vault


def open_store(settings: Settings, *, create: bool = False) -> tuple[Engine, Vault]:
    """The database, migrated to the latest revision, and the vault. Without ``create``, a missing
    database (or one without mecm's schema, or a missing master key) is a ``ConfigError`` saying to
    run ``mecm init`` and where the settings were looked for."""
    from sqlalchemy.exc import DBAPIError

    from mecm.files import private_dir
    from mecm.store import engine as store_engine
    from mecm.store.crypto import Vault, load_master_key

    try:
        engine = store_engine.make_engine(settings.database_url, settings.sqlite_synchronous, create=create)
    except ConfigError as error:
        raise _explained(error, create) from None
    try:
        store_engine.upgrade(engine, create=create)
        private_dir(settings.var_path)  # after the database is known to be there: a refusal makes nothing
        return engine, Vault(load_master_key(settings, create=create))
    except ConfigError as error:
        engine.dispose()
        raise _explained(error, create) from None
    except DBAPIError as error:  # not reachable, refused, no such database: one line, not a traceback
        engine.dispose()
        raise ConfigError(unreachable(settings.database_url, error)) from None
    except BaseException:
        engine.dispose()
        raise


def unreachable(database_url: str, error: Exception) -> str:
    """Why the database at ``database_url`` could not be used, in one line: the driver's own words
    (its lines joined), without the password and without SQLAlchemy's wrapping."""
    from mecm.cli.output import without_password
    from mecm.store.driver_errors import one_line

    return f"cannot use the database {without_password(database_url)}: {one_line(error)}"


def _explained(error: ConfigError, create: bool) -> ConfigError:
    if create:
        return error
    lines = [str(error), f"  settings: {describe_sources()}"]
    old_default = Path("var") / "mecm.db"
    if old_default.is_file():
        lines.append(f"  {old_default.absolute()} is here: mecm once kept its state in ./var of the folder it ran "
                     'in; to go on using it, put  var_dir = "var"  into a mecm.toml in this folder')
    return ConfigError("\n".join(lines))
