"""Carriers (connections to operators): add, list, edit, disable and enable, delete. An smpp
carrier's password is stored encrypted and never shown.

An edit changes the prefixes and the settings given (the others stay, the password too unless a new
one is given), checked as when the carrier was added; its name and connector stay (messages name
it: delete it and add another). A running worker restarts the carrier's connection with the new
settings at its next catalog refresh.

A disabled carrier takes no new message: routing skips it and a send naming it is BAD_CARRIER. The
messages already queued to it wait (PENDING, their attempts not spent) until it is enabled again or
they expire; they are not moved to another carrier (the client chose that carrier, or the router
did, and a price or a sender may depend on it). A carrier is deleted only when nothing uses it; the
refusal names what does.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any

from sqlalchemy import Connection

from mecm.domain.smpp_settings import SmppSettings
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin.audit import changes, record
from mecm.store import admin as store_admin
from mecm.store.crypto import Vault

CONNECTORS = ("simulator", "smpp")
# The settings an edit may give, by connector.
SETTINGS = {
    "simulator": frozenset({"delivery_delay_ms", "failure_rate", "tps", "max_binds"}),
    "smpp": frozenset({f.name for f in fields(SmppSettings)} | {"max_binds"}),
}


def add_carrier(
    connection: Connection,
    name: str,
    connector: str,
    prefixes: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    vault: Vault | None = None,
    *,
    actor: str,
) -> dict[str, Any]:
    """Add a carrier. An smpp carrier's settings are validated by SmppSettings and its password is
    stored encrypted with ``vault`` (as ``password_enc``); the returned row never holds it."""
    if not name.strip() or "/" in name:
        raise InvalidParameter("name", "must be non-empty and contain no '/'")
    if connector not in CONNECTORS:
        raise InvalidParameter("connector", f"must be one of {', '.join(CONNECTORS)}")
    clean_prefixes = _prefixes(prefixes or [])
    stored, shown = _checked_settings(connector, dict(settings or {}), vault)
    if store_admin.carrier_exists(connection, name):
        raise InvalidParameter("name", f"a carrier named {name!r} exists")
    row = store_admin.insert_carrier(connection, name, connector, clean_prefixes, stored)
    record(connection, actor, "carrier.add", f"carrier:{name}", after=_audited(_shown(connection, name)))
    return {**row, "settings": shown}


def list_carriers(connection: Connection) -> list[dict[str, Any]]:
    return store_admin.list_carriers(connection)


def update_carrier(connection: Connection, name: str, *, actor: str, prefixes: list[str] | None = None,
                   settings: dict[str, Any] | None = None, vault: Vault | None = None) -> dict[str, Any]:
    """Change the prefixes (a new list; [] for none) and the settings given (None values: leave as
    they are); a ``password`` in ``settings`` replaces the stored one (an empty one is refused: it
    would leave the carrier without one). The carrier as it is now; its audit entry shows the fields
    that changed, and a new password only as ``password_changed``."""
    row = require_carrier_named(connection, name)
    values: dict[str, Any] = {}
    if prefixes is not None:
        values["prefixes"] = _prefixes(prefixes)
    given = {k: v for k, v in (settings or {}).items() if v is not None}
    for key, value in given.items():
        option = str(key).replace("_", "-")
        if key not in SETTINGS.get(row["connector"], ()):
            raise InvalidParameter(option, f"not a setting of a {row['connector']} carrier")
        if not isinstance(value, (str, int, float)) or (isinstance(value, float) and not math.isfinite(value)):
            raise InvalidParameter(option, "must be text, a finite number, or true or false")
    if given.get("password") == "":
        raise InvalidParameter("password", "empty: give the new password (the carrier keeps its old one)")
    if given:
        kept = json.loads(row["settings"])
        if "password" in given:
            kept.pop("password_enc", None)
        merged = {**kept, **given}
        values["settings"], _ = _checked_settings(row["connector"], merged, vault)
    if not values:
        raise InvalidParameter("carrier", "nothing to change: give prefixes or settings")
    before = _audited(_shown(connection, name))
    store_admin.update_carrier(connection, name, values)
    shown = _shown(connection, name)
    was, now = changes(before, _audited(shown))
    if "password" in given:
        was, now = {**was, "password_changed": False}, {**now, "password_changed": True}
    if was or now:  # giving settings the values they have changes nothing
        record(connection, actor, "carrier.edit", f"carrier:{name}", before=was, after=now)
    return shown


def set_carrier_enabled(connection: Connection, name: str, *, enabled: bool, actor: str) -> dict[str, Any]:
    """Disable (no new message goes to it; those queued wait) or enable it again."""
    row = require_carrier_named(connection, name)
    store_admin.update_carrier(connection, name, {"is_active": enabled})
    if bool(row["is_active"]) != enabled:
        record(connection, actor, "carrier.enable" if enabled else "carrier.disable", f"carrier:{name}",
               before={"is_active": not enabled}, after={"is_active": enabled})
    return _shown(connection, name)


def delete_carrier(connection: Connection, name: str, *, actor: str) -> dict[str, Any]:
    """Delete a carrier nothing uses; the refusal names every user."""
    require_carrier_named(connection, name)
    users = store_admin.carrier_users(connection, name)
    if users:
        raise InvalidParameter("carrier", f"carrier {name!r} is in use: {'; '.join(users)}")
    before = _audited(_shown(connection, name))
    store_admin.delete_carrier(connection, name)
    record(connection, actor, "carrier.delete", f"carrier:{name}", before=before)
    return {"name": name, "deleted": True}


def require_carrier_named(connection: Connection, name: str, param: str = "carrier") -> dict[str, Any]:
    """The carrier's row; ``Unknown`` when no carrier has that name."""
    # Names are printable text of at most 100 characters; anything else (a NUL, which PostgreSQL
    # refuses) names no carrier.
    row = store_admin.carrier_row(connection, name) if len(name) <= 100 and name.isprintable() else None
    if row is None:
        raise Unknown(param, "carrier", name)
    return row


