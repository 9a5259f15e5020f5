"""``/admin/api`` routes of subscriber lists, their members and broadcasts.

Each change is made by the use cases of services/admin/lists.py and broadcasts.py with the asking
principal as the actor, so it is in the audit log; who may ask is decided before (routes.py reads
each route's rule here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mecm.api.admin import calls
from mecm.api.admin.body import MAX_BODY, Body, path_id
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter
from mecm.runtime import Runtime
from mecm.services.admin import broadcasts, lists

Handler = Callable[[Request, Runtime], Awaitable[Response]]


def _id(request: Request, name: str) -> int:
    return path_id(request.path_params[name], name)


def _query_number(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise InvalidParameter(name, "must be a whole number")
    return int(raw)


# -- lists ---------------------------------------------------------------------------------------


async def list_lists(request: Request, runtime: Runtime) -> Response:
    workspace_id = _id(request, "workspace_id")
    return JSONResponse({"lists": await calls.read(runtime, lambda c: lists.list_lists(c, workspace_id))})


async def create_list(request: Request, runtime: Runtime) -> Response:
    workspace_id = _id(request, "workspace_id")
    name = Body(await request.body()).text("name", required=True, max_length=100) or ""
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: lists.create_list(c, workspace_id, name, actor=actor)),
                        status_code=201)


async def rename_list(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    name = Body(await request.body()).text("name", required=True, max_length=100) or ""
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: lists.rename_list(c, list_id, name, actor=actor)))


async def delete_list(request: Request, runtime: Runtime) -> Response:
    """Refused (400, naming it) while a broadcast is scheduled, sending or paused to the list, or an
    active campaign's action uses it."""
    list_id = _id(request, "list_id")
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: lists.delete_list(c, list_id, actor=actor)))


# -- members -------------------------------------------------------------------------------------


async def list_members(request: Request, runtime: Runtime) -> Response:
    """``?number=`` digits a member's number contains; ``page`` (from 1) and ``per_page``."""
    list_id = _id(request, "list_id")
    number = request.query_params.get("number", "")
    if len(number) > 32:
        raise InvalidParameter("number", "longer than 32 characters")
    page = _query_number(request, "page", 1)
    per_page = _query_number(request, "per_page", 100)

    def read(c):  # noqa: ANN001, ANN202
        try:
            return lists.list_members(c, list_id, number=number, page=page, per_page=per_page)
        except InvalidParameter as error:
            if error.name != "per-page":
                raise
            raise InvalidParameter("per_page", error.reason) from None

    return JSONResponse(await calls.read(runtime, read))


async def add_member(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    body = Body(await request.body())
    number = body.text("number", required=True, max_length=32) or ""
    fields = body.mapping("fields")
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: lists.add_member(
        c, list_id, number, fields=fields, actor=actor)), status_code=201)


async def remove_member(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    number = request.path_params["number"]
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: lists.remove_member(c, list_id, number, actor=actor)))


async def import_members(request: Request, runtime: Runtime) -> Response:
    """``{"csv": "number,name\\n..."}``: all or none, as ``mecm admin list import`` (a CSV larger than a
    body may be is imported with the CLI, or in parts)."""
    list_id = _id(request, "list_id")
    content = Body(await request.body()).text("csv", required=True, max_length=MAX_BODY) or ""
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: lists.import_csv(c, list_id, content, actor=actor)))


# -- broadcasts ----------------------------------------------------------------------------------


async def list_broadcasts(request: Request, runtime: Runtime) -> Response:
    workspace_id = _id(request, "workspace_id")
    return JSONResponse({"broadcasts": await calls.read(runtime, lambda c: broadcasts.list_broadcasts(
        c, workspace_id))})


async def create_broadcast(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    body = Body(await request.body())
    code = body.text("code", required=True, max_length=32) or ""
    text = body.text("text", required=True) or ""
    name = body.text("name", default="", max_length=200) or ""
    at = body.text("at", max_length=64)
    carrier = body.text("carrier", max_length=100)
    quiet_hours = body.text("quiet_hours", max_length=32)
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: broadcasts.create_broadcast(
        c, list_id, code, text, actor=actor, name=name, at=at, carrier=carrier, quiet_hours=quiet_hours)),
        status_code=201)


async def broadcast_status(request: Request, runtime: Runtime) -> Response:
    broadcast_id = _id(request, "broadcast_id")
    return JSONResponse(await calls.read(runtime, lambda c: broadcasts.broadcast_status(c, broadcast_id)))


async def pause_broadcast(request: Request, runtime: Runtime) -> Response:
    """Refused (400) when it is done, cancelled or already paused."""
    broadcast_id = _id(request, "broadcast_id")
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: broadcasts.pause_broadcast(
        c, broadcast_id, actor=actor)))


async def resume_broadcast(request: Request, runtime: Runtime) -> Response:
    """Refused (400) unless it is paused, or while its workspace is archived."""
    broadcast_id = _id(request, "broadcast_id")
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: broadcasts.resume_broadcast(
        c, broadcast_id, actor=actor)))


async def cancel_broadcast(request: Request, runtime: Runtime) -> Response:
    broadcast_id = _id(request, "broadcast_id")
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: broadcasts.cancel_broadcast(
        c, broadcast_id, actor=actor)))


_READ = (Action.READ, "workspace_id")
# (path, handler, methods, rule): the rule as routes.py reads it — the action, and the path parameter
# naming the workspace it concerns.
ROUTES: list[tuple[str, Handler, list[str], tuple[Action, str | None] | None]] = [
    ("/workspaces/{workspace_id}/lists", list_lists, ["GET"], _READ),
    ("/workspaces/{workspace_id}/lists", create_list, ["POST"], (Action.LISTS, "workspace_id")),
    ("/lists/{list_id}", rename_list, ["PATCH"], (Action.LISTS, "list_id")),
    ("/lists/{list_id}", delete_list, ["DELETE"], (Action.LISTS, "list_id")),
    ("/lists/{list_id}/members", list_members, ["GET"], (Action.READ, "list_id")),
    ("/lists/{list_id}/members", add_member, ["POST"], (Action.LISTS, "list_id")),
    ("/lists/{list_id}/members/{number}", remove_member, ["DELETE"], (Action.LISTS, "list_id")),
    ("/lists/{list_id}/import", import_members, ["POST"], (Action.LISTS, "list_id")),
    ("/workspaces/{workspace_id}/broadcasts", list_broadcasts, ["GET"], _READ),
    ("/lists/{list_id}/broadcasts", create_broadcast, ["POST"], (Action.BROADCASTS, "list_id")),
    ("/broadcasts/{broadcast_id}", broadcast_status, ["GET"], (Action.READ, "broadcast_id")),
    ("/broadcasts/{broadcast_id}/pause", pause_broadcast, ["POST"], (Action.BROADCASTS, "broadcast_id")),
    ("/broadcasts/{broadcast_id}/resume", resume_broadcast, ["POST"], (Action.BROADCASTS, "broadcast_id")),
    ("/broadcasts/{broadcast_id}/cancel", cancel_broadcast, ["POST"], (Action.BROADCASTS, "broadcast_id")),
]
