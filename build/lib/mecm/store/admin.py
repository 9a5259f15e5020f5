"""Administration's rows: workspaces, key pairs, codes, carriers, campaigns.

Statements only: the use cases in mecm.services.admin validate input and decide; these functions
read and write what they are given. (``require_workspace`` and ``require_code_of`` stay here for the
store modules whose own checks have not moved up yet: lists, keys, opt-outs, limits, broadcasts.)
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from mecm.domain import keywords
from mecm.domain.actions import load as actions_of
from mecm.domain.broadcast_state import UNFINISHED_STATES
from mecm.errors import InvalidParameter, Unknown
from mecm.store import workspace_rows
from mecm.store.crypto import Vault
from mecm.store.tables import (api_keys, broadcasts, campaign_codes, campaigns, carriers, codes, messages, prices,
                               workspaces)


def now_ms() -> int:
    return int(time.time() * 1000)


# -- workspaces ----------------------------------------------------------------------------------


def create_workspace(
    connection: Connection, name: str, timezone: str = "America/Caracas", default_carrier: str | None = None
) -> dict[str, Any]:
    row = {"name": name, "timezone": timezone, "default_carrier": default_carrier, "created_at_ms": now_ms()}
    workspace_id = connection.execute(workspaces.insert().values(row)).inserted_primary_key[0]
    return {"instance_id": workspace_id, **row}


def workspace_timezone(connection: Connection, workspace_id: int) -> str | None:
    """The workspace's time zone, None when there is no such workspace."""
    return connection.execute(select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)).scalar()


def require_workspace(connection: Connection, workspace_id: int) -> None:
    if workspace_timezone(connection, workspace_id) is None:
        raise Unknown("workspace", "workspace", workspace_id)


def webhook_secret_enc(connection: Connection, workspace_id: int) -> str | None:
    return connection.execute(
        select(workspaces.c.webhook_secret_enc).where(workspaces.c.id == workspace_id)).scalar()


def set_webhook_secret_enc(connection: Connection, workspace_id: int, encrypted: str) -> None:
    connection.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                       .values(webhook_secret_enc=encrypted))


def set_status_callback(connection: Connection, workspace_id: int, url: str | None) -> dict[str, Any]:
    connection.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                       .values(status_callback_url=url))
    return {"instance_id": workspace_id, "status_callback_url": url}


def update_workspace(connection: Connection, workspace_id: int, values: dict[str, Any]) -> None:
    """Set the columns in ``values`` (name, timezone, default_carrier, archived_at_ms)."""
    connection.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(**values))


def workspace_row(connection: Connection, workspace_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(workspaces).where(workspaces.c.id == workspace_id)).mappings().first()
    return None if row is None else _workspace_shown(row)


def unfinished_broadcasts(connection: Connection, *, workspace_id: int | None = None, code: str | None = None,
                          carrier: str | None = None) -> list[dict[str, Any]]:
    """Broadcasts scheduled or sending, or paused (they will send when resumed), of the workspace, on
    the code, or to the carrier: id, name."""
    query = select(broadcasts.c.id, broadcasts.c.name).where(
        broadcasts.c.state.in_(UNFINISHED_STATES)).order_by(broadcasts.c.id)
    if workspace_id is not None:
        query = query.where(broadcasts.c.workspace_id == workspace_id)
    if code is not None:
        query = query.where(broadcasts.c.code == code)
    if carrier is not None:
        query = query.where(broadcasts.c.carrier == carrier)
    return [dict(r) for r in connection.execute(query).mappings().all()]


def list_workspaces(connection: Connection, include_archived: bool = False) -> list[dict[str, Any]]:
    # The statement the CLI's fast path runs too, without SQLAlchemy (store/workspace_rows.py).
    return workspace_rows.list_workspaces(connection.exec_driver_sql, include_archived)


def _workspace_shown(row: Any) -> dict[str, Any]:
    return {"instance_id": row["id"], **{k: v for k, v in row.items() if k not in ("id", "webhook_secret_enc")}}




# -- key pairs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    workspace_id: int
    public_key: str
    private_key: str


def create_key(connection: Connection, vault: Vault, workspace_id: int,
               expires_at_ms: int | None = None) -> KeyPair:
    """A new key pair; ``expires_at_ms`` is checked by the caller (store/keys.py)."""
    require_workspace(connection, workspace_id)
    public_key = uuid.uuid4().hex.upper()
    private_key = secrets.token_urlsafe(32)
    connection.execute(
        api_keys.insert().values(
            workspace_id=workspace_id,
            public_key=public_key,
            private_key_enc=vault.encrypt(private_key),
            created_at_ms=now_ms(),
            expires_at_ms=expires_at_ms,
        )
    )
    return KeyPair(workspace_id, public_key, private_key)


