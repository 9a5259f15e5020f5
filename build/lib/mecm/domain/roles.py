"""Who may do what on a workspace: the role policy as one pure function over a table.

Roles are per workspace and ordered: viewer < editor < admin < owner; each may do what the role
below it may, and more. A deployment administrator may do everything, on every workspace, and alone
may do what is not one workspace's business (carriers, creating workspaces, prices and top-ups, accounts, the whole audit log).

    viewer  read anything of the workspace
    editor  campaigns, lists, broadcasts, opt-outs, webhooks (replaying or discarding dead ones:
            campaigns own the webhooks, so whoever may edit a campaign may retry or drop its deliveries)
    admin   keys, codes, the workspace's carrier settings, limits, the credit's figures, its audit log
    owner   the workspace's users and roles, archiving it
    deployment administrator: carriers, creating workspaces, credit top-ups and prices, users

``decide`` returns a Decision (a value: the caller refuses with its words), never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3, Role.OWNER: 4}
ROLE_NAMES = tuple(role.value for role in Role)
DEPLOYMENT_ADMIN = "deployment administrator"


class Action(str, Enum):
    READ = "read"
    CAMPAIGNS = "campaigns"
    LISTS = "lists"
    BROADCASTS = "broadcasts"
    OPTOUTS = "opt-outs"
    WEBHOOKS = "webhooks"
    KEYS = "keys"
    CODES = "codes"
    WORKSPACE_SETTINGS = "workspace settings"
    LIMITS = "limits"
    CREDIT_VIEW = "credit view"
    AUDIT = "audit log"
    USERS = "users"
    ARCHIVE = "archive"
    # Not one workspace's business: deployment administrators only.
    CARRIERS = "carriers"
    CREATE_WORKSPACE = "create workspaces"
    CREDIT_CHANGE = "credit top-ups and prices"
    ACCOUNTS = "accounts"


# The least role that may take each action; None: only a deployment administrator.
NEEDED: dict[Action, Role | None] = {
    Action.READ: Role.VIEWER,
    Action.CAMPAIGNS: Role.EDITOR,
    Action.LISTS: Role.EDITOR,
    Action.BROADCASTS: Role.EDITOR,
    Action.OPTOUTS: Role.EDITOR,
    Action.WEBHOOKS: Role.EDITOR,
    Action.KEYS: Role.ADMIN,
    Action.CODES: Role.ADMIN,
    Action.WORKSPACE_SETTINGS: Role.ADMIN,
    Action.LIMITS: Role.ADMIN,
    Action.CREDIT_VIEW: Role.ADMIN,
    Action.AUDIT: Role.ADMIN,
    Action.USERS: Role.OWNER,
    Action.ARCHIVE: Role.OWNER,
    Action.CARRIERS: None,
    Action.CREATE_WORKSPACE: None,
    Action.CREDIT_CHANGE: None,
    Action.ACCOUNTS: None,
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    needed: str  # the least role that may ("editor", ..., or DEPLOYMENT_ADMIN)
    reason: str = ""  # why not, in words for the refusal


def parse_role(raw: str) -> Role:
    from mecm.errors import InvalidParameter

    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise InvalidParameter("role", f"{raw!r} is not a role: one of {', '.join(ROLE_NAMES)}") from None


def decide(action: Action, *, role: Role | None, deployment_admin: bool) -> Decision:
    """May someone with ``role`` on the workspace (None: none) take ``action`` there?"""
    least = NEEDED[action]
    needed = least.value if least is not None else DEPLOYMENT_ADMIN
    if deployment_admin:
        return Decision(True, needed)
    if least is not None and role is not None and role.rank >= least.rank:
        return Decision(True, needed)
    held = f"the role {role.value}" if role is not None else "no role on this workspace"
    return Decision(False, needed, f"{action.value} needs the role {needed}; you have {held}"
                    if least is not None else f"{action.value} needs a {DEPLOYMENT_ADMIN}; you have {held}")
