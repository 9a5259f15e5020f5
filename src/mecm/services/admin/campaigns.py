"""Keyword campaigns: add one (refused, naming the option, when any setting is wrong or when it
would collide with an active campaign), list them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from mecm.domain import keywords
from mecm.domain.actions import dump as dump_actions, parse_action
from mecm.domain.addresses import Network
from mecm.domain.quiet import parse_quiet_hours
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter
from mecm.services.admin.lookups import require_workspace
from mecm.services.admin.workspaces import parse_when, webhook_secret
from mecm.store import admin as store_admin
from mecm.store import lists as store_lists
from mecm.store.crypto import Vault


@dataclass(frozen=True)
class NewCampaign:
    """A campaign as the CLI's options or the API's body give it: times and actions still as text."""

    codes: Sequence[str]  # each once; "" alone: every code of the workspace (a fallback only)
    name: str
    keyword: str = ""
    reply: str = ""
    priority: int = 100
    match: str = "regex"
    case_sensitive: bool = False
    starts: str | None = None  # ISO 8601; without an offset, in the workspace's time zone
    ends: str | None = None
    cap: int = 5
    cap_window_s: int = 3600
    quiet_hours: str | None = None
    actions: Sequence[str] = ()  # TYPE:ARGUMENT each (domain/actions.py)
    email_subject: str | None = None
    email_body: str | None = None


def add_campaign(connection: Connection, workspace_id: int, new: NewCampaign, *, vault: Vault | None = None,
                 allow: Iterable[Network] = (), actions_param: str = "action") -> dict[str, Any]:
    """Add an active campaign, refused (naming the option) when any setting is wrong, or when an MO
    could trigger both it and an active campaign of the same priority on one of its codes (the other
    campaign is named; a different priority sets the order). ``allow``: the networks the setting
    outbound_allow opens to webhook actions; ``actions_param``: what the caller calls the actions."""
    require_workspace(connection, workspace_id)
    actions = [parse_action(spec, email_subject=new.email_subject, email_body=new.email_body,
                            param=actions_param, allow=allow) for spec in new.actions]
    starts_at_ms = parse_when(connection, workspace_id, new.starts, "starts")
    ends_at_ms = parse_when(connection, workspace_id, new.ends, "ends")
    listening = _campaign_codes(new.codes)
    mode, keyword, reply = new.match, new.keyword, new.reply
    if mode not in keywords.MATCH_MODES:
        raise InvalidParameter("match", f"must be one of {', '.join(keywords.MATCH_MODES)}")
    if mode == "fallback" and keyword.strip():
        raise InvalidParameter("keyword", "a fallback campaign has no keyword")
    if mode != "fallback" and not keyword.strip():
        raise InvalidParameter("keyword", "empty")
    for one in listening:
        if one or mode != "fallback":  # "" (every code) is for a fallback only
            store_admin.require_code_of(connection, workspace_id, one)
    if not new.name.strip():
        raise InvalidParameter("name", "empty")
    if mode == "regex":
        keywords.compile_keyword(keyword, "keyword")
    if reply.strip():
        check_text(reply, "reply")
    elif reply or not actions:
        raise InvalidParameter("reply", "empty: a campaign needs a reply or an action")
    if starts_at_ms is not None and ends_at_ms is not None and ends_at_ms <= starts_at_ms:
        raise InvalidParameter("ends", "not after the start")
    if new.cap < 0:
        raise InvalidParameter("cap", "must be 0 (no cap) or more")
    if new.cap_window_s <= 0:
        raise InvalidParameter("cap-window-s", "must be more than 0")
    quiet_hours = parse_quiet_hours(new.quiet_hours) if new.quiet_hours is not None else None
    row = {
        "workspace_id": workspace_id,
        "code": listening[0],
        "name": new.name,
        "keyword": keyword,
        "reply": reply,
        "priority": new.priority,
        "is_active": True,
        "created_at_ms": store_admin.now_ms(),
        "match_mode": mode,
        "case_sensitive": new.case_sensitive,
        "starts_at_ms": starts_at_ms,
        "ends_at_ms": ends_at_ms,
        "cap_count": new.cap,
        "cap_window_s": new.cap_window_s,
        "quiet_hours": quiet_hours,
        "actions": dump_actions(actions),
    }
    for one in listening:
        _refuse_collision(connection, {**row, "code": one})
    for action in actions:
        if action["type"] in ("subscribe", "unsubscribe"):
            action["list_id"] = _list_named(connection, workspace_id, action["list"])
    row["actions"] = dump_actions(actions)
    if vault is not None and any(action["type"] == "webhook" for action in actions):
        webhook_secret(connection, vault, workspace_id)  # its webhooks are signed from the first
    campaign_id = store_admin.insert_campaign(connection, row, listening)
    return {"id": campaign_id, **row, "codes": listening}


def list_campaigns(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return store_admin.list_campaigns(connection, workspace_id)


def _campaign_codes(given: Sequence[str]) -> list[str]:
    """The codes given, each once, in order; at least one ("" alone: every code, for a fallback)."""
    listening = list(dict.fromkeys(one.strip().lstrip("+") for one in given))
    if not listening:
        raise InvalidParameter("code", "at least one code")
    if "" in listening and len(listening) > 1:
        raise InvalidParameter("code", "'' (every code) cannot be combined with other codes")
    return listening


def _list_named(connection: Connection, workspace_id: int, name: str) -> int:
    found = store_lists.find_list(connection, workspace_id, name)
    if found is None:
        raise InvalidParameter("action", f"workspace {workspace_id} has no list named {name!r}")
    return found


def _refuse_collision(connection: Connection, row: dict[str, Any]) -> None:
    new = store_admin.rule_of(SimpleNamespace(id=0, **row))
    for other in store_admin.active_campaigns_on(connection, row["workspace_id"], row["code"]):
        if other.match_mode == "fallback" and row["match_mode"] == "fallback":
            where = f"code {row['code']}" if row["code"] else "every code"
            raise InvalidParameter("match", f"campaign {other.name!r} is already the fallback on {where}")
        if other.priority == row["priority"] and keywords.overlaps(new, store_admin.rule_of(other)):
            raise InvalidParameter(
                "keyword", f"collides with active campaign {other.name!r} (same code, same priority "
                f"{other.priority}); give one of them another --priority to set which answers first")
