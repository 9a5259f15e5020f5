"""One administration action in one transaction, with bad input reported as the CLI reports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from mecm.cli.output import friendly_errors, know_time_zones
from mecm.cli.state import open_store
from mecm.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mecm.store.crypto import Vault

T = TypeVar("T")


def in_transaction(as_json: bool, action: Callable[[Connection, Vault], T]) -> T:
    from mecm.store.engine import mark_writer
    from mecm.store.time_zones import workspace_time_zones

    with friendly_errors(as_json):
        engine, vault = open_store(load_settings())
        try:
            with engine.connect() as connection:
                # BEGIN IMMEDIATE: the action reads, then writes, while a server may be writing; a
                # deferred transaction would fail on its first write instead of waiting its turn.
                mark_writer(connection)
                with connection.begin():
                    result = action(connection, vault)
                    if not as_json:  # times are printed in their workspace's zone
                        know_time_zones(workspace_time_zones(connection))
                    return result
        finally:
            engine.dispose()
    raise AssertionError("unreachable")
