"""Subscriber lists: create, join, leave, import, read.

Numbers are stored as MTs to them are addressed (normalised, digits without "+"), so a broadcast
reaches them and an opt-out finds them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, update

from mecm.domain.member_csv import read_members
from mecm.domain.phone import normalize_written_number
from mecm.errors import InvalidParameter, Unknown
from mecm.store.admin import require_workspace
from mecm.domain.actions import load as actions_of
from mecm.store.tables import campaigns, list_members, lists, opt_outs

_JOIN = text(
    """
    INSERT INTO list_members (list_id, subscriber, fields, via, joined_at_ms)
    VALUES (:list_id, :subscriber, :fields, :via, :now)
    ON CONFLICT (list_id, subscriber) DO UPDATE SET fields = excluded.fields
    """
)


def create_list(connection: Connection, workspace_id: int, name: str) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    name = _free_name(connection, workspace_id, name)
    row = {"workspace_id": workspace_id, "name": name, "created_at_ms": _now_ms()}
    list_id = connection.execute(lists.insert().values(row)).inserted_primary_key[0]
    return {"id": list_id, **row}


def rename_list(connection: Connection, list_id: int, name: str) -> dict[str, Any]:
    """The list under its new name (refused as create_list refuses a name)."""
    listed = require_list(connection, list_id)
    name = name.strip()
    if name != listed.name:
        name = _free_name(connection, listed.workspace_id, name)
        connection.execute(update(lists).where(lists.c.id == list_id).values(name=name))
    return {"id": list_id, "workspace_id": listed.workspace_id, "name": name, "created_at_ms": listed.created_at_ms}


def delete_list(connection: Connection, list_id: int) -> int:
    """Delete the list and its members; how many members it had."""
    members = connection.execute(delete(list_members).where(list_members.c.list_id == list_id)).rowcount
    connection.execute(delete(lists).where(lists.c.id == list_id))
    return members


def campaigns_using(connection: Connection, workspace_id: int, list_id: int) -> list[dict[str, Any]]:
    """The workspace's active campaigns with an action that subscribes to the list or unsubscribes
    from it: id, name."""
    query = (select(campaigns.c.id, campaigns.c.name, campaigns.c.actions)
             .where(campaigns.c.workspace_id == workspace_id, campaigns.c.is_active.is_(True),
                    campaigns.c.actions.is_not(None)).order_by(campaigns.c.id))
    return [{"id": r.id, "name": r.name} for r in connection.execute(query)
            if any(action.get("list_id") == list_id for action in actions_of(r.actions))]


def _free_name(connection: Connection, workspace_id: int, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidParameter("name", "must be 1 to 100 characters")
    if find_list(connection, workspace_id, name) is not None:
        raise InvalidParameter("name", f"workspace {workspace_id} already has a list named {name!r}")
    return name


def find_list(connection: Connection, workspace_id: int, name: str) -> int | None:
    return connection.execute(
        select(lists.c.id).where(lists.c.workspace_id == workspace_id, lists.c.name == name)).scalar()


def list_row(connection: Connection, list_id: int) -> Any:
    """The list's row, None when there is no such list."""
    return connection.execute(select(lists).where(lists.c.id == list_id)).first()


def require_list(connection: Connection, list_id: int, param: str = "list") -> Any:
    row = list_row(connection, list_id)
    if row is None:
        raise Unknown(param, "list", list_id)
    return row


def join(connection: Connection, list_id: int, subscriber: str, *, via: str, fields: dict[str, str] | None = None,
         now_ms: int | None = None) -> None:
    """Add (or keep) a member; a member who joins again keeps their place and gets the new fields."""
    connection.execute(_JOIN, {"list_id": list_id, "subscriber": subscriber, "fields": json.dumps(fields or {}),
                               "via": via, "now": now_ms or _now_ms()})


def add_member(connection: Connection, list_id: int, number: str, *, fields: dict[str, str] | None = None,
               param: str = "number") -> dict[str, Any]:
    """An admin adds a number (checked and normalised) to a list, or updates its fields."""
    require_list(connection, list_id)
    subscriber = normalize_written_number(number, param)
    join(connection, list_id, subscriber, via="admin", fields=fields)
    return {"list_id": list_id, "number": subscriber, "fields": fields or {}}


