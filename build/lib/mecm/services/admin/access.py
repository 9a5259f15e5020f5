"""Who is asking the admin API, and whether they may: a personal token resolved to its user, and
the role policy (domain/roles.py) applied to the workspace a request concerns.

The deployment's single admin token (setting ``admin_token``) stands for a deployment administrator
named ``admin-token`` in the audit log; it is meant to create the first administrator and their
token, and switching it off is a next step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from mecm.domain import credentials
from mecm.domain.roles import Action, Role, decide
from mecm.errors import Forbidden
from mecm.services.admin.audit import ADMIN_TOKEN_ACTOR, now_ms
from mecm.store import ownership
from mecm.store import users as store_users


@dataclass(frozen=True)
class Principal:
    actor: str  # as the audit log names them
    user_id: int | None  # None: the single admin token
    deployment_admin: bool
    scope: str  # read or write


_MAX_ID = 2**31 - 1
ADMIN_TOKEN = Principal(ADMIN_TOKEN_ACTOR, None, True, "write")


def principal_of_token(connection: Connection, token: str, now: int | None = None) -> Principal | None:
    """The user a personal token stands for, or None (unknown, expired, revoked, or user disabled)."""
    if not token.startswith(credentials.TOKEN_PREFIX) or len(token) > 200:
        return None
    row = store_users.token_by_hash(connection, credentials.token_hash(token))
    at = now_ms() if now is None else now
    if row is None or row["disabled_at_ms"] is not None or not credentials.token_usable(
            expires_at_ms=row["expires_at_ms"], revoked_at_ms=row["revoked_at_ms"], now_ms=at):
        return None
    return Principal(f"user:{row['email']}", row["user_id"], bool(row["deployment_admin"]), row["scope"])


def authorize(connection: Connection, principal: Principal, action: Action, workspace_id: int | None,
              *, writes: bool) -> None:
    """Refuse (Forbidden, naming what is needed) unless the principal may take ``action`` on the
    workspace (``None``: an action of the deployment, or a listing filtered afterwards)."""
    if not credentials.allows_scope(principal.scope, writes=writes):
        raise Forbidden("this token's scope is read: a change needs a token of scope write")
    role = None
    if principal.user_id is not None and workspace_id is not None:
        held = store_users.role_on(connection, principal.user_id, workspace_id)
        role = Role(held) if held else None
    decision = decide(action, role=role, deployment_admin=principal.deployment_admin)
    if not decision.allowed:
        raise Forbidden(f"forbidden: {decision.reason}")


def visible_workspaces(connection: Connection, principal: Principal) -> set[int] | None:
    """The workspaces the principal may read (None: all of them)."""
    if principal.deployment_admin or principal.user_id is None:
        return None
    return set(store_users.roles_of(connection, principal.user_id))


def workspace_of(connection: Connection, kind: str, ident: str) -> int | None:
    """The workspace that a path's id belongs to (None: it names nothing; the route answers 404)."""
    # Only what a column can hold is looked up (PostgreSQL refuses a NUL, or an integer past 2**31 - 1):
    # anything else names nothing.
    if kind == "code":
        code = ident.strip().lstrip("+")  # as the code routes read it (services/admin/codes.py)
        usable = code.isascii() and code.isdigit() and len(code) <= 15
        return ownership.workspace_of_code(connection, code) if usable else None
    if kind == "public_key":
        usable = len(ident) <= 64 and ident.isascii() and ident.isprintable()
        return ownership.workspace_of_key(connection, ident) if usable else None
    if not (ident.isascii() and ident.isdigit() and len(ident) <= 10) or int(ident) > _MAX_ID:
        return None
    if kind == "workspace_id":
        return int(ident)
    if kind == "list_id":
        return ownership.workspace_of_list(connection, int(ident))
    if kind == "broadcast_id":
        return ownership.workspace_of_broadcast(connection, int(ident))
    if kind == "campaign_id":
        return ownership.workspace_of_campaign(connection, int(ident))
    raise ValueError(f"no workspace lookup for {kind}")
