"""Users, roles, tokens and the audit log on a real database (SQLite, or PostgreSQL in make test):
what is stored, what is refused (nothing written, no audit entry), and what a token resolves to."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select, text

from mecm.domain import credentials
from mecm.domain.roles import Action
from mecm.errors import Forbidden, InvalidParameter, Unknown
from mecm.services.admin import access, audit, users, workspaces
from mecm.store.tables import audit_log, user_tokens
from mecm.store.tables import users as users_table

ACTOR = "cli:tester"


def _audit_count(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(audit_log)).scalar_one()


@pytest.fixture()
def workspace(engine: Engine) -> int:
    with engine.begin() as c:
        return workspaces.create_workspace(c, "acme", "UTC", actor="cli:setup")["instance_id"]


def test_add_user_stores_an_argon2id_hash_and_writes_an_audit_entry(engine: Engine) -> None:
    with engine.begin() as c:
        user = users.add_user(c, "Ana@Example.com", actor=ACTOR, password=users.hash_password("a long password"))
    assert user["email"] == "ana@example.com" and user["roles"] == {} and not user["deployment_admin"]
    with engine.connect() as c:
        stored = c.execute(select(users_table.c.password_hash)).scalar_one()
        entry = c.execute(select(audit_log)).mappings().one()
    assert stored.startswith("$argon2id$")
    assert (entry["actor"], entry["action"], entry["subject"]) == (ACTOR, "user.add", "user:ana@example.com")
    assert entry["before"] is None and "argon2" not in entry["after"] and "password" not in entry["after"]


def test_the_write_stores_the_hash_it_is_given_and_hashes_nothing_itself(engine: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 runs before the transaction (users.hash_password, called by the CLI and the API), never
    inside it: the admin API's writes share one group-commit writer, which would wait on it."""
    hashed = users.hash_password("a long password")
    assert hashed.value.startswith("$argon2id$") and "a long password" not in repr(hashed)

    def no_hashing_here(_password: str) -> str:
        raise AssertionError("a password was hashed inside the write")

    monkeypatch.setattr(credentials, "hash_password", no_hashing_here)
    with engine.begin() as c:
        users.add_user(c, "ana@example.com", actor=ACTOR, password=hashed)
        users.set_password(c, "ana@example.com", hashed, actor=ACTOR)
        assert users.password_login(c, "ana@example.com", "a long password") is not None
    with engine.connect() as c:
        assert c.execute(select(users_table.c.password_hash)).scalar_one() == hashed.value


def test_refusals_write_nothing(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        users.add_user(c, "ana@example.com", actor=ACTOR)
    before = _audit_count(engine)
    for attempt, parameter in [
        (lambda c: users.add_user(c, "ANA@example.com", actor=ACTOR), "email"),
        (lambda c: users.add_user(c, "not-an-address", actor=ACTOR), "email"),
        (lambda c: users.add_user(c, "bo@example.com", actor=ACTOR, password=users.hash_password("short")),
         "password"),
        (lambda c: users.set_role(c, "ana@example.com", workspace, "boss", actor=ACTOR), "role"),
        (lambda c: users.set_role(c, "ana@example.com", 99, "viewer", actor=ACTOR), "workspace"),
        (lambda c: users.set_role(c, "nobody@example.com", workspace, "viewer", actor=ACTOR), "email"),
        (lambda c: users.remove_role(c, "ana@example.com", workspace, actor=ACTOR), "workspace"),
        (lambda c: users.create_token(c, "ana@example.com", actor=ACTOR, scope="all"), "scope"),
        (lambda c: users.create_token(c, "ana@example.com", actor=ACTOR, expires_in="soon"), "expires-in"),
        (lambda c: users.revoke_token(c, 42, actor=ACTOR), "id"),
    ]:
        with pytest.raises(InvalidParameter) as caught, engine.begin() as c:
            attempt(c)
        assert caught.value.name == parameter
    assert _audit_count(engine) == before
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(users_table)).scalar_one() == 1