def remove_member(connection: Connection, list_id: int, number: str, param: str = "number") -> dict[str, Any]:
    require_list(connection, list_id)
    subscriber = normalize_written_number(number, param)
    return {"list_id": list_id, "number": subscriber, "removed": leave(connection, list_id, subscriber)}


def member_fields(connection: Connection, list_id: int, subscriber: str) -> dict[str, str] | None:
    """The member's fields, None when the number is not on the list."""
    fields = connection.execute(select(list_members.c.fields).where(
        list_members.c.list_id == list_id, list_members.c.subscriber == subscriber)).scalar()
    return None if fields is None else json.loads(fields)


def leave(connection: Connection, list_id: int, subscriber: str) -> bool:
    return bool(connection.execute(delete(list_members).where(
        list_members.c.list_id == list_id, list_members.c.subscriber == subscriber)).rowcount)


def import_csv(connection: Connection, list_id: int, content: str) -> dict[str, Any]:
    """Members from CSV (domain/member_csv.py). Every line is checked before any is written: one bad
    line refuses the file, naming it."""
    require_list(connection, list_id)
    read = read_members(content)
    refusal = read.refusal()
    if refusal is not None:
        raise refusal
    now = _now_ms()
    for number, fields in read.members.items():
        join(connection, list_id, number, via="import", fields=fields, now_ms=now)
    return {"list_id": list_id, "imported": len(read.members), "members": count(connection, list_id)}


def count(connection: Connection, list_id: int) -> int:
    return connection.execute(select(func.count()).where(list_members.c.list_id == list_id)).scalar_one()


def members_page(connection: Connection, list_id: int, workspace_id: int, *, containing: str = "", limit: int,
                 offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(how many members match, the page of them in number order): members whose number contains
    ``containing`` (digits only, checked by the caller), ``limit`` of them after the first ``offset``;
    each says whether the number has opted out of the workspace's messages (a broadcast skips it)."""
    where = [list_members.c.list_id == list_id]
    if containing:
        where.append(list_members.c.subscriber.contains(containing, autoescape=True))
    total = connection.execute(select(func.count()).select_from(list_members).where(*where)).scalar_one()
    opted_out = (select(opt_outs.c.subscriber)
                 .where(opt_outs.c.workspace_id == workspace_id, opt_outs.c.subscriber == list_members.c.subscriber)
                 .exists())
    query = (select(list_members.c.subscriber, list_members.c.fields, list_members.c.via,
                    list_members.c.joined_at_ms, opted_out.label("opted_out"))
             .where(*where).order_by(list_members.c.subscriber).limit(limit).offset(offset))
    rows = [{"number": r.subscriber, "fields": json.loads(r.fields), "via": r.via, "joined_at_ms": r.joined_at_ms,
             "opted_out": bool(r.opted_out)}
            for r in connection.execute(query)]
    return total, rows


def list_lists(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    query = (select(lists.c.id, lists.c.name, lists.c.created_at_ms, func.count(list_members.c.subscriber)
                    .label("members"))
             .select_from(lists.outerjoin(list_members, list_members.c.list_id == lists.c.id))
             .where(lists.c.workspace_id == workspace_id).group_by(lists.c.id).order_by(lists.c.id))
    return [dict(row) for row in connection.execute(query).mappings()]


def fields_of(connection: Connection, workspace_id: int, subscriber: str) -> dict[str, str]:
    """The subscriber's fields from every list of the workspace they are on (later joins win)."""
    query = (select(list_members.c.fields)
             .select_from(list_members.join(lists, lists.c.id == list_members.c.list_id))
             .where(lists.c.workspace_id == workspace_id, list_members.c.subscriber == subscriber)
             .order_by(list_members.c.joined_at_ms))
    merged: dict[str, str] = {}
    for (fields,) in connection.execute(query):
        merged.update(json.loads(fields))
    return merged


def members_after(connection: Connection, list_id: int, after: str, limit: int) -> list[tuple[str, str]]:
    """(subscriber, fields JSON) of the next ``limit`` members after ``after``, in subscriber order."""
    query = (select(list_members.c.subscriber, list_members.c.fields)
             .where(list_members.c.list_id == list_id, list_members.c.subscriber > after)
             .order_by(list_members.c.subscriber).limit(limit))
    return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def _now_ms() -> int:
    return int(time.time() * 1000)
