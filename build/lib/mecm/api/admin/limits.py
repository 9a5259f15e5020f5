"""``/admin/api/workspaces/{id}/limits`` and ``.../pin-guard``: the rate limits and the SMS-pumping
defence, as ``mecm admin limit`` and ``mecm admin pin-guard`` set them (the same use cases,
services/admin/limits.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mecm.api.admin import calls
from mecm.api.admin.body import Body, checked_text, path_id
from mecm.domain.ratelimit import parse_limit
from mecm.errors import InvalidParameter
from mecm.services.admin import limits

if TYPE_CHECKING:
    from mecm.runtime import Runtime


def _workspace(request: Request) -> int:
    return path_id(request.path_params["workspace_id"], "workspace_id")


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return None if value is None else checked_text(value, name)


async def list_limits(request: Request, runtime: Runtime) -> Response:
    """The limits the workspace and its keys have, and the settings' defaults it has by default."""
    workspace_id = _workspace(request)
    rows = await calls.read(runtime, lambda c: limits.list_limits(c, workspace_id, runtime.settings))
    return JSONResponse({"limits": rows})


async def set_limit(request: Request, runtime: Runtime) -> Response:
    workspace_id = _workspace(request)
    body = Body(await request.body())
    limit_class = body.text("class", required=True, max_length=16) or ""
    key = body.text("key", max_length=64)
    rate, burst = body.number("rate_per_s", required=True), body.integer("burst", required=True)
    try:
        parse_limit(rate, burst)  # checked here too, to name the body's field
    except InvalidParameter as error:
        raise InvalidParameter("rate_per_s" if error.name == "rate" else error.name, error.reason) from None
    actor = calls.actor_of(request)
    row = await calls.write(runtime, lambda c: limits.set_limit(c, workspace_id, key, limit_class, rate, burst,
                                                                  actor=actor))
    return JSONResponse(row)


async def clear_limits(request: Request, runtime: Runtime) -> Response:
    """Query ``key`` (only that key's limits) and ``class`` (only that class) narrow what is removed."""
    workspace_id = _workspace(request)
    key, limit_class = _query(request, "key"), _query(request, "class")
    actor = calls.actor_of(request)
    row = await calls.write(runtime, lambda c: limits.clear_limit(c, workspace_id, key, limit_class, actor=actor))
    return JSONResponse(row)


async def show_pin_guard(request: Request, runtime: Runtime) -> Response:
    workspace_id = _workspace(request)
    return JSONResponse(await calls.read(runtime, lambda c: limits.pin_guard(c, workspace_id, runtime.settings)))


async def set_pin_guard(request: Request, runtime: Runtime) -> Response:
    """The parts the body names change; the others stay."""
    workspace_id = _workspace(request)
    body = Body(await request.body())
    per_number = body.integer("per_number", low=0, high=1_000_000)
    per_block = body.integer("per_block", low=0, high=1_000_000)
    countries = body.text("countries", max_length=2000)
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: limits.set_pin_guard(
        c, workspace_id, runtime.settings, actor=actor, per_number=per_number, per_block=per_block,
        countries=countries)))


async def clear_pin_guard(request: Request, runtime: Runtime) -> Response:
    workspace_id = _workspace(request)
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: limits.clear_pin_guard(
        c, workspace_id, runtime.settings, actor=actor)))
