"""The demo workspace ``mecm demo`` creates once: a simulator carrier, a workspace with a default
code, a welcome campaign, a key pair, and a console login (a deployment administrator who owns the
workspace, with a random password kept in the demo credentials file, mode 0600)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection

from mecm.services.admin import campaigns, carriers, codes, keys, users, workspaces
from mecm.services.key_use import wall_clock_ms
from mecm.store import admin as store_admin
from mecm.store.crypto import Vault

DEMO_CODE = "19893653744"
DEMO_CARRIER = "movistar"
DEMO_LOGIN = "demo@example.com"


def still_works(connection: Connection, creds: dict[str, Any]) -> bool:
    """Whether the demo credentials written earlier still name a workspace in use and a working key."""
    if not store_admin.key_works(connection, creds["public_key"], wall_clock_ms()):
        return False
    workspace = store_admin.workspace_row(connection, creds["instance_id"])
    return workspace is not None and workspace["archived_at_ms"] is None


def create_demo(connection: Connection, vault: Vault, *, actor: str) -> dict[str, Any]:
    """A demo workspace (on the first carrier, a simulator one when there is none); its credentials.
    What it makes is in the audit log as ``actor``'s."""
    if not carriers.list_carriers(connection):
        carriers.add_carrier(connection, DEMO_CARRIER, "simulator", [],
                             {"delivery_delay_ms": 50, "failure_rate": 0.0}, actor=actor)
    carrier = carriers.list_carriers(connection)[0]["name"]
    workspace = workspaces.create_workspace(connection, "demo", "America/Caracas", carrier, actor=actor)
    instance_id = workspace["instance_id"]
    codes_taken = {c["code"] for c in codes.list_codes(connection)}
    code = DEMO_CODE if DEMO_CODE not in codes_taken else str(int(DEMO_CODE) + instance_id)
    codes.add_code(connection, instance_id, code, is_default=True, actor=actor)
    campaigns.add_campaign(connection, instance_id, campaigns.NewCampaign(
        codes=[code], name="welcome", keyword="^OGANGI",
        reply="Thanks for writing to OGANGI! Reply STOP to opt out.", priority=10))
    pair = keys.create_key(connection, vault, instance_id, actor=actor)
    creds = {"instance_id": instance_id, "public_key": pair["public_key"],
             "private_key": pair["private_key"], "code": code, "carrier": carrier}
    return {**creds, **add_console_login(connection, instance_id, actor=actor)}


def add_console_login(connection: Connection, instance_id: int, *, actor: str) -> dict[str, Any]:
    """The demo's console login (made once; a later call for another demo workspace gives the same
    user a role there, with a new password): its e-mail and password."""
    password = secrets.token_urlsafe(12)
    hashed = users.hash_password(password)
    if any(u["email"] == DEMO_LOGIN for u in users.list_users(connection)):
        users.set_password(connection, DEMO_LOGIN, hashed, actor=actor)
    else:
        users.add_user(connection, DEMO_LOGIN, actor=actor, password=hashed, deployment_admin=True)
    users.set_role(connection, DEMO_LOGIN, instance_id, "owner", actor=actor)
    return {"console_email": DEMO_LOGIN, "console_password": password}
