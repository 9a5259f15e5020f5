"""Subscriber lists: create, rename, delete, list; read, add and remove members, import a CSV.

Every change writes an audit entry (services/admin/audit.py) in its own transaction, with the actor.
A list of an archived workspace is kept as it was: changes are refused until the workspace is
restored. A list is not deleted while a broadcast still reads it (scheduled, sending or paused) or
an active campaign's action subscribes to it or unsubscribes from it; a finished broadcast keeps
its history (its messages and counts) when its list goes.

The list's name and a CSV's lines are still checked in store/lists.py; the workspace or list named
must exist (``Unknown`` otherwise) before they are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.domain.phone import normalize_written_number
from mecm.errors import InvalidParameter
from mecm.services.admin.audit import record
from mecm.services.admin.lookups import named, require_list, require_workspace, require_workspace_in_use
from mecm.store import broadcasts as store_broadcasts
from mecm.store import lists as store_lists

MAX_PAGE = 1000  # members in one page


def create_list(connection: Connection, workspace_id: int, name: str, *, actor: str) -> dict[str, Any]:
    require_workspace_in_use(connection, workspace_id, "creating a list")
    row = store_lists.create_list(connection, workspace_id, name)
    record(connection, actor, "list.create", _subject(row["id"]), workspace_id=workspace_id, after=row)
    return row


def list_lists(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    require_workspace(connection, workspace_id)
    return store_lists.list_lists(connection, workspace_id)


def rename_list(connection: Connection, list_id: int, name: str, *, actor: str) -> dict[str, Any]:
    listed = _changeable(connection, list_id, "renaming a list")
    row = store_lists.rename_list(connection, list_id, name)
    if row["name"] != listed.name:
        record(connection, actor, "list.rename", _subject(list_id), workspace_id=listed.workspace_id,
               before={"name": listed.name}, after={"name": row["name"]})
    return row


def delete_list(connection: Connection, list_id: int, *, actor: str) -> dict[str, Any]:
    """Delete the list and its members (refused while a broadcast or an active campaign uses it)."""
    listed = _changeable(connection, list_id, "deleting a list")
    busy = store_broadcasts.unfinished_of_list(connection, list_id)
    if busy:
        raise InvalidParameter("list", f"list {list_id} ({listed.name}) is used by broadcast {named(busy[0])}, "
                                       f"which is {busy[0]['state']}: cancel it (or let it finish) first")
    subscribing = store_lists.campaigns_using(connection, listed.workspace_id, list_id)
    if subscribing:
        raise InvalidParameter("list", f"list {list_id} ({listed.name}) is used by the actions of campaign "
                                       f"{named(subscribing[0])}")
    before = {"name": listed.name, "members": store_lists.count(connection, list_id)}
    store_lists.delete_list(connection, list_id)
    record(connection, actor, "list.delete", _subject(list_id), workspace_id=listed.workspace_id, before=before)
    return {"id": list_id, "name": listed.name, "deleted": True, "members": before["members"]}


def list_members(connection: Connection, list_id: int, *, number: str = "", page: int = 1,
                 per_page: int = 100) -> dict[str, Any]:
    """A page of the list's members in number order; ``number``: only those whose number contains
    these digits (as written: "+58 414" finds 58414...)."""
    listed = require_list(connection, list_id)
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.strip() and (not digits or any(not (ch.isdigit() or ch in " +-().") for ch in number)):
        raise InvalidParameter("number", "must be digits (part of a phone number)")
    if not 1 <= per_page <= MAX_PAGE:
        raise InvalidParameter("per-page", f"must be between 1 and {MAX_PAGE}")
    if not 1 <= page <= 10_000_000:
        raise InvalidParameter("page", "must be between 1 and 10000000")
    total, rows = store_lists.members_page(connection, list_id, listed.workspace_id, containing=digits,
                                           limit=per_page, offset=(page - 1) * per_page)
    return {"list_id": list_id, "workspace_id": listed.workspace_id, "name": listed.name, "total": total,
            "page": page, "per_page": per_page, "members": rows}


def add_member(connection: Connection, list_id: int, number: str, *, actor: str,
               fields: dict[str, str] | None = None) -> dict[str, Any]:
    listed = _changeable(connection, list_id, "changing a list's members")
    before = store_lists.member_fields(connection, list_id, normalize_written_number(number, "number"))
    row = store_lists.add_member(connection, list_id, number, fields=fields)
    record(connection, actor, "list.member.add", _subject(list_id), workspace_id=listed.workspace_id,
           before=None if before is None else {"number": row["number"], "fields": before},
           after={"number": row["number"], "fields": row["fields"]})
    return row


def remove_member(connection: Connection, list_id: int, number: str, *, actor: str) -> dict[str, Any]:
    """``removed``: whether it was a member (a number that was not changes nothing and is not audited)."""
    listed = _changeable(connection, list_id, "changing a list's members")
    before = store_lists.member_fields(connection, list_id, normalize_written_number(number, "number"))
    row = store_lists.remove_member(connection, list_id, number)
    if row["removed"]:
        record(connection, actor, "list.member.remove", _subject(list_id), workspace_id=listed.workspace_id,
               before={"number": row["number"], "fields": before})
    return row


def import_csv(connection: Connection, list_id: int, content: str, *, actor: str) -> dict[str, Any]:
    """Add members from a CSV's text: all or none (a bad line refuses it, naming the line). One audit
    entry with the counts: ``added`` new members, ``updated`` members whose fields were replaced."""
    listed = _changeable(connection, list_id, "changing a list's members")
    members_before = store_lists.count(connection, list_id)
    result = store_lists.import_csv(connection, list_id, content)
    added = result["members"] - members_before
    result = {**result, "added": added, "updated": result["imported"] - added}
    record(connection, actor, "list.import", _subject(list_id), workspace_id=listed.workspace_id,
           before={"members": members_before},
           after={"members": result["members"], "imported": result["imported"], "added": added,
                  "updated": result["updated"]})
    return result


def _changeable(connection: Connection, list_id: int, doing: str) -> Any:
    """The list's row; refused when it names nothing or its workspace is archived."""
    listed = require_list(connection, list_id)
    require_workspace_in_use(connection, listed.workspace_id, doing)
    return listed


def _subject(list_id: int) -> str:
    return f"list:{list_id}"
