"""``/admin/api``: workspaces, key pairs, campaigns, lists and broadcasts as JSON, for the CLI and a console.

Every route but the OpenAPI document wants ``Authorization: Bearer <token>``: a user's personal
token (``mecm admin token create``), whose user's role on the workspace concerned must allow the
route's action (RULES; domain/roles.py), or the deployment's single admin token (the setting
``admin_token``, or the one ``mecm admin token`` prints), which may do everything and is meant to
create the first administrator. Answers are JSON: 200 or 201 with the object, 400 ``{"error",
"parameter"}`` for bad input (nothing written), 401 without a working token, 403 when the role (or
the token's scope) does not allow the action (the answer names the role needed; nothing written),
404 for an id that does not exist. Each change is written to the audit log with its actor. The same use cases as the CLI's (mecm.services.admin) do the work, so
both refuse the same input with the same words; a change takes effect at once (the catalog is
reloaded).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mecm.api.admin import calls, campaign_routes, credit_routes, limits, list_routes, record_routes, user_routes
from mecm.api.admin.body import Body, in_body_spelling, path_id, query_flag
from mecm.api.admin.openapi import document
from mecm.domain.credentials import TOKEN_PREFIX
from mecm.domain.roles import Action
from mecm.errors import Forbidden, InvalidParameter, Unknown
from mecm.runtime import Runtime
from mecm.services.admin import access, carriers, codes, keys, workspaces
from mecm.services.admin.lookups import require_key
from mecm.services.key_use import wall_clock_ms

log = logging.getLogger(__name__)
PREFIX = "/admin/api"
Handler = Callable[[Request, Runtime], Awaitable[Response]]


# Who may use each route: the action (domain/roles.py) and the path parameter naming the workspace it
# concerns (None: the deployment's). A route without a rule here is refused at start-up.
_READ = (Action.READ, "workspace_id")
RULES: dict[tuple[str, str], tuple[Action, str | None] | None] = {
    ("GET", "/workspaces"): None,  # each principal sees the workspaces it has a role on (filtered)
    ("POST", "/workspaces"): (Action.CREATE_WORKSPACE, None),
    ("PATCH", "/workspaces/{workspace_id}"): (Action.WORKSPACE_SETTINGS, "workspace_id"),
    ("POST", "/workspaces/{workspace_id}/archive"): (Action.ARCHIVE, "workspace_id"),
    ("POST", "/workspaces/{workspace_id}/restore"): (Action.ARCHIVE, "workspace_id"),
    ("GET", "/workspaces/{workspace_id}/codes"): _READ,
    ("DELETE", "/codes/{code}"): (Action.CODES, "code"),
    ("POST", "/codes/{code}/default"): (Action.CODES, "code"),
    ("GET", "/carriers"): (Action.CARRIERS, None),
    ("PATCH", "/carriers/{name}"): (Action.CARRIERS, None),
    ("DELETE", "/carriers/{name}"): (Action.CARRIERS, None),
    ("POST", "/carriers/{name}/disable"): (Action.CARRIERS, None),
    ("POST", "/carriers/{name}/enable"): (Action.CARRIERS, None),
    ("GET", "/workspaces/{workspace_id}/keys"): _READ,
    ("POST", "/workspaces/{workspace_id}/keys"): (Action.KEYS, "workspace_id"),
    ("PATCH", "/keys/{public_key}"): (Action.KEYS, "public_key"),
    ("POST", "/keys/{public_key}/rotate"): (Action.KEYS, "public_key"),
    ("POST", "/keys/{public_key}/revoke"): (Action.KEYS, "public_key"),
    ("GET", "/workspaces/{workspace_id}/limits"): _READ,
    ("PUT", "/workspaces/{workspace_id}/limits"): (Action.LIMITS, "workspace_id"),
    ("DELETE", "/workspaces/{workspace_id}/limits"): (Action.LIMITS, "workspace_id"),
    ("GET", "/workspaces/{workspace_id}/pin-guard"): _READ,
    ("PATCH", "/workspaces/{workspace_id}/pin-guard"): (Action.LIMITS, "workspace_id"),
    ("DELETE", "/workspaces/{workspace_id}/pin-guard"): (Action.LIMITS, "workspace_id"),
    ("GET", "/workspaces/{workspace_id}/credit"): (Action.CREDIT_VIEW, "workspace_id"),
    ("PATCH", "/workspaces/{workspace_id}/credit"): (Action.WORKSPACE_SETTINGS, "workspace_id"),  # threshold
    ("POST", "/workspaces/{workspace_id}/credit/top-ups"): (Action.CREDIT_CHANGE, None),
    ("GET", "/workspaces/{workspace_id}/credit/ledger"): (Action.CREDIT_VIEW, "workspace_id"),
    ("GET", "/workspaces/{workspace_id}/prices"): (Action.CREDIT_VIEW, "workspace_id"),
    ("POST", "/workspaces/{workspace_id}/prices"): (Action.CREDIT_CHANGE, None),
    ("DELETE", "/workspaces/{workspace_id}/prices"): (Action.CREDIT_CHANGE, None),
}
_UNAUTHORIZED = "admin token or personal token missing, wrong, expired or revoked"


def admin_api_routes(runtime: Runtime, token: str) -> list[Route]:
    async def principal_of(request: Request) -> access.Principal | None:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return access.ADMIN_TOKEN
        scheme, _, personal = given.partition(" ")
        if scheme.lower() != "bearer" or not personal.startswith(TOKEN_PREFIX):
            return None
        return await calls.read(runtime, lambda c: access.principal_of_token(c, personal.strip()))

    async def authorize(request: Request, principal: access.Principal, rule: tuple[Action, str | None]) -> None:
        """Refuse (Forbidden) before anything is written; an id that names nothing is left to the
        route (404), as before."""
        action, parameter = rule
        writes = request.method not in ("GET", "HEAD")

        def check(c: Connection) -> None:
            workspace_id = None
            if parameter is not None:
                workspace_id = access.workspace_of(c, parameter, request.path_params[parameter])
            # An id that names nothing (workspace_id None) is still checked: a deployment
            # administrator passes on role, never on the token's scope.
            access.authorize(c, principal, action, workspace_id, writes=writes)

        await calls.read(runtime, check)

    def guarded(handler: Handler, rule: tuple[Action, str | None] | None) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = await principal_of(request)
            if principal is None:
                return JSONResponse({"error": _UNAUTHORIZED}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            request.state.principal = principal
            try:
                if rule is not None:
                    await authorize(request, principal, rule)
                return await handler(request, runtime)
            except Forbidden as error:
                return JSONResponse({"error": error.description}, status_code=403)
            except Unknown as error:
                return JSONResponse({"error": error.description}, status_code=404)
            except InvalidParameter as error:
                return JSONResponse({"error": error.description, "parameter": error.name}, status_code=400)

        return endpoint

    async def openapi(_request: Request) -> Response:
        return JSONResponse(document())

    table: list[tuple[str, Handler, list[str]]] = [
        ("/workspaces", list_workspaces, ["GET"]),
        ("/workspaces", create_workspace, ["POST"]),
        ("/workspaces/{workspace_id}", update_workspace, ["PATCH"]),
        ("/workspaces/{workspace_id}/archive", archive_workspace, ["POST"]),
        ("/workspaces/{workspace_id}/restore", restore_workspace, ["POST"]),
        ("/workspaces/{workspace_id}/keys", list_keys, ["GET"]),
        ("/workspaces/{workspace_id}/keys", create_key, ["POST"]),
        ("/workspaces/{workspace_id}/codes", list_codes, ["GET"]),
        ("/codes/{code}", remove_code, ["DELETE"]),
        ("/codes/{code}/default", set_default_code, ["POST"]),
        ("/keys/{public_key}", set_key_expiry, ["PATCH"]),
        ("/carriers", list_carriers, ["GET"]),
        ("/carriers/{name}", update_carrier, ["PATCH"]),
        ("/carriers/{name}", delete_carrier, ["DELETE"]),
        ("/carriers/{name}/disable", disable_carrier, ["POST"]),
        ("/carriers/{name}/enable", enable_carrier, ["POST"]),
        ("/keys/{public_key}/rotate", rotate_key, ["POST"]),
        ("/keys/{public_key}/revoke", revoke_key, ["POST"]),
        ("/workspaces/{workspace_id}/limits", limits.list_limits, ["GET"]),
        ("/workspaces/{workspace_id}/limits", limits.set_limit, ["PUT"]),
        ("/workspaces/{workspace_id}/limits", limits.clear_limits, ["DELETE"]),
        ("/workspaces/{workspace_id}/pin-guard", limits.show_pin_guard, ["GET"]),
        ("/workspaces/{workspace_id}/pin-guard", limits.set_pin_guard, ["PATCH"]),
        ("/workspaces/{workspace_id}/pin-guard", limits.clear_pin_guard, ["DELETE"]),
        *credit_routes.ROUTES,
    ]
    rules = dict(RULES)
    for path, handler, methods, rule in [*user_routes.ROUTES, *campaign_routes.ROUTES, *list_routes.ROUTES,
                                         *record_routes.ROUTES]:
        table.append((path, handler, methods))
        rules.update({(method, path): rule for method in methods})
    routes = [Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"])]
    routes += [Route(PREFIX + path, guarded(handler, rules[(methods[0], path)]), methods=methods)
               for path, handler, methods in table]
    return routes


# -- helpers -------------------------------------------------------------------------------------


def _id(request: Request, name: str) -> int:
    return path_id(request.path_params[name], name)


# -- workspaces ----------------------------------------------------------------------------------


async def list_workspaces(request: Request, runtime: Runtime) -> Response:
    """The workspaces in use the asker has a role on (a deployment administrator: every one);
    ``?all=true``: the archived ones too."""
    principal: access.Principal = request.state.principal
    everything = query_flag(request.query_params, "all")

    def visible(c: Connection) -> list[dict[str, Any]]:
        shown = access.visible_workspaces(c, principal)
        return [w for w in workspaces.list_workspaces(c, include_archived=everything)
                if shown is None or w["instance_id"] in shown]

    return JSONResponse({"workspaces": await calls.read(runtime, visible)})


async def create_workspace(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    name = body.text("name", required=True, max_length=200)
    timezone = body.text("timezone", default="America/Caracas", max_length=64)
    actor = calls.actor_of(request)
    row = await calls.write(runtime, lambda c: workspaces.create_workspace(c, name, timezone, actor=actor))
    return JSONResponse(row, status_code=201)


async def update_workspace(request: Request, runtime: Runtime) -> Response:
    """The workspace's settings that the body names: name, timezone, default_carrier ("": none),
    pin_in_response. The workspace as it is now."""
    workspace_id = _id(request, "workspace_id")
    body = Body(await request.body())
    name = body.text("name", max_length=200)
    timezone = body.text("timezone", max_length=64)
    default_carrier = body.text("default_carrier", max_length=100)
    shown = body.boolean("pin_in_response") if body.has("pin_in_response") else None
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, in_body_spelling(lambda c: workspaces.update_workspace(
        c, workspace_id, actor=actor, name=name, timezone=timezone, default_carrier=default_carrier,
        pin_in_response=shown))))


async def archive_workspace(request: Request, runtime: Runtime) -> Response:
    """Its keys stop working at once, lists hide it, its history stays; restore undoes it."""
    workspace_id, actor = _id(request, "workspace_id"), calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: workspaces.archive_workspace(
        c, workspace_id, now_ms=wall_clock_ms(), actor=actor)))


async def restore_workspace(request: Request, runtime: Runtime) -> Response:
    workspace_id, actor = _id(request, "workspace_id"), calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: workspaces.restore_workspace(
        c, workspace_id, actor=actor)))


# -- codes ---------------------------------------------------------------------------------------


async def list_codes(request: Request, runtime: Runtime) -> Response:
    return await _workspace_listing(request, runtime, "codes", codes.list_codes)


async def remove_code(request: Request, runtime: Runtime) -> Response:
    """Refused (400, naming it) while a campaign or a broadcast uses the code."""
    code, actor = request.path_params["code"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: codes.remove_code(c, code, actor=actor)))


async def set_default_code(request: Request, runtime: Runtime) -> Response:
    code, actor = request.path_params["code"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: codes.set_default_code(c, code, actor=actor)))


# -- carriers ------------------------------------------------------------------------------------


async def list_carriers(_request: Request, runtime: Runtime) -> Response:
    """Every carrier, enabled or not; a password shows as "(encrypted)"."""
    return JSONResponse({"carriers": await calls.read(runtime, carriers.list_carriers)})


async def update_carrier(request: Request, runtime: Runtime) -> Response:
    """The settings (and prefixes, password) the body gives, checked as when the carrier was added."""
    name = request.path_params["name"]
    body = Body(await request.body())
    settings = body.scalars("settings")
    password = body.text("password", max_length=64)
    if password is not None:
        settings["password"] = password
    prefixes = body.texts("prefixes") if body.has("prefixes") else None
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, in_body_spelling(lambda c: carriers.update_carrier(
        c, name, actor=actor, prefixes=prefixes, settings=settings, vault=runtime.vault))))


async def disable_carrier(request: Request, runtime: Runtime) -> Response:
    """No new message goes to it; those queued to it wait until it is enabled again."""
    name, actor = request.path_params["name"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: carriers.set_carrier_enabled(
        c, name, enabled=False, actor=actor)))


async def enable_carrier(request: Request, runtime: Runtime) -> Response:
    name, actor = request.path_params["name"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: carriers.set_carrier_enabled(
        c, name, enabled=True, actor=actor)))


async def delete_carrier(request: Request, runtime: Runtime) -> Response:
    """Refused (400, naming every user) while a workspace, broadcast, message or price uses it."""
    name, actor = request.path_params["name"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: carriers.delete_carrier(c, name, actor=actor)))


# -- key pairs -----------------------------------------------------------------------------------


async def list_keys(request: Request, runtime: Runtime) -> Response:
    """The workspace's key pairs: state, dates and last use (written every key_last_used_flush_s)."""
    return await _workspace_listing(request, runtime, "keys", keys.list_keys)