def key_works(connection: Connection, public_key: str, now_ms: int) -> bool:
    """Whether the key exists, is not revoked and has not expired at ``now_ms``."""
    return connection.execute(select(api_keys.c.id).where(
        api_keys.c.public_key == public_key, api_keys.c.revoked_at_ms.is_(None),
        or_(api_keys.c.expires_at_ms.is_(None), api_keys.c.expires_at_ms > now_ms),
    )).first() is not None


def revoke_key(connection: Connection, public_key: str) -> None:
    result = connection.execute(
        update(api_keys)
        .where(api_keys.c.public_key == public_key, api_keys.c.revoked_at_ms.is_(None))
        .values(revoked_at_ms=now_ms())
    )
    if result.rowcount == 0:
        raise InvalidParameter("public-key", "no such active key")


# -- codes ---------------------------------------------------------------------------------------


def code_owner(connection: Connection, code: str) -> int | None:
    """The workspace the code is assigned to, None when it is free."""
    return connection.execute(select(codes.c.workspace_id).where(codes.c.code == code)).scalar()


def add_code(connection: Connection, workspace_id: int, code: str, is_default: bool = False) -> dict[str, Any]:
    """Assign the code; as the default, it takes that place from the workspace's other codes."""
    if is_default:
        connection.execute(update(codes).where(codes.c.workspace_id == workspace_id).values(is_default=False))
    row = {"workspace_id": workspace_id, "code": code, "is_default": is_default, "created_at_ms": now_ms()}
    connection.execute(codes.insert().values(row))
    return row


def remove_code(connection: Connection, code: str) -> None:
    connection.execute(codes.delete().where(codes.c.code == code))


def set_default_code(connection: Connection, workspace_id: int, code: str) -> None:
    """The workspace's default code: this one, and none of its others."""
    connection.execute(update(codes).where(codes.c.workspace_id == workspace_id)
                       .values(is_default=codes.c.code == code))


def live_campaigns_listening(connection: Connection, code: str) -> list[dict[str, Any]]:
    """The campaigns listening on ``code`` that are active or paused (not archived): id, name."""
    query = (select(campaigns.c.id, campaigns.c.name)
             .select_from(campaigns.join(campaign_codes, campaign_codes.c.campaign_id == campaigns.c.id))
             .where(campaign_codes.c.code == code, campaigns.c.archived_at_ms.is_(None)).order_by(campaigns.c.id))
    return [dict(r) for r in connection.execute(query).mappings().all()]


def require_code_of(connection: Connection, workspace_id: int, code: str) -> None:
    if code_owner(connection, code) != workspace_id:
        raise InvalidParameter("code", f"code {code} is not assigned to workspace {workspace_id}")


