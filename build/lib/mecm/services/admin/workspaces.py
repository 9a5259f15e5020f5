"""Workspaces (the API's instanceId): create, list, edit (name, time zone, default carrier), archive
and restore, and their settings.

Archiving keeps everything the workspace did (messages, MOs, lists, campaigns, keys) and stops it
being used: its keys answer BAD_SIGNATURE, its campaigns stop answering, lists leave it out unless
asked for all. It is refused while a broadcast of the workspace is scheduled, sending or paused
(cancel it first: an archived workspace would otherwise go on sending, or be resumed). Restoring
undoes it: the keys that were not revoked or expired work again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from mecm.domain.actions import check_url
from mecm.domain.addresses import Network
from mecm.domain.dates import is_valid_timezone
from mecm.errors import InvalidParameter
from mecm.services.admin.audit import changes, record
from mecm.services.admin.lookups import named, require_workspace
from mecm.store import admin as store_admin
from mecm.store.crypto import Vault


def create_workspace(connection: Connection, name: str, timezone: str = "America/Caracas",
                     default_carrier: str | None = None, *, actor: str) -> dict[str, Any]:
    """A new workspace, and its audit entry in the same transaction."""
    if not name.strip():
        raise InvalidParameter("name", "empty")
    if not is_valid_timezone(timezone):
        raise InvalidParameter("timezone", f"unknown time zone {timezone!r}")
    if default_carrier is not None:
        require_carrier(connection, default_carrier, "default-carrier")
    row = store_admin.create_workspace(connection, name, timezone, default_carrier)
    record(connection, actor, "workspace.create", f"workspace:{row['instance_id']}",
           workspace_id=row["instance_id"], after=row)
    return row


def list_workspaces(connection: Connection, *, include_archived: bool = False) -> list[dict[str, Any]]:
    """The workspaces in use (and the archived ones too with ``include_archived``)."""
    return store_admin.list_workspaces(connection, include_archived)


def update_workspace(connection: Connection, workspace_id: int, *, actor: str, name: str | None = None,
                     timezone: str | None = None, default_carrier: str | None = None,
                     pin_in_response: bool | None = None) -> dict[str, Any]:
    """Change what is given (None: leave it); ``default_carrier`` "" removes the default. Every value
    is checked before anything is written. The workspace as it is now."""
    require_workspace(connection, workspace_id)
    values: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise InvalidParameter("name", "empty")
        if len(name) > 200:
            raise InvalidParameter("name", "longer than 200 characters")
        values["name"] = name.strip()
    if timezone is not None:
        if not is_valid_timezone(timezone):
            raise InvalidParameter("timezone", f"unknown time zone {timezone!r}")
        values["timezone"] = timezone
    if default_carrier is not None:
        if default_carrier:
            require_carrier(connection, default_carrier, "default-carrier")
        values["default_carrier"] = default_carrier or None
    if pin_in_response is not None:
        values["pin_in_response"] = pin_in_response
    if not values:
        raise InvalidParameter("workspace", "nothing to change: give name, timezone, default-carrier or "
                                            "pin-in-response")
    return _changed(connection, workspace_id, values, actor, "workspace.edit")


def archive_workspace(connection: Connection, workspace_id: int, *, now_ms: int, actor: str) -> dict[str, Any]:
    """Archive it (see the module's words); archiving an archived workspace changes nothing (and is
    not in the audit log)."""
    require_workspace(connection, workspace_id)
    busy = store_admin.unfinished_broadcasts(connection, workspace_id=workspace_id)
    if busy:
        raise InvalidParameter("workspace", f"broadcast {named(busy[0])} is scheduled, sending or paused: "
                                            "cancel it before archiving the workspace")
    if _workspace(connection, workspace_id)["archived_at_ms"] is not None:
        return _workspace(connection, workspace_id)
    return _changed(connection, workspace_id, {"archived_at_ms": now_ms}, actor, "workspace.archive")


def restore_workspace(connection: Connection, workspace_id: int, *, actor: str) -> dict[str, Any]:
    """In use again: its keys that were not revoked and have not expired work again. Restoring one in
    use changes nothing (and is not in the audit log)."""
    require_workspace(connection, workspace_id)
    if _workspace(connection, workspace_id)["archived_at_ms"] is None:
        return _workspace(connection, workspace_id)
    return _changed(connection, workspace_id, {"archived_at_ms": None}, actor, "workspace.restore")


def set_default_carrier(connection: Connection, workspace_id: int, carrier: str, *, actor: str) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    require_carrier(connection, carrier, "carrier")
    _changed(connection, workspace_id, {"default_carrier": carrier}, actor, "workspace.edit")
    return {"instance_id": workspace_id, "default_carrier": carrier}


def _workspace(connection: Connection, workspace_id: int) -> dict[str, Any]:
    row = store_admin.workspace_row(connection, workspace_id)
    assert row is not None  # required by the caller
    return row


def _changed(connection: Connection, workspace_id: int, values: dict[str, Any], actor: str,
             action: str) -> dict[str, Any]:
    """Write ``values`` and their audit entry (the fields that changed, before and after; none when
    nothing did); the workspace as it is now."""
    before = _workspace(connection, workspace_id)
    store_admin.update_workspace(connection, workspace_id, values)
    after = _workspace(connection, workspace_id)
    was, now = changes(before, after)
    if was or now:  # giving a setting the value it has changes nothing
        record(connection, actor, action, f"workspace:{workspace_id}", workspace_id=workspace_id, before=was,
               after=now)
    return after


def set_pin_in_response(connection: Connection, workspace_id: int, shown: bool, *, actor: str) -> dict[str, Any]:
    """Whether sendSMSPinMobileNumberConfirm answers the PIN itself (``shown``) or an empty <pin/>."""
    require_workspace(connection, workspace_id)
    _changed(connection, workspace_id, {"pin_in_response": shown}, actor, "workspace.edit")
    return {"instance_id": workspace_id, "pin_in_response": shown}


def webhook_secret(connection: Connection, vault: Vault, workspace_id: int, *, rotate: bool = False,
                   actor: str | None = None) -> str:
    """The key that signs the workspace's webhooks, created on first need (or anew with ``rotate``).
    Making one is in the audit log as ``workspace.webhook_secret`` (never the key itself) with
    ``actor``; without one (a campaign's webhook needing it first) the change that needs it is."""
    require_workspace(connection, workspace_id)
    stored = store_admin.webhook_secret_enc(connection, workspace_id)
    if stored and not rotate:
        return vault.decrypt(stored)
    secret = secrets.token_urlsafe(32)
    store_admin.set_webhook_secret_enc(connection, workspace_id, vault.encrypt(secret))
    if actor is not None:
        record(connection, actor, "workspace.webhook_secret", f"workspace:{workspace_id}", workspace_id=workspace_id,
               before={"signing_key": "set" if stored else None},
               after={"signing_key": "replaced" if stored else "created"})
    return secret


def set_status_callback(connection: Connection, vault: Vault, workspace_id: int, url: str,
                        allow: Iterable[Network] = (), *, actor: str) -> dict[str, Any]:
    """Post every status change of the workspace's MTs to ``url`` ("" stops it); ``allow``: the
    setting outbound_allow's networks, which a URL's address must be in unless it is public."""
    require_workspace(connection, workspace_id)
    url = url.strip()
    if url:
        check_url(url, "url", allow)
        webhook_secret(connection, vault, workspace_id, actor=actor)  # its webhooks are signed from the first
    before = _workspace(connection, workspace_id).get("status_callback_url")
    row = store_admin.set_status_callback(connection, workspace_id, url or None)
    if before != (url or None):
        record(connection, actor, "workspace.callback", f"workspace:{workspace_id}", workspace_id=workspace_id,
               before={"status_callback_url": before}, after={"status_callback_url": url or None})
    return row


def parse_when(connection: Connection, workspace_id: int, raw: str | None, name: str) -> int | None:
    """An ISO 8601 date and time as epoch ms; without an offset it is in the workspace's time zone."""
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidParameter(name, "must be an ISO 8601 date and time, e.g. 2026-12-24T18:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(require_workspace(connection, workspace_id)))
    return int(when.timestamp() * 1000)


def require_carrier(connection: Connection, name: str, option: str) -> None:
    if not store_admin.carrier_exists(connection, name):
        raise InvalidParameter(option, f"no carrier named {name!r}")