def test_roles_are_set_replaced_and_removed_with_before_and_after(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        users.add_user(c, "ana@example.com", actor=ACTOR)
        users.set_role(c, "ana@example.com", workspace, "viewer", actor=ACTOR)
        users.set_role(c, "ana@example.com", workspace, "Admin", actor=ACTOR)
        assert users.list_users(c)[0]["roles"] == {str(workspace): "admin"}
        users.remove_role(c, "ana@example.com", workspace, actor=ACTOR)
        assert users.list_users(c)[0]["roles"] == {}
        entries = audit.list_entries(c, workspace_id=workspace, action="role")
    assert [(e["action"], e["before"], e["after"]) for e in entries] == [
        ("role.remove", {"role": "admin"}, {"role": None}),
        ("role.set", {"role": "viewer"}, {"role": "admin"}),
        ("role.set", {"role": None}, {"role": "viewer"}),
    ]


def test_a_token_is_shown_once_stored_hashed_and_resolves_until_expired_revoked_or_disabled(
        engine: Engine, workspace: int) -> None:
    now = 1_800_000_000_000
    with engine.begin() as c:
        users.add_user(c, "ana@example.com", actor=ACTOR)
        made = users.create_token(c, "ana@example.com", actor=ACTOR, scope="write", expires_in="1h", now=now)
    token = made["token"]
    with engine.connect() as c:
        assert token not in json.dumps([dict(r) for r in c.execute(select(user_tokens)).mappings()])
        assert token not in c.execute(text("SELECT after FROM audit_log WHERE action = 'token.create'")).scalar_one()
        assert all("token" not in row for row in users.list_tokens(c, "ana@example.com"))
        principal = access.principal_of_token(c, token, now=now + 1000)
        assert principal is not None and principal.actor == "user:ana@example.com" and principal.scope == "write"
        assert access.principal_of_token(c, token, now=now + 3_600_000) is None  # expired
        assert access.principal_of_token(c, token + "x", now=now) is None
    with engine.begin() as c:
        users.set_disabled(c, "ana@example.com", True, actor=ACTOR)
    with engine.connect() as c:
        assert access.principal_of_token(c, token, now=now + 1000) is None
    with engine.begin() as c:
        users.set_disabled(c, "ana@example.com", False, actor=ACTOR)
        users.revoke_token(c, made["id"], actor=ACTOR)
    with engine.connect() as c:
        assert access.principal_of_token(c, token, now=now + 1000) is None
        assert users.list_tokens(c, "ana@example.com")[0]["revoked_at"] is not None


def test_authorize_applies_the_role_on_the_workspace_and_the_token_scope(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        users.add_user(c, "vi@example.com", actor=ACTOR)
        users.set_role(c, "vi@example.com", workspace, "viewer", actor=ACTOR)
        viewer = access.principal_of_token(c, users.create_token(c, "vi@example.com", actor=ACTOR,
                                                                 scope="write")["token"])
        read_only = access.principal_of_token(c, users.create_token(c, "vi@example.com", actor=ACTOR)["token"])
    assert viewer is not None and read_only is not None
    with engine.connect() as c:
        access.authorize(c, viewer, Action.READ, workspace, writes=False)
        with pytest.raises(Forbidden, match="keys needs the role admin; you have the role viewer"):
            access.authorize(c, viewer, Action.KEYS, workspace, writes=True)
        with pytest.raises(Forbidden, match="you have no role on this workspace"):
            access.authorize(c, viewer, Action.READ, workspace + 1, writes=False)
        with pytest.raises(Forbidden, match="scope is read"):
            access.authorize(c, read_only, Action.READ, workspace, writes=True)
        access.authorize(c, access.ADMIN_TOKEN, Action.CARRIERS, None, writes=True)


def test_audit_list_filters_by_workspace_and_user_and_refuses_a_bad_limit(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        workspaces.create_workspace(c, "other", "UTC", actor="user:bo@example.com")
        users.add_user(c, "ana@example.com", actor=ACTOR)
        assert [e["action"] for e in audit.list_entries(c, user="BO@example.com")] == ["workspace.create"]
        assert [e["action"] for e in audit.list_entries(c, user=ACTOR)] == ["user.add"]
        assert len(audit.list_entries(c, limit=1)) == 1
        with pytest.raises(InvalidParameter, match="limit"):
            audit.list_entries(c, limit=0)
        with pytest.raises(Unknown):
            users.list_tokens(c, "nobody@example.com")


def test_password_login(engine: Engine) -> None:
    with engine.begin() as c:
        users.add_user(c, "ana@example.com", actor=ACTOR, password=users.hash_password("first password"))
        users.add_user(c, "bo@example.com", actor=ACTOR)  # tokens only
        assert users.password_login(c, "ANA@example.com", "first password")["email"] == "ana@example.com"
        assert users.password_login(c, "ana@example.com", "wrong password") is None
        assert users.password_login(c, "bo@example.com", "") is None
        assert users.password_login(c, "nobody@example.com", "first password") is None
        assert users.password_login(c, "not an address", "first password") is None
        users.set_password(c, "ana@example.com", users.hash_password("second password"), actor=ACTOR)
        assert users.password_login(c, "ana@example.com", "first password") is None
        assert users.password_login(c, "ana@example.com", "second password") is not None
        users.set_disabled(c, "ana@example.com", True, actor=ACTOR)
        assert users.password_login(c, "ana@example.com", "second password") is None
        entry = audit.list_entries(c, user=ACTOR, limit=2)[1]
    assert entry["action"] == "user.password" and entry["before"] is None and entry["after"] is None


def test_workspace_of_an_id_no_column_can_hold_is_none(engine: Engine, workspace: int) -> None:
    with engine.connect() as c:
        assert access.workspace_of(c, "workspace_id", str(workspace)) == workspace
        for kind, ident in [("list_id", "2147483648"), ("broadcast_id", "99999999999"), ("workspace_id", "-1"),
                            ("public_key", "a\0b"), ("public_key", "x" * 65), ("list_id", "١٢")]:
            assert access.workspace_of(c, kind, ident) is None
