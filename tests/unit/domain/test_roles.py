"""The role policy, as a table: each role against each action, and the deployment administrator."""

from __future__ import annotations

import pytest

from mecm.domain.roles import DEPLOYMENT_ADMIN, Action, Role, decide, parse_role
from mecm.errors import InvalidParameter

V, E, A, O = Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER
# action -> the roles that may take it (a deployment administrator may take every one)
TABLE = {
    Action.READ: {V, E, A, O},
    Action.CAMPAIGNS: {E, A, O},
    Action.LISTS: {E, A, O},
    Action.BROADCASTS: {E, A, O},
    Action.OPTOUTS: {E, A, O},
    Action.WEBHOOKS: {E, A, O},
    Action.KEYS: {A, O},
    Action.CODES: {A, O},
    Action.WORKSPACE_SETTINGS: {A, O},
    Action.LIMITS: {A, O},
    Action.CREDIT_VIEW: {A, O},
    Action.AUDIT: {A, O},
    Action.USERS: {O},
    Action.ARCHIVE: {O},
    Action.CARRIERS: set(),
    Action.CREATE_WORKSPACE: set(),
    Action.CREDIT_CHANGE: set(),
    Action.ACCOUNTS: set(),
}


def test_the_table_covers_every_action() -> None:
    assert set(TABLE) == set(Action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", [None, *Role])
def test_policy(action: Action, role: Role | None) -> None:
    decision = decide(action, role=role, deployment_admin=False)
    assert decision.allowed == (role in TABLE[action])
    if not decision.allowed:
        assert decision.needed in decision.reason and action.value in decision.reason


@pytest.mark.parametrize("action", list(Action))
def test_a_deployment_administrator_may_do_everything_even_without_a_role(action: Action) -> None:
    assert decide(action, role=None, deployment_admin=True).allowed


def test_the_refusal_names_the_role_needed_and_the_role_held() -> None:
    assert decide(Action.KEYS, role=V, deployment_admin=False).reason == \
        "keys needs the role admin; you have the role viewer"
    assert decide(Action.CARRIERS, role=O, deployment_admin=False).reason == \
        f"carriers needs a {DEPLOYMENT_ADMIN}; you have the role owner"
    assert decide(Action.READ, role=None, deployment_admin=False).reason == \
        "read needs the role viewer; you have no role on this workspace"


def test_parse_role() -> None:
    assert parse_role(" Editor ") is Role.EDITOR
    with pytest.raises(InvalidParameter, match="role: 'boss' is not a role: one of viewer, editor, admin, owner"):
        parse_role("boss")