def _shown(connection: Connection, name: str) -> dict[str, Any]:
    row = store_admin.carrier_row(connection, name)
    assert row is not None
    return {**row, "settings": store_admin.shown_settings(json.loads(row["settings"]))}


def _audited(shown: dict[str, Any]) -> dict[str, Any]:
    """A carrier as its audit entries show it: one field per setting (so an edit's entry names the
    settings it changed), never a password, not even as "(encrypted)"."""
    settings = {k: v for k, v in shown["settings"].items() if k != "password"}
    if shown["connector"] == "smpp":
        settings["password_set"] = "password" in shown["settings"]
    return {"connector": shown["connector"], "prefixes": shown["prefixes"], "is_active": bool(shown["is_active"]),
            **settings}


def _prefixes(prefixes: list[str]) -> list[str]:
    clean = [p.strip().lstrip("+") for p in prefixes if p.strip()]
    for prefix in clean:
        if not (prefix.isascii() and prefix.isdigit()):
            raise InvalidParameter("prefix", f"{prefix!r} is not digits")
    return clean


def _checked_settings(connector: str, settings: dict[str, Any],
                      vault: Vault | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what is stored, what is shown), checked as the connector wants them."""
    max_binds = settings.get("max_binds", 1)
    if not isinstance(max_binds, int) or isinstance(max_binds, bool) or not 1 <= max_binds <= 64:
        raise InvalidParameter("max-binds", "must be a whole number from 1 to 64")
    if connector == "smpp":
        return _smpp_settings(settings, vault)
    if connector == "simulator":
        _check_simulator_settings(settings)
    return settings, settings


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
    if not 0.0 <= _number(settings, "failure_rate", "failure-rate") <= 1.0:
        raise InvalidParameter("failure-rate", "must be 0 to 1")
    delay = _number(settings, "delivery_delay_ms", "delivery-delay-ms")
    if not 0 <= delay <= 86_400_000 or delay != int(delay):
        raise InvalidParameter("delivery-delay-ms", "must be a whole number of milliseconds, 0 to 86400000")
    if not 0 <= _number(settings, "tps", "tps") <= 100_000:
        raise InvalidParameter("tps", "must be 0 (no limit) to 100000")


def _number(settings: dict[str, Any], key: str, option: str) -> float:
    """A numeric setting (0 when absent); a string, a flag or NaN is refused naming ``option``."""
    value = settings.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InvalidParameter(option, "must be a number")
    return float(value)
