"""API key pairs: create (with an expiry), set the expiry, rotate, revoke, list.

The expiry rules (durations, dates in the workspace's zone, the overlap of a rotation) are still
checked in store/keys.py; the key named must exist (``Unknown`` otherwise) before they are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.services.admin.audit import record
from mecm.services.admin.lookups import require_key, require_workspace
from mecm.services.key_use import wall_clock_ms
from mecm.store import admin as store_admin
from mecm.store import keys as store_keys
from mecm.store import ownership
from mecm.store.crypto import Vault


def create_key(connection: Connection, vault: Vault, workspace_id: int, *, actor: str, expires: str | None = None,
               expires_in: str | None = None) -> dict[str, Any]:
    """A new key pair; its private key is in this answer only (never in its audit entry)."""
    require_workspace(connection, workspace_id)
    pair = store_keys.create_key(connection, vault, workspace_id, wall_clock_ms(), expires=expires,
                                 expires_in=expires_in)
    record(connection, actor, "key.create", f"key:{pair['public_key']}", workspace_id=workspace_id,
           after=pair)  # record() drops private_key
    return pair


def set_expiry(connection: Connection, public_key: str, *, actor: str, expires: str | None = None,
               expires_in: str | None = None, never: bool = False) -> dict[str, Any]:
    require_key(connection, public_key)
    before = _key(connection, public_key)
    row = store_keys.set_expiry(connection, public_key, wall_clock_ms(), expires=expires, expires_in=expires_in,
                                never=never)
    record(connection, actor, "key.expiry", f"key:{public_key}", workspace_id=before["workspace_id"],
           before={"expires_at": before["expires_at"], "state": before["state"]},
           after={"expires_at": row["expires_at"], "state": "expired" if row["expired"] else "active"})
    return row


def rotate_key(connection: Connection, vault: Vault, public_key: str, *, actor: str, overlap: str = "24h",
               expires: str | None = None, expires_in: str | None = None) -> dict[str, Any]:
    """A new key pair in the same workspace, working now; the old one stops after ``overlap``."""
    require_key(connection, public_key)
    before = _key(connection, public_key)
    row = store_keys.rotate_key(connection, vault, public_key, wall_clock_ms(), overlap=overlap,
                                expires=expires, expires_in=expires_in)
    record(connection, actor, "key.rotate", f"key:{public_key}", workspace_id=before["workspace_id"],
           before={"public_key": public_key, "expires_at": before["expires_at"], "state": before["state"]},
           after={"public_key": public_key, "expires_at": row["old_expires_at"], "revoked": row["old_revoked"],
                  "new_public_key": row["public_key"], "new_expires_at": row["expires_at"]})
    return row


def revoke_key(connection: Connection, public_key: str, *, actor: str) -> dict[str, Any]:
    workspace_id = ownership.workspace_of_key(connection, public_key)
    store_admin.revoke_key(connection, public_key)
    record(connection, actor, "key.revoke", f"key:{public_key}", workspace_id=workspace_id,
           before={"public_key": public_key, "revoked": False}, after={"public_key": public_key, "revoked": True})
    return {"public_key": public_key, "revoked": True}


def _key(connection: Connection, public_key: str) -> dict[str, Any]:
    """The key as ``list_keys`` shows it (its workspace, state and dates)."""
    workspace_id = ownership.workspace_of_key(connection, public_key)
    return next(k for k in store_keys.list_keys(connection, wall_clock_ms(), workspace_id)
                if k["public_key"] == public_key)


def list_keys(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    """Every key pair (of one workspace): state, created, expires, last used, revoked."""
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return store_keys.list_keys(connection, wall_clock_ms(), workspace_id)
