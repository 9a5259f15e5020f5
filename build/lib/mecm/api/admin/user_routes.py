"""``/admin/api`` routes of users, their roles, their personal tokens and the audit log.

Each change is made by the use cases of services/admin/users.py with the asking principal as the
actor, so it is in the audit log; who may ask is decided before (routes.py's rules).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mecm.api.admin import calls
from mecm.api.admin.body import Body, path_id
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter
from mecm.runtime import Runtime
from mecm.services.admin import access, audit, users

Handler = Callable[[Request, Runtime], Awaitable[Response]]


def _email(request: Request) -> str:
    return request.path_params["email"]


async def list_users(_request: Request, runtime: Runtime) -> Response:
    return JSONResponse({"users": await calls.read(runtime, users.list_users)})


async def add_user(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    email = body.text("email", required=True, max_length=320) or ""
    password = body.text("password", max_length=1024)
    deployment_admin = body.boolean("deployment_admin")
    actor = calls.actor_of(request)
    # Hashed here, in a thread, not in the writer's transaction: every other write would wait on it.
    hashed = await run_in_threadpool(users.hash_password, password) if password is not None else None
    return JSONResponse(await calls.write(runtime, lambda c: users.add_user(
        c, email, actor=actor, password=hashed, deployment_admin=deployment_admin)), status_code=201)


async def set_role(request: Request, runtime: Runtime) -> Response:
    workspace_id = path_id(request.path_params["workspace_id"], "workspace_id")
    role = Body(await request.body()).text("role", required=True, max_length=16) or ""
    email, actor = _email(request), calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: users.set_role(c, email, workspace_id, role, actor=actor)))


async def list_roles(request: Request, runtime: Runtime) -> Response:
    workspace_id = path_id(request.path_params["workspace_id"], "workspace_id")
    return JSONResponse({"roles": await calls.read(runtime, lambda c: users.workspace_roles(c, workspace_id))})


async def remove_role(request: Request, runtime: Runtime) -> Response:
    workspace_id = path_id(request.path_params["workspace_id"], "workspace_id")
    email, actor = _email(request), calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: users.remove_role(c, email, workspace_id, actor=actor)))


async def create_token(request: Request, runtime: Runtime) -> Response:
    """A personal token for the user; the answer's ``token`` is the only time it is shown."""
    body = Body(await request.body())
    scope = body.text("scope", default="read", max_length=8) or ""
    expires_in = body.text("expires_in", default="90d", max_length=16) or ""
    name = body.text("name", default="", max_length=100) or ""
    email, actor = _email(request), calls.actor_of(request)
    try:
        row = await calls.write(runtime, lambda c: users.create_token(c, email, actor=actor, scope=scope,
                                                                 expires_in=expires_in, name=name))
    except InvalidParameter as error:
        if error.name != "expires-in":
            raise
        raise InvalidParameter("expires_in", error.reason) from None
    return JSONResponse(row, status_code=201)


async def list_tokens(request: Request, runtime: Runtime) -> Response:
    email = _email(request)
    return JSONResponse({"tokens": await calls.read(runtime, lambda c: users.list_tokens(c, email))})


async def revoke_token(request: Request, runtime: Runtime) -> Response:
    token_id = path_id(request.path_params["token_id"], "token_id")
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, lambda c: users.revoke_token(c, token_id, actor=actor)))


async def list_audit(request: Request, runtime: Runtime) -> Response:
    """The newest entries; ``?workspace=N`` (needs the role admin on it), else all (a deployment
    administrator); ``user``, ``action``, ``since``, ``until`` and ``limit`` as the CLI's options."""
    query = request.query_params
    workspace_id = path_id(query["workspace"], "workspace") if "workspace" in query else None
    user, action, since, until = (query.get(name) for name in ("user", "action", "since", "until"))
    limit = path_id(query.get("limit", "100"), "limit")
    principal: access.Principal = request.state.principal

    def read(c: Connection) -> list[dict[str, Any]]:
        access.authorize(c, principal, Action.AUDIT if workspace_id is not None else Action.ACCOUNTS, workspace_id,
                         writes=False)
        return audit.list_entries(c, workspace_id=workspace_id, user=user, action=action, since=since, until=until,
                                  limit=limit)

    return JSONResponse({"entries": await calls.read(runtime, read)})


# (path, handler, methods, rule): the rule as routes.py reads it — the action, and the path parameter
# naming the workspace it concerns (None: none; the action is the deployment's).
ROUTES: list[tuple[str, Handler, list[str], tuple[Action, str | None] | None]] = [
    ("/users", list_users, ["GET"], (Action.ACCOUNTS, None)),
    ("/users", add_user, ["POST"], (Action.ACCOUNTS, None)),
    ("/users/{email}/tokens", list_tokens, ["GET"], (Action.ACCOUNTS, None)),
    ("/users/{email}/tokens", create_token, ["POST"], (Action.ACCOUNTS, None)),
    ("/tokens/{token_id}/revoke", revoke_token, ["POST"], (Action.ACCOUNTS, None)),
    ("/workspaces/{workspace_id}/roles", list_roles, ["GET"], (Action.USERS, "workspace_id")),
    ("/workspaces/{workspace_id}/roles/{email}", set_role, ["PUT"], (Action.USERS, "workspace_id")),
    ("/workspaces/{workspace_id}/roles/{email}", remove_role, ["DELETE"], (Action.USERS, "workspace_id")),
    ("/audit", list_audit, ["GET"], None),  # the handler decides: its workspace is a query parameter
]
