"""Keyword campaigns: add one, edit it, pause and resume it, archive it, list them.

Every setting is checked the same way whether a campaign is added or edited (``_checked``): refused,
naming the option, when any is wrong or when the campaign would collide with another on one of its
codes. A campaign is active (it answers MOs), paused (it answers none, and keeps its keyword: no
other campaign may take it) or archived (for good: it answers none, lists hide it unless asked, its
keyword is free again; the MOs it matched keep its id and name). Each change is written to the audit
log (services/admin/audit.py) in its own transaction, with the campaign before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from mecm.domain import keywords
from mecm.domain.actions import dump as dump_actions, load as load_actions, parse_action, spec_of
from mecm.domain.addresses import Network
from mecm.domain.quiet import parse_quiet_hours
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin.audit import record
from mecm.services.admin.lookups import named, require_workspace
from mecm.services.admin.workspaces import parse_when, webhook_secret
from mecm.store import admin as store_admin
from mecm.store import lists as store_lists
from mecm.store.crypto import Vault

ACTIVE, PAUSED, ARCHIVED = "active", "paused", "archived"


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
    # ISO 8601; without an offset, in the workspace's time zone. An int: epoch ms as stored (what an
    # edit keeps, so that it is not read back through text).
    starts: str | int | None = None
    ends: str | int | None = None
    cap: int = 5
    cap_window_s: int = 3600
    quiet_hours: str | None = None
    actions: Sequence[str] = ()  # TYPE:ARGUMENT each (domain/actions.py)
    email_subject: str | None = None
    email_body: str | None = None


@dataclass(frozen=True)
class CampaignEdit:
    """What an edit changes: a field left None keeps the campaign's. Given as "", ``starts``, ``ends``,
    ``quiet_hours``, ``email_subject`` and ``email_body`` become none; ``actions`` given replace them
    all (an empty list: none)."""

    codes: Sequence[str] | None = None
    name: str | None = None
    keyword: str | None = None
    reply: str | None = None
    priority: int | None = None
    match: str | None = None
    case_sensitive: bool | None = None
    starts: str | None = None
    ends: str | None = None
    cap: int | None = None
    cap_window_s: int | None = None
    quiet_hours: str | None = None
    actions: Sequence[str] | None = None
    email_subject: str | None = None
    email_body: str | None = None

    def given(self) -> dict[str, Any]:
        clearable = {"starts", "ends", "quiet_hours", "email_subject", "email_body"}
        return {name: (None if name in clearable and value == "" else value)
                for name, value in asdict(self).items() if value is not None}


def add_campaign(connection: Connection, workspace_id: int, new: NewCampaign, *, vault: Vault | None = None,
                 allow: Iterable[Network] = (), actions_param: str = "action",
                 actor: str | None = None) -> dict[str, Any]:
    """Add an active campaign, refused (naming the option) when any setting is wrong, or when an MO
    could trigger both it and a campaign not archived of the same priority on one of its codes (the
    other campaign is named; a different priority sets the order). ``allow``: the networks the setting
    outbound_allow opens to webhook actions; ``actions_param``: what the caller calls the actions;
    ``actor``: who asks, for the audit entry."""
    require_workspace(connection, workspace_id)
    row, listening = _checked(connection, workspace_id, new, vault=vault, allow=allow, actions_param=actions_param)
    row.update({"workspace_id": workspace_id, "is_active": True, "created_at_ms": store_admin.now_ms()})
    campaign_id = store_admin.insert_campaign(connection, row, listening)
    added = {**_campaign(connection, campaign_id), "codes": listening}  # in the order given
    if actor is not None:
        record(connection, actor, "campaign.create", f"campaign:{campaign_id}", workspace_id=workspace_id,
               after=_audited(added))
    return added


def edit_campaign(connection: Connection, campaign_id: int, edit: CampaignEdit, *, actor: str,
                  vault: Vault | None = None, allow: Iterable[Network] = (),
                  actions_param: str = "action") -> dict[str, Any]:
    """Change the settings ``edit`` gives, checked as when adding one (the campaign itself is not a
    collision); the others stay. Refused for an archived campaign. The campaign as it is now."""
    before = _campaign(connection, campaign_id)
    _refuse_archived(before, "edited")
    given = edit.given()
    if not given:
        raise InvalidParameter("campaign", "nothing to change: give at least one setting")
    merged = replace(_as_new(before), **given)
    row, listening = _checked(connection, before["workspace_id"], merged, vault=vault, allow=allow,
                              actions_param=actions_param, other_than=campaign_id)
    new_codes = listening if sorted(listening) != before["codes"] else None
    if new_codes is None:
        row["code"] = before["code"]  # the same codes, given in another order, are no change
    changed = {name: value for name, value in row.items() if before[name] != value}
    if not changed and new_codes is None:
        return before  # nothing differs: nothing written, nothing audited
    store_admin.update_campaign(connection, campaign_id, changed, new_codes)
    return _recorded(connection, actor, "campaign.edit", before)


def check_campaign(connection: Connection, workspace_id: int, new: NewCampaign, *, other_than: int | None = None,
                   allow: Iterable[Network] = ()) -> None:
    """Refused (InvalidParameter naming the option) exactly when ``add_campaign``, or an edit of
    ``other_than`` to these settings, would be: a wrong setting or a collision. Writes nothing, so
    the console can show a collision before anything is saved."""
    require_workspace(connection, workspace_id)
    _checked(connection, workspace_id, new, vault=None, allow=allow, actions_param="actions", other_than=other_than)


def pause_campaign(connection: Connection, campaign_id: int, *, actor: str) -> dict[str, Any]:
    """It answers no MO until resumed (an MO it would have matched is stored as matching none);
    it keeps its keyword. Pausing a paused campaign changes nothing."""
    before = _campaign(connection, campaign_id)
    _refuse_archived(before, "paused")
    if before["state"] == PAUSED:
        return before
    store_admin.update_campaign(connection, campaign_id, {"is_active": False})
    return _recorded(connection, actor, "campaign.pause", before)


def resume_campaign(connection: Connection, campaign_id: int, *, actor: str) -> dict[str, Any]:
    """It answers MOs again. Resuming an active campaign changes nothing."""
    before = _campaign(connection, campaign_id)
    _refuse_archived(before, "resumed")
    if before["state"] == ACTIVE:
        return before
    for code in before["codes"]:  # a paused campaign held its keyword: this holds unless the data was made by hand
        _refuse_collision(connection, {**before, "code": code}, other_than=campaign_id)
    store_admin.update_campaign(connection, campaign_id, {"is_active": True})
    return _recorded(connection, actor, "campaign.resume", before)


def archive_campaign(connection: Connection, campaign_id: int, *, actor: str, now_ms: int) -> dict[str, Any]:
    """For good: it answers no MO, lists hide it unless asked for, it can be neither edited nor
    resumed, and its keyword is free for a new campaign. The MOs it matched, and the messages it
    sent, keep naming it. Archiving an archived campaign changes nothing."""
    before = _campaign(connection, campaign_id)
    if before["state"] == ARCHIVED:
        return before
    store_admin.update_campaign(connection, campaign_id, {"is_active": False, "archived_at_ms": now_ms})
    return _recorded(connection, actor, "campaign.archive", before)


def list_campaigns(connection: Connection, workspace_id: int | None = None, *,
                   include_archived: bool = False) -> list[dict[str, Any]]:
    """The campaigns (of one workspace), active and paused; with ``include_archived``, archived too."""
    if workspace_id is not None:
        require_workspace(connection, workspace_id)
    return [_with_state(row) for row in
            store_admin.list_campaigns(connection, workspace_id, include_archived=include_archived)]


def require_campaign(connection: Connection, campaign_id: int, param: str = "id") -> dict[str, Any]:
    """The campaign (its codes, its state), or Unknown."""
    return _campaign(connection, campaign_id, param)


# -- the checks adding and editing share ----------------------------------------------------------


def _checked(connection: Connection, workspace_id: int, new: NewCampaign, *, vault: Vault | None,
             allow: Iterable[Network], actions_param: str,
             other_than: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """The campaign's columns and its codes, every setting checked, or InvalidParameter naming the
    first wrong one. ``other_than``: the campaign being edited (not a collision with itself)."""
    actions = [parse_action(spec, email_subject=new.email_subject, email_body=new.email_body,
                            param=actions_param, allow=allow) for spec in new.actions]
    starts_at_ms = _when(connection, workspace_id, new.starts, "starts")
    ends_at_ms = _when(connection, workspace_id, new.ends, "ends")
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
        "code": listening[0],
        "name": new.name,
        "keyword": keyword,
        "reply": reply,
        "priority": new.priority,
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
        _refuse_collision(connection, {**row, "workspace_id": workspace_id, "code": one}, other_than=other_than)
    for action in actions:
        if action["type"] in ("subscribe", "unsubscribe"):
            action["list_id"] = _list_named(connection, workspace_id, action["list"], actions_param)
    row["actions"] = dump_actions(actions)
    if vault is not None and any(action["type"] == "webhook" for action in actions):
        webhook_secret(connection, vault, workspace_id)  # its webhooks are signed from the first
    return row, listening


def _when(connection: Connection, workspace_id: int, given: str | int | None, name: str) -> int | None:
    return given if given is None or isinstance(given, int) else parse_when(connection, workspace_id, given, name)


def _campaign_codes(given: Sequence[str]) -> list[str]:
    """The codes given, each once, in order; at least one ("" alone: every code, for a fallback)."""
    listening = list(dict.fromkeys(one.strip().lstrip("+") for one in given))
    if not listening:
        raise InvalidParameter("code", "at least one code")
    if "" in listening and len(listening) > 1:
        raise InvalidParameter("code", "'' (every code) cannot be combined with other codes")
    return listening


def _list_named(connection: Connection, workspace_id: int, name: str, param: str) -> int:
    found = store_lists.find_list(connection, workspace_id, name)
    if found is None:
        raise InvalidParameter(param, f"workspace {workspace_id} has no list named {name!r}")
    return found


def _refuse_collision(connection: Connection, row: dict[str, Any], *, other_than: int | None) -> None:
    """Refused when one MO could trigger both this campaign and another not archived (active or
    paused: a paused campaign keeps its keyword) on ``row["code"]``, at the same priority."""
    new = store_admin.rule_of(SimpleNamespace(**{"id": 0, **row}))
    for other in store_admin.live_campaigns_on(connection, row["workspace_id"], row["code"], other_than=other_than):
        state = ACTIVE if other.is_active else PAUSED
        if other.match_mode == "fallback" and row["match_mode"] == "fallback":
            where = f"code {row['code']}" if row["code"] else "every code"
            raise InvalidParameter("match", f"{state} campaign {other.name!r} is already the fallback on {where}")
        if other.priority == row["priority"] and keywords.overlaps(new, store_admin.rule_of(other)):
            raise InvalidParameter(
                "keyword", f"collides with {state} campaign {other.name!r} (same code, same priority "
                f"{other.priority}); give one of them another --priority to set which answers first")


# -- one campaign as the use cases return it -------------------------------------------------------


def _campaign(connection: Connection, campaign_id: int, param: str = "id") -> dict[str, Any]:
    row = store_admin.campaign_row(connection, campaign_id)
    if row is None:
        raise Unknown(param, "campaign", campaign_id)
    return _with_state(row)


def _with_state(row: dict[str, Any]) -> dict[str, Any]:
    state = ARCHIVED if row["archived_at_ms"] is not None else ACTIVE if row["is_active"] else PAUSED
    return {**row, "state": state}


def _refuse_archived(campaign: dict[str, Any], verb: str) -> None:
    if campaign["state"] == ARCHIVED:
        raise InvalidParameter("id", f"campaign {named(campaign)} is archived: it cannot be {verb}")


def _recorded(connection: Connection, actor: str, action: str, before: dict[str, Any]) -> dict[str, Any]:
    """The campaign after the change, with the audit entry of the change written."""
    after = _campaign(connection, before["id"])
    record(connection, actor, action, f"campaign:{before['id']}", workspace_id=before["workspace_id"],
           before=_audited(before), after=_audited(after))
    return after


def _audited(campaign: dict[str, Any]) -> dict[str, Any]:
    """The campaign as the audit log holds it: its actions as a list, not as stored text."""
    return {**campaign, "actions": list(load_actions(campaign["actions"]))}


def _as_new(campaign: dict[str, Any]) -> NewCampaign:
    """A stored campaign as its settings are given, so that an edit is checked as an addition."""
    actions = load_actions(campaign["actions"])
    email = next((action for action in actions if action["type"] == "email"), None)
    return NewCampaign(
        codes=campaign["codes"], name=campaign["name"], keyword=campaign["keyword"], reply=campaign["reply"],
        priority=campaign["priority"], match=campaign["match_mode"], case_sensitive=bool(campaign["case_sensitive"]),
        starts=campaign["starts_at_ms"], ends=campaign["ends_at_ms"], cap=campaign["cap_count"],
        cap_window_s=campaign["cap_window_s"], quiet_hours=campaign["quiet_hours"],
        actions=[spec_of(action) for action in actions],
        email_subject=email["subject"] if email else None, email_body=email["body"] if email else None)
