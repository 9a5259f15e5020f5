"""Which workspace a list, a broadcast, a campaign, a key pair or a code belongs to (SQL only): the
admin API checks a user's role on that workspace before a change to them (services/admin/access.py)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from mecm.store.tables import api_keys, broadcasts, campaigns, codes, lists


def workspace_of_list(connection: Connection, list_id: int) -> int | None:
    return connection.execute(select(lists.c.workspace_id).where(lists.c.id == list_id)).scalar_one_or_none()


def workspace_of_broadcast(connection: Connection, broadcast_id: int) -> int | None:
    return connection.execute(select(broadcasts.c.workspace_id).where(broadcasts.c.id == broadcast_id)
                              ).scalar_one_or_none()


def workspace_of_key(connection: Connection, public_key: str) -> int | None:
    return connection.execute(select(api_keys.c.workspace_id).where(api_keys.c.public_key == public_key)
                              ).scalar_one_or_none()


def workspace_of_code(connection: Connection, code: str) -> int | None:
    return connection.execute(select(codes.c.workspace_id).where(codes.c.code == code)).scalar_one_or_none()


def workspace_of_campaign(connection: Connection, campaign_id: int) -> int | None:
    return connection.execute(select(campaigns.c.workspace_id).where(campaigns.c.id == campaign_id)
                              ).scalar_one_or_none()