async def create_key(request: Request, runtime: Runtime) -> Response:
    """A new key pair of the workspace (its private key in this answer only)."""
    workspace_id = _id(request, "workspace_id")
    body = Body(await request.body())
    expires, expires_in = body.text("expires", max_length=64), body.text("expires_in", max_length=16)
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, in_body_spelling(lambda c: keys.create_key(
        c, runtime.vault, workspace_id, expires=expires, expires_in=expires_in, actor=actor))), status_code=201)


async def revoke_key(request: Request, runtime: Runtime) -> Response:
    public_key = request.path_params["public_key"]
    actor = calls.actor_of(request)

    def revoke(c: Connection) -> dict[str, Any]:
        require_key(c, public_key)
        return keys.revoke_key(c, public_key, actor=actor)

    return JSONResponse(await calls.write(runtime, in_body_spelling(revoke)))


async def set_key_expiry(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    expires, expires_in = body.text("expires", max_length=64), body.text("expires_in", max_length=16)
    never = body.boolean("never")
    public_key, actor = request.path_params["public_key"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, in_body_spelling(lambda c: keys.set_expiry(
        c, public_key, actor=actor, expires=expires, expires_in=expires_in, never=never))))


async def rotate_key(request: Request, runtime: Runtime) -> Response:
    """A new key pair (its private key in this answer only); the old one stops after ``overlap``."""
    body = Body(await request.body())
    overlap = body.text("overlap", default="24h", max_length=16) or ""
    expires, expires_in = body.text("expires", max_length=64), body.text("expires_in", max_length=16)
    public_key, actor = request.path_params["public_key"], calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, in_body_spelling(lambda c: keys.rotate_key(
        c, runtime.vault, public_key, actor=actor, overlap=overlap, expires=expires, expires_in=expires_in))),
        status_code=201)


# -- listings ------------------------------------------------------------------------------------


async def _workspace_listing(request: Request, runtime: Runtime, key: str,
                             rows: Callable[[Connection, int], list[dict[str, Any]]]) -> Response:
    """``{key: rows}`` of the workspace in the path (the use case refuses one that does not exist: 404)."""
    workspace_id = _id(request, "workspace_id")
    return JSONResponse({key: await calls.read(runtime, lambda c: rows(c, workspace_id))})
