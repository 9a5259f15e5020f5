"""Carriers (connections to operators): add one, list them. An smpp carrier's password is stored
encrypted and never shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.domain.smpp_settings import SmppSettings
from mecm.errors import InvalidParameter
from mecm.store import admin as store_admin
from mecm.store.crypto import Vault

CONNECTORS = ("simulator", "smpp")


def add_carrier(
    connection: Connection,
    name: str,
    connector: str,
    prefixes: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    vault: Vault | None = None,
) -> dict[str, Any]:
    """Add a carrier. An smpp carrier's settings are validated by SmppSettings and its password is
    stored encrypted with ``vault`` (as ``password_enc``); the returned row never holds it."""
    if not name.strip() or "/" in name:
        raise InvalidParameter("name", "must be non-empty and contain no '/'")
    if connector not in CONNECTORS:
        raise InvalidParameter("connector", f"must be one of {', '.join(CONNECTORS)}")
    clean_prefixes = [p.strip().lstrip("+") for p in prefixes or [] if p.strip()]
    for prefix in clean_prefixes:
        if not prefix.isdigit():
            raise InvalidParameter("prefix", f"{prefix!r} is not digits")
    stored = dict(settings or {})
    shown = stored
    max_binds = stored.get("max_binds", 1)
    if not isinstance(max_binds, int) or isinstance(max_binds, bool) or not 1 <= max_binds <= 64:
        raise InvalidParameter("max-binds", "must be a whole number from 1 to 64")
    if connector == "simulator":
        _check_simulator_settings(stored)
    elif connector == "smpp":
        stored, shown = _smpp_settings(stored, vault)
    if store_admin.carrier_exists(connection, name):
        raise InvalidParameter("name", f"a carrier named {name!r} exists")
    row = store_admin.insert_carrier(connection, name, connector, clean_prefixes, stored)
    return {**row, "settings": shown}


def list_carriers(connection: Connection) -> list[dict[str, Any]]:
    return store_admin.list_carriers(connection)


def _smpp_settings(settings: dict[str, Any], vault: Vault | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what is stored, what is shown): validated, the password encrypted in one and absent from the other."""
    parsed = SmppSettings.parse(settings)
    stored = {k: v for k, v in settings.items() if k != "password" and v is not None}
    if parsed.password:
        if vault is None:
            raise InvalidParameter("password", "cannot be stored without the master key")
        stored["password_enc"] = vault.encrypt(parsed.password)
    return stored, store_admin.shown_settings(stored)


def _check_simulator_settings(settings: dict[str, Any]) -> None:
    if not 0.0 <= float(settings.get("failure_rate", 0.0)) <= 1.0:
        raise InvalidParameter("failure-rate", "must be 0 to 1")
    if int(settings.get("delivery_delay_ms", 0)) < 0:
        raise InvalidParameter("delivery-delay-ms", "must be 0 or more")
    if float(settings.get("tps", 0)) < 0:
        raise InvalidParameter("tps", "must be 0 (no limit) or more")