def list_codes(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    query = select(codes.c.workspace_id, codes.c.code, codes.c.is_default).order_by(codes.c.id)
    if workspace_id is not None:
        query = query.where(codes.c.workspace_id == workspace_id)
    return [dict(r) for r in connection.execute(query).mappings().all()]


# -- carriers ------------------------------------------------------------------------------------


def carrier_exists(connection: Connection, name: str) -> bool:
    return connection.execute(select(carriers.c.id).where(carriers.c.name == name)).first() is not None


def insert_carrier(connection: Connection, name: str, connector: str, prefixes: list[str],
                   settings: dict[str, Any]) -> dict[str, Any]:
    """Store a carrier; ``settings`` as they are to be kept (a password already as ``password_enc``)."""
    row = {
        "name": name,
        "connector": connector,
        "prefixes": ",".join(prefixes),
        "settings": json.dumps(settings, sort_keys=True),
        "is_active": True,
        "created_at_ms": now_ms(),
    }
    connection.execute(carriers.insert().values(row))
    return row


def carrier_row(connection: Connection, name: str) -> dict[str, Any] | None:
    """The carrier as stored (settings as their JSON text), None when there is none by that name."""
    row = connection.execute(select(carriers).where(carriers.c.name == name)).mappings().first()
    return None if row is None else dict(row)


def update_carrier(connection: Connection, name: str, values: dict[str, Any]) -> None:
    """Set prefixes (a list), settings (as they are to be kept) or is_active."""
    if "prefixes" in values:
        values = {**values, "prefixes": ",".join(values["prefixes"])}
    if "settings" in values:
        values = {**values, "settings": json.dumps(values["settings"], sort_keys=True)}
    connection.execute(update(carriers).where(carriers.c.name == name).values(**values))


def delete_carrier(connection: Connection, name: str) -> None:
    connection.execute(carriers.delete().where(carriers.c.name == name))


def carrier_users(connection: Connection, name: str) -> list[str]:
    """What uses the carrier, in words: workspaces it is the default of, broadcasts scheduled or
    sending to it, messages to it not final yet (a receipt may still come), prices naming it."""
    found = [f"workspace {r['id']} ({r['name']}) has it as default carrier" for r in connection.execute(
        select(workspaces.c.id, workspaces.c.name).where(workspaces.c.default_carrier == name)
        .order_by(workspaces.c.id)).mappings()]
    found += [f"broadcast {r['id']} ({r['name']}) uses it (scheduled, sending or paused)" if r["name"] else
              f"broadcast {r['id']} uses it (scheduled, sending or paused)"
              for r in unfinished_broadcasts(connection, carrier=name)]
    waiting = connection.execute(select(func.count()).select_from(messages).where(
        messages.c.carrier == name, messages.c.status.in_(("PENDING", "SENDING", "SENT_TO_CARRIER")))).scalar_one()
    if waiting:
        found.append(f"{waiting} message(s) to it are not final yet")
    priced = connection.execute(select(func.count()).select_from(prices).where(prices.c.carrier == name)).scalar_one()
    if priced:
        found.append(f"{priced} price(s) name it")
    return found


def list_carriers(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(carriers).order_by(carriers.c.id)).mappings().all()
    return [{**dict(r), "settings": shown_settings(json.loads(r["settings"]))} for r in rows]


def shown_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings fit to print: an encrypted password shows as "(encrypted)", never its ciphertext."""
    if "password_enc" in settings:
        settings = {k: v for k, v in settings.items() if k != "password_enc"}
        settings["password"] = "(encrypted)"
    return settings


# -- campaigns -----------------------------------------------------------------------------------
# A campaign is active (is_active), paused (not is_active), or archived (archived_at_ms set, and not
# is_active): only active ones match MOs (services/catalog.py); active and paused ones hold their
# keyword against a colliding campaign and their codes against removal.


def insert_campaign(connection: Connection, row: dict[str, Any], listening: list[str]) -> int:
    """Store an active campaign and the codes it listens on; its id."""
    campaign_id = connection.execute(campaigns.insert().values(row)).inserted_primary_key[0]
    connection.execute(campaign_codes.insert(), [{"campaign_id": campaign_id, "code": one} for one in listening])
    return campaign_id


def update_campaign(connection: Connection, campaign_id: int, values: dict[str, Any],
                    listening: list[str] | None = None) -> None:
    """Set the columns given; with ``listening``, the codes it listens on become those."""
    if values:
        connection.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(values))
    if listening is not None:
        connection.execute(campaign_codes.delete().where(campaign_codes.c.campaign_id == campaign_id))
        connection.execute(campaign_codes.insert(), [{"campaign_id": campaign_id, "code": one} for one in listening])


def campaign_row(connection: Connection, campaign_id: int) -> dict[str, Any] | None:
    """The campaign with its codes (in code order), or None."""
    row = connection.execute(select(campaigns).where(campaigns.c.id == campaign_id)).mappings().first()
    if row is None:
        return None
    listening = connection.execute(select(campaign_codes.c.code).where(campaign_codes.c.campaign_id == campaign_id)
                                   .order_by(campaign_codes.c.code)).scalars().all()
    return {**dict(row), "codes": list(listening)}


def live_campaigns_on(connection: Connection, workspace_id: int, code: str, *, other_than: int | None = None) -> list[Any]:
    """The workspace's campaigns not archived (active or paused) listening on ``code`` ("" : those on
    every code), but ``other_than``."""
    same_place = select(campaigns).select_from(
        campaigns.join(campaign_codes, campaign_codes.c.campaign_id == campaigns.c.id)).where(
        campaigns.c.workspace_id == workspace_id, campaign_codes.c.code == code,
        campaigns.c.archived_at_ms.is_(None),
    )
    if other_than is not None:
        same_place = same_place.where(campaigns.c.id != other_than)
    return list(connection.execute(same_place))


def rule_of(row: Any) -> keywords.KeywordRule:
    """A campaign row as matching sees it."""
    return keywords.KeywordRule(
        row.id, row.name, row.keyword, row.priority, row.reply, row.match_mode, bool(row.case_sensitive),
        row.starts_at_ms, row.ends_at_ms, row.cap_count, row.cap_window_s, row.quiet_hours,
        actions_of(row.actions),
    )


def list_campaigns(connection: Connection, workspace_id: int | None = None, *,
                   include_archived: bool = False) -> list[dict[str, Any]]:
    query = select(campaigns).order_by(campaigns.c.id)
    if workspace_id is not None:
        query = query.where(campaigns.c.workspace_id == workspace_id)
    if not include_archived:
        query = query.where(campaigns.c.archived_at_ms.is_(None))
    listening: dict[int, list[str]] = {}
    for campaign_id, one in connection.execute(select(campaign_codes).order_by(campaign_codes.c.code)):
        listening.setdefault(campaign_id, []).append(one)
    return [{**dict(r), "codes": listening.get(r["id"], [])} for r in connection.execute(query).mappings().all()]
