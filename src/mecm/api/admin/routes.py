"""``/admin/api``: workspaces, key pairs, campaigns, lists and broadcasts as JSON, for the CLI and a console.

Every route but the OpenAPI document wants ``Authorization: Bearer <admin token>`` (the setting
``admin_token``, or the token ``mecm admin token`` prints). Answers are JSON: 200 or 201 with the
object, 400 ``{"error", "parameter"}`` for bad input (nothing written), 401 without the token, 404
for an id that does not exist. The same store functions as the CLI do the work, so both refuse the
same input with the same words; a change takes effect at once (the catalog is reloaded).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mecm.api.admin import credit_routes
from mecm.api.admin import limits
from mecm.api.admin.body import Body, path_id
from mecm.api.admin.openapi import document
from mecm.domain.actions import parse_action
from mecm.errors import ApiError, InvalidParameter
from mecm.runtime import Runtime
from mecm.services.key_use import wall_clock_ms
from mecm.store import admin as store_admin
from mecm.store import broadcasts as store_broadcasts
from mecm.store import keys as store_keys
from mecm.store import lists as store_lists
from mecm.store.tables import broadcasts, lists, workspaces

log = logging.getLogger(__name__)
PREFIX = "/admin/api"
Handler = Callable[[Request, Runtime], Awaitable[Response]]


class NotFound(ApiError):
    """An id in the path that does not exist: 404."""


def admin_api_routes(runtime: Runtime, token: str) -> list[Route]:
    def guarded(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse({"error": "admin token missing or wrong"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
            try:
                return await handler(request, runtime)
            except InvalidParameter as error:
                return JSONResponse({"error": error.description, "parameter": error.name}, status_code=400)
            except (NotFound, credit_routes.WorkspaceNotFound) as error:
                return JSONResponse({"error": str(error)}, status_code=404)

        return endpoint

    async def openapi(_request: Request) -> Response:
        return JSONResponse(document())

    table: list[tuple[str, Handler, list[str]]] = [
        ("/workspaces", list_workspaces, ["GET"]),
        ("/workspaces", create_workspace, ["POST"]),
        ("/workspaces/{workspace_id}", update_workspace, ["PATCH"]),
        ("/workspaces/{workspace_id}/keys", list_keys, ["GET"]),
        ("/keys/{public_key}", set_key_expiry, ["PATCH"]),
        ("/keys/{public_key}/rotate", rotate_key, ["POST"]),
        ("/workspaces/{workspace_id}/campaigns", list_campaigns, ["GET"]),
        ("/workspaces/{workspace_id}/campaigns", create_campaign, ["POST"]),
        ("/workspaces/{workspace_id}/lists", list_lists, ["GET"]),
        ("/workspaces/{workspace_id}/lists", create_list, ["POST"]),
        ("/workspaces/{workspace_id}/broadcasts", list_broadcasts, ["GET"]),
        ("/workspaces/{workspace_id}/limits", limits.list_limits, ["GET"]),
        ("/workspaces/{workspace_id}/limits", limits.set_limit, ["PUT"]),
        ("/workspaces/{workspace_id}/limits", limits.clear_limits, ["DELETE"]),
        ("/workspaces/{workspace_id}/pin-guard", limits.show_pin_guard, ["GET"]),
        ("/workspaces/{workspace_id}/pin-guard", limits.set_pin_guard, ["PATCH"]),
        ("/workspaces/{workspace_id}/pin-guard", limits.clear_pin_guard, ["DELETE"]),
        ("/lists/{list_id}/members", add_member, ["POST"]),
        ("/lists/{list_id}/members/{number}", remove_member, ["DELETE"]),
        ("/lists/{list_id}/broadcasts", create_broadcast, ["POST"]),
        ("/broadcasts/{broadcast_id}", broadcast_status, ["GET"]),
        ("/broadcasts/{broadcast_id}/cancel", cancel_broadcast, ["POST"]),
        *credit_routes.ROUTES,
    ]
    routes = [Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"])]
    routes += [Route(PREFIX + path, guarded(handler), methods=methods) for path, handler, methods in table]
    return routes


# -- helpers -------------------------------------------------------------------------------------


async def _read(runtime: Runtime, fn: Callable[[Connection], Any]) -> Any:
    assert runtime.writer is not None
    return await runtime.writer.read(fn)


async def _write(runtime: Runtime, fn: Callable[[Connection], Any]) -> Any:
    """One transaction through the group-commit writer (it takes its turn with the other process);
    a refusal raised inside rolls it back, so nothing is half-written. The catalog follows at once."""
    assert runtime.writer is not None
    result = await runtime.writer.write(fn)
    try:
        await runtime.reload_catalog()
    except Exception:  # noqa: BLE001 - the write is committed: answer it; the periodic refresh follows
        log.exception("catalog reload after an admin write failed")
    return result


def _exists(connection: Connection, table: Any, row_id: int, what: str) -> Any:
    row = connection.execute(select(table).where(table.c.id == row_id)).first()
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row


def _id(request: Request, name: str) -> int:
    return path_id(request.path_params[name], name)


def _campaign_json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "actions": json.loads(row["actions"]) if row.get("actions") else []}


# -- workspaces ----------------------------------------------------------------------------------


async def list_workspaces(_request: Request, runtime: Runtime) -> Response:
    return JSONResponse({"workspaces": await _read(runtime, store_admin.list_workspaces)})


async def create_workspace(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    name = body.text("name", required=True, max_length=200)
    timezone = body.text("timezone", default="America/Caracas", max_length=64)
    row = await _write(runtime, lambda c: store_admin.create_workspace(c, name, timezone))
    return JSONResponse(row, status_code=201)


async def update_workspace(request: Request, runtime: Runtime) -> Response:
    """The workspace's settings that the body names (today ``pin_in_response``)."""
    workspace_id = _id(request, "workspace_id")
    body = Body(await request.body())
    shown = body.boolean("pin_in_response", required=True)

    def write(connection: Connection) -> dict[str, Any]:
        _exists(connection, workspaces, workspace_id, "workspace")
        return store_admin.set_pin_in_response(connection, workspace_id, shown)

    return JSONResponse(await _write(runtime, write))


