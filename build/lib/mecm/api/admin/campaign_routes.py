"""``/admin/api`` routes of keyword campaigns: list, create, edit, pause, resume, archive.

The same use cases as ``mecm admin campaign ...`` (services/admin/campaigns.py) check and make each
change, with the asking principal as the actor of its audit entry; who may ask is decided before
(each route's rule below, merged into routes.py's). A change takes effect at the API's next MO: the
write reloads the catalog (api/admin/calls.py). A refusal names the body field (cap_window_s,
quiet_hours, actions) or the path's campaign_id.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mecm.api.admin import calls
from mecm.api.admin.body import Body, in_body_spelling, path_id, query_flag
from mecm.domain.roles import Action
from mecm.runtime import Runtime
from mecm.services.admin import campaigns
from mecm.services.key_use import wall_clock_ms

Handler = Callable[[Request, Runtime], Awaitable[Response]]
_PATH_ID = {"id": "campaign_id"}  # the use cases name the campaign as the CLI's --id


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A campaign as JSON: its actions as a list, not as stored text."""
    return {**row, "actions": json.loads(row["actions"]) if row.get("actions") else []}


def _campaign_id(request: Request) -> int:
    return path_id(request.path_params["campaign_id"], "campaign_id")


def _workspace_id(request: Request) -> int:
    return path_id(request.path_params["workspace_id"], "workspace_id")


async def _change(request: Request, runtime: Runtime, change: Callable[[Connection], dict[str, Any]],
                  status_code: int = 200) -> Response:
    row = await calls.write(runtime, in_body_spelling(change, _PATH_ID))
    return JSONResponse(_shown(row), status_code=status_code)


async def list_campaigns(request: Request, runtime: Runtime) -> Response:
    """Active and paused campaigns; ``?all=true``: archived ones too."""
    workspace_id = _workspace_id(request)
    everything = query_flag(request.query_params, "all")
    rows = await calls.read(runtime, lambda c: campaigns.list_campaigns(c, workspace_id, include_archived=everything))
    return JSONResponse({"campaigns": [_shown(row) for row in rows]})


async def create_campaign(request: Request, runtime: Runtime) -> Response:
    workspace_id = _workspace_id(request)
    body = Body(await request.body())
    new = campaigns.NewCampaign(
        codes=body.texts("codes") or [body.text("code", required=True, max_length=32) or ""],
        name=body.text("name", required=True, max_length=200) or "",
        keyword=body.text("keyword", default="", max_length=500) or "",
        reply=body.text("reply", default="") or "",
        match=body.text("match", default="regex", max_length=16) or "",
        priority=body.integer("priority", default=100, low=-1_000_000, high=1_000_000),
        case_sensitive=body.boolean("case_sensitive"),
        starts=body.text("starts", max_length=64), ends=body.text("ends", max_length=64),
        cap=body.integer("cap", default=5, low=-1, high=1_000_000),
        cap_window_s=body.integer("cap_window_s", default=3600, low=-1, high=366 * 86400),
        quiet_hours=body.text("quiet_hours", max_length=32),
        email_subject=body.text("email_subject"), email_body=body.text("email_body"),
        actions=body.texts("actions"),
    )
    actor = calls.actor_of(request)
    return await _change(request, runtime, lambda c: campaigns.add_campaign(
        c, workspace_id, new, vault=runtime.vault, allow=runtime.settings.outbound_networks, actions_param="actions",
        actor=actor), status_code=201)


async def edit_campaign(request: Request, runtime: Runtime) -> Response:
    """The settings the body gives change, checked as when the campaign was created; the others stay.
    "" clears starts, ends, quiet_hours, email_subject, email_body; ``actions`` replace the old ones."""
    campaign_id = _campaign_id(request)
    body = Body(await request.body())
    codes = body.texts("codes") if body.has("codes") else None
    if codes is None and body.has("code"):
        codes = [body.text("code", max_length=32) or ""]
    edit = campaigns.CampaignEdit(
        codes=codes,
        name=body.text("name", max_length=200),
        keyword=body.text("keyword", max_length=500),
        reply=body.text("reply"),
        match=body.text("match", max_length=16),
        priority=body.integer("priority", low=-1_000_000, high=1_000_000),
        case_sensitive=body.boolean("case_sensitive") if body.has("case_sensitive") else None,
        starts=body.text("starts", max_length=64), ends=body.text("ends", max_length=64),
        cap=body.integer("cap", low=-1, high=1_000_000),
        cap_window_s=body.integer("cap_window_s", low=-1, high=366 * 86400),
        quiet_hours=body.text("quiet_hours", max_length=32),
        email_subject=body.text("email_subject"), email_body=body.text("email_body"),
        actions=body.texts("actions") if body.has("actions") else None,
    )
    actor = calls.actor_of(request)
    return await _change(request, runtime, lambda c: campaigns.edit_campaign(
        c, campaign_id, edit, actor=actor, vault=runtime.vault, allow=runtime.settings.outbound_networks,
        actions_param="actions"))


async def pause_campaign(request: Request, runtime: Runtime) -> Response:
    """It answers no MO (stored as matching no campaign) until resumed; it keeps its keyword."""
    campaign_id, actor = _campaign_id(request), calls.actor_of(request)
    return await _change(request, runtime, lambda c: campaigns.pause_campaign(c, campaign_id, actor=actor))


async def resume_campaign(request: Request, runtime: Runtime) -> Response:
    campaign_id, actor = _campaign_id(request), calls.actor_of(request)
    return await _change(request, runtime, lambda c: campaigns.resume_campaign(c, campaign_id, actor=actor))


async def archive_campaign(request: Request, runtime: Runtime) -> Response:
    """For good: it stops answering, lists hide it, its keyword is free; its MOs keep naming it."""
    campaign_id, actor = _campaign_id(request), calls.actor_of(request)
    return await _change(request, runtime, lambda c: campaigns.archive_campaign(
        c, campaign_id, actor=actor, now_ms=wall_clock_ms()))


_EDIT = (Action.CAMPAIGNS, "campaign_id")
# (path, handler, methods, rule): the rule as routes.py reads it — the action, and the path parameter
# naming the workspace it concerns.
ROUTES: list[tuple[str, Handler, list[str], tuple[Action, str | None] | None]] = [
    ("/workspaces/{workspace_id}/campaigns", list_campaigns, ["GET"], (Action.READ, "workspace_id")),
    ("/workspaces/{workspace_id}/campaigns", create_campaign, ["POST"], (Action.CAMPAIGNS, "workspace_id")),
    ("/campaigns/{campaign_id}", edit_campaign, ["PATCH"], _EDIT),
    ("/campaigns/{campaign_id}/pause", pause_campaign, ["POST"], _EDIT),
    ("/campaigns/{campaign_id}/resume", resume_campaign, ["POST"], _EDIT),
    ("/campaigns/{campaign_id}/archive", archive_campaign, ["POST"], _EDIT),
]