# -- key pairs -----------------------------------------------------------------------------------


def _in_body_spelling(change: Callable[[Connection], Any]) -> Callable[[Connection], Any]:
    """store/keys.py names options as the CLI spells them (expires-in); here they are body fields."""
    def run(connection: Connection) -> Any:
        try:
            return change(connection)
        except InvalidParameter as error:
            raise InvalidParameter(error.name.replace("-", "_"), error.reason) from None

    return run


def _public_key(request: Request, connection: Connection) -> str:
    """The key pair named in the path (404 when there is none, revoked ones included)."""
    public_key = request.path_params["public_key"]
    # Public keys are short printable ASCII; anything else (a NUL, which PostgreSQL refuses) is no key.
    if not (len(public_key) <= 64 and public_key.isascii() and public_key.isprintable()) or \
            not store_keys.key_exists(connection, public_key):
        raise NotFound(f"no key {public_key}")
    return public_key


async def list_keys(request: Request, runtime: Runtime) -> Response:
    """The workspace's key pairs: state, dates and last use (written every key_last_used_flush_s)."""
    return await _workspace_listing(request, runtime, "keys",
                                    lambda c, ws: store_keys.list_keys(c, wall_clock_ms(), ws))


async def set_key_expiry(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    expires, expires_in = body.text("expires", max_length=64), body.text("expires_in", max_length=16)
    never = body.boolean("never")
    return JSONResponse(await _write(runtime, _in_body_spelling(lambda c: store_keys.set_expiry(
        c, _public_key(request, c), wall_clock_ms(), expires=expires, expires_in=expires_in, never=never))))


async def rotate_key(request: Request, runtime: Runtime) -> Response:
    """A new key pair (its private key in this answer only); the old one stops after ``overlap``."""
    body = Body(await request.body())
    overlap = body.text("overlap", default="24h", max_length=16) or ""
    expires, expires_in = body.text("expires", max_length=64), body.text("expires_in", max_length=16)
    return JSONResponse(await _write(runtime, _in_body_spelling(lambda c: store_keys.rotate_key(
        c, runtime.vault, _public_key(request, c), wall_clock_ms(), overlap=overlap, expires=expires,
        expires_in=expires_in))), status_code=201)


# -- campaigns -----------------------------------------------------------------------------------


async def _workspace_listing(request: Request, runtime: Runtime, key: str,
                             rows: Callable[[Connection, int], list[dict[str, Any]]]) -> Response:
    """``{key: rows}`` of the workspace in the path (404 when there is none)."""
    workspace_id = _id(request, "workspace_id")

    def read(connection: Connection) -> list[dict[str, Any]]:
        _exists(connection, workspaces, workspace_id, "workspace")
        return rows(connection, workspace_id)

    return JSONResponse({key: await _read(runtime, read)})


async def list_campaigns(request: Request, runtime: Runtime) -> Response:
    return await _workspace_listing(request, runtime, "campaigns", lambda c, ws: [
        _campaign_json(row) for row in store_admin.list_campaigns(c, ws)])


async def create_campaign(request: Request, runtime: Runtime) -> Response:
    workspace_id = _id(request, "workspace_id")
    body = Body(await request.body())
    codes = body.texts("codes") or [body.text("code", required=True, max_length=32) or ""]
    name = body.text("name", required=True, max_length=200)
    keyword = body.text("keyword", default="", max_length=500)
    reply = body.text("reply", default="")
    match = body.text("match", default="regex", max_length=16)
    priority = body.integer("priority", default=100, low=-1_000_000, high=1_000_000)
    case_sensitive = body.boolean("case_sensitive")
    starts, ends = body.text("starts", max_length=64), body.text("ends", max_length=64)
    cap = body.integer("cap", default=5, low=-1, high=1_000_000)
    cap_window_s = body.integer("cap_window_s", default=3600, low=-1, high=366 * 86400)
    quiet_hours = body.text("quiet_hours", max_length=32)
    email_subject, email_body = body.text("email_subject"), body.text("email_body")
    specs = body.texts("actions")
    vault = runtime.vault
    allow = runtime.settings.outbound_networks

    def write(connection: Connection) -> dict[str, Any]:
        _exists(connection, workspaces, workspace_id, "workspace")
        actions = [parse_action(spec, email_subject=email_subject, email_body=email_body, param="actions",
                                allow=allow) for spec in specs]
        return store_admin.add_campaign(
            connection, workspace_id, codes, name, keyword, reply, priority, mode=match,
            case_sensitive=case_sensitive,
            starts_at_ms=store_admin.parse_when(connection, workspace_id, starts, "starts"),
            ends_at_ms=store_admin.parse_when(connection, workspace_id, ends, "ends"),
            cap_count=cap, cap_window_s=cap_window_s, quiet_hours=quiet_hours, actions=actions, vault=vault)

    return JSONResponse(_campaign_json(await _write(runtime, write)), status_code=201)


# -- lists ---------------------------------------------------------------------------------------


async def list_lists(request: Request, runtime: Runtime) -> Response:
    return await _workspace_listing(request, runtime, "lists", store_lists.list_lists)


async def create_list(request: Request, runtime: Runtime) -> Response:
    workspace_id = _id(request, "workspace_id")
    name = Body(await request.body()).text("name", required=True, max_length=100)

    def write(connection: Connection) -> dict[str, Any]:
        _exists(connection, workspaces, workspace_id, "workspace")
        return store_lists.create_list(connection, workspace_id, name)

    return JSONResponse(await _write(runtime, write), status_code=201)


async def add_member(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    body = Body(await request.body())
    number = body.text("number", required=True, max_length=32) or ""
    fields = body.mapping("fields")

    def write(connection: Connection) -> dict[str, Any]:
        _exists(connection, lists, list_id, "list")
        return store_lists.add_member(connection, list_id, number, fields=fields)

    return JSONResponse(await _write(runtime, write), status_code=201)


async def remove_member(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    number = request.path_params["number"]

    def write(connection: Connection) -> dict[str, Any]:
        _exists(connection, lists, list_id, "list")
        return store_lists.remove_member(connection, list_id, number)

    return JSONResponse(await _write(runtime, write))


# -- broadcasts ----------------------------------------------------------------------------------


async def list_broadcasts(request: Request, runtime: Runtime) -> Response:
    return await _workspace_listing(request, runtime, "broadcasts", store_broadcasts.list_broadcasts)


async def create_broadcast(request: Request, runtime: Runtime) -> Response:
    list_id = _id(request, "list_id")
    body = Body(await request.body())
    code = body.text("code", required=True, max_length=32) or ""
    text = body.text("text", required=True) or ""
    name = body.text("name", default="", max_length=200) or ""
    at = body.text("at", max_length=64)
    carrier = body.text("carrier", max_length=100)
    quiet_hours = body.text("quiet_hours", max_length=32)

    def write(connection: Connection) -> dict[str, Any]:
        listed = _exists(connection, lists, list_id, "list")
        when = store_admin.parse_when(connection, listed.workspace_id, at, "at")
        return store_broadcasts.create(connection, list_id, code, text, name=name, scheduled_at_ms=when,
                                       carrier=carrier, quiet_hours=quiet_hours)

    return JSONResponse(await _write(runtime, write), status_code=201)


async def broadcast_status(request: Request, runtime: Runtime) -> Response:
    broadcast_id = _id(request, "broadcast_id")

    def read(connection: Connection) -> dict[str, Any]:
        _exists(connection, broadcasts, broadcast_id, "broadcast")
        return store_broadcasts.status(connection, broadcast_id)

    return JSONResponse(await _read(runtime, read))


async def cancel_broadcast(request: Request, runtime: Runtime) -> Response:
    broadcast_id = _id(request, "broadcast_id")

    def write(connection: Connection) -> dict[str, Any]:
        _exists(connection, broadcasts, broadcast_id, "broadcast")
        return store_broadcasts.cancel(connection, broadcast_id)

    return JSONResponse(await _write(runtime, write))
