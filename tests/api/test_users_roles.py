"""Users, roles, personal tokens and the audit log through a running ``mecm serve`` and the CLI:
a role that may not make a change gets 403 naming the role needed, and nothing changes and nothing
is audited; one that may gets it done with an audit entry holding before and after; an expired or
revoked token, or a disabled user's, gets 401."""

from __future__ import annotations

import getpass
import json
import subprocess

import httpx
import pytest

from tests.support.server import make_server, run_mecm
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    server = make_server(tmp_path_factory.mktemp("users"))
    admin_token = server.cli("admin", "token")["admin_token"]
    server.start()
    try:
        with httpx.Client(base_url=server.url + "/admin/api", timeout=30) as http:
            yield server, http, admin_token
    finally:
        server.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _audit_rows(server, action: str) -> list[tuple]:  # noqa: ANN001
    return server.query("SELECT actor, subject, workspace_id, before, after FROM audit_log WHERE action = ? "
                        "ORDER BY id", action)


@pytest.fixture(scope="module")
def people(site):  # noqa: ANN001, ANN201
    """The first deployment administrator, made with the single admin token; then, with their
    personal token, a viewer and an admin of the demo workspace, each with a token of scope write."""
    server, http, admin_token = site
    workspace = server.creds["instance_id"]
    first = http.post("/users", json={"email": "root@example.com", "deployment_admin": True},
                      headers=_bearer(admin_token))
    assert first.status_code == 201, first.text
    root = http.post("/users/root@example.com/tokens", json={"scope": "write", "expires_in": "1d"},
                     headers=_bearer(admin_token)).json()["token"]
    tokens = {"root": root}
    for name, role in (("vi", "viewer"), ("ad", "admin")):
        assert http.post("/users", json={"email": f"{name}@example.com"}, headers=_bearer(root)).status_code == 201
        assert http.put(f"/workspaces/{workspace}/roles/{name}@example.com", json={"role": role},
                        headers=_bearer(root)).json()["role"] == role
        made = http.post(f"/users/{name}@example.com/tokens", json={"scope": "write"}, headers=_bearer(root))
        assert made.status_code == 201 and made.json()["token"].startswith("mecm_")
        tokens[name] = made.json()["token"]
    return workspace, tokens


def test_the_first_administrator_is_made_with_the_admin_token_and_audited(site, people) -> None:  # noqa: ANN001
    server, _, _ = site
    # (the demo's console login, made by the CLI's demo before the server started, is not theirs)
    actor, subject, _, before, after = _audit_rows(server, "user.add")[1]
    assert (actor, subject, before) == ("admin-token", "user:root@example.com", None)
    assert json.loads(after)["deployment_admin"] is True
    assert [row[0] for row in _audit_rows(server, "role.set") if row[1] != "user:demo@example.com"] == \
        ["user:root@example.com"] * 2
    # the tokens are nowhere in the database or the log
    _, tokens = people
    for token in tokens.values():
        assert server.count("audit_log", "after LIKE ?", f"%{token}%") == 0
        assert server.count("user_tokens", "token_hash = ?", token) == 0
        assert token not in (server.home / "server.log").read_text()


def test_a_viewer_cannot_create_a_key_nothing_changes_nothing_is_audited(site, people) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace, tokens = people
    keys, entries = server.count("api_keys"), server.count("audit_log")
    refused = http.post(f"/workspaces/{workspace}/keys", json={"expires_in": "30d"}, headers=_bearer(tokens["vi"]))
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden: keys needs the role admin; you have the role viewer"
    assert (server.count("api_keys"), server.count("audit_log")) == (keys, entries)
    # but a viewer reads
    listed = http.get(f"/workspaces/{workspace}/keys", headers=_bearer(tokens["vi"]))
    assert listed.status_code == 200 and len(listed.json()["keys"]) == keys


def test_an_admin_creates_and_revokes_a_key_with_audit_entries(site, people) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace, tokens = people
    made = http.post(f"/workspaces/{workspace}/keys", json={"expires_in": "30d"}, headers=_bearer(tokens["ad"]))
    assert made.status_code == 201, made.text
    pair = made.json()
    actor, subject, ws, before, after = _audit_rows(server, "key.create")[-1]
    assert (actor, subject, ws, before) == ("user:ad@example.com", f"key:{pair['public_key']}", workspace, None)
    assert json.loads(after)["public_key"] == pair["public_key"] and "private_key" not in json.loads(after)
    assert pair["private_key"] not in after

    revoked = http.post(f"/keys/{pair['public_key']}/revoke", headers=_bearer(tokens["ad"]))
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    actor, subject, ws, before, after = _audit_rows(server, "key.revoke")[-1]
    assert (actor, ws, json.loads(before)["revoked"], json.loads(after)["revoked"]) == \
        ("user:ad@example.com", workspace, False, True)

    shown = http.get("/audit", params={"workspace": workspace, "limit": 2}, headers=_bearer(tokens["ad"])).json()
    assert [e["action"] for e in shown["entries"]] == ["key.revoke", "key.create"]
    assert shown["entries"][0]["at"].endswith("+00:00")


def test_roles_limit_what_each_may_see_and_do(site, people) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace, tokens = people
    other = http.post("/workspaces", json={"name": "other"}, headers=_bearer(tokens["root"]))
    assert other.status_code == 201
    assert _audit_rows(server, "workspace.create")[-1][:2] == ("user:root@example.com",
                                                               f"workspace:{other.json()['instance_id']}")
    seen = [w["instance_id"] for w in http.get("/workspaces", headers=_bearer(tokens["ad"])).json()["workspaces"]]
    assert seen == [workspace]
    for method, path, body, needed in [
        ("POST", "/workspaces", {"name": "mine"}, "needs a deployment administrator"),
        ("GET", f"/workspaces/{other.json()['instance_id']}/campaigns", None, "you have no role on this workspace"),
        ("PUT", f"/workspaces/{workspace}/roles/vi@example.com", {"role": "owner"}, "users needs the role owner"),
        ("GET", "/audit", None, "accounts needs a deployment administrator"),
        ("GET", "/users", None, "needs a deployment administrator"),
    ]:
        entries = server.count("audit_log")
        answer = http.request(method, path, json=body, headers=_bearer(tokens["ad"]))
        assert answer.status_code == 403 and needed in answer.json()["error"], (path, answer.text)
        assert server.count("audit_log") == entries
    assert server.count("workspaces", "name = 'mine'") == 0
    assert http.get("/audit", params={"workspace": workspace}, headers=_bearer(tokens["vi"])).status_code == 403
    assert http.get(f"/workspaces/{workspace}/roles", headers=_bearer(tokens["ad"])).status_code == 403


def test_an_owner_manages_the_users_of_their_workspace_only(site, people) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace, tokens = people
    root = _bearer(tokens["root"])
    http.post("/users", json={"email": "ow@example.com"}, headers=root)
    http.put(f"/workspaces/{workspace}/roles/ow@example.com", json={"role": "owner"}, headers=root)
    owner = _bearer(http.post("/users/ow@example.com/tokens", json={"scope": "write"}, headers=root).json()["token"])
    shown = http.put(f"/workspaces/{workspace}/roles/vi@example.com", json={"role": "editor"}, headers=owner)
    assert shown.status_code == 200 and shown.json()["role"] == "editor"
    roles = {r["email"]: r["role"] for r in http.get(f"/workspaces/{workspace}/roles", headers=owner).json()["roles"]}
    assert roles["vi@example.com"] == "editor" and roles["ow@example.com"] == "owner"
    actor, _, ws, before, after = _audit_rows(server, "role.set")[-1]
    assert (actor, ws, json.loads(before), json.loads(after)) == \
        ("user:ow@example.com", workspace, {"role": "viewer"}, {"role": "editor"})
    http.put(f"/workspaces/{workspace}/roles/vi@example.com", json={"role": "viewer"}, headers=owner)
    # not the accounts themselves, nor another workspace
    assert http.post("/users", json={"email": "new@example.com"}, headers=owner).status_code == 403
    assert http.put("/workspaces/9999/roles/vi@example.com", json={"role": "owner"}, headers=owner).status_code == 403


def test_a_read_token_reads_but_changes_nothing(site, people) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace, tokens = people
    read = http.post("/users/ad@example.com/tokens", json={"scope": "read"}, headers=_bearer(tokens["root"]))
    token = read.json()["token"]
    assert http.get(f"/workspaces/{workspace}/lists", headers=_bearer(token)).status_code == 200
    refused = http.post(f"/workspaces/{workspace}/lists", json={"name": "nope"}, headers=_bearer(token))
    assert refused.status_code == 403 and "scope write" in refused.json()["error"]
    assert server.count("lists", "name = 'nope'") == 0


def test_a_deployment_administrators_read_token_changes_no_code_however_it_is_spelt(site, people) -> None:  # noqa: ANN001
    """The scope is checked whatever the path's id names: "+code" reaches the same code as "code"."""
    server, http, _ = site
    _, tokens = people
    read = http.post("/users/root@example.com/tokens", json={"scope": "read"}, headers=_bearer(tokens["root"]))
    token = read.json()["token"]
    code = server.creds["code"]
    for spelt in (code, f"%2B{code}", "999999999"):
        refused = http.post(f"/codes/{spelt}/default", headers=_bearer(token))
        assert refused.status_code == 403 and "scope write" in refused.json()["error"], (spelt, refused.text)
        refused = http.delete(f"/codes/{spelt}", headers=_bearer(token))
        assert refused.status_code == 403, (spelt, refused.text)
    assert server.count("codes", "code = ?", code) == 1


def test_expired_revoked_and_disabled_users_tokens_are_refused(site, people) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace, tokens = people
    root = _bearer(tokens["root"])
    short = http.post("/users/vi@example.com/tokens", json={"scope": "read", "expires_in": "1s"}, headers=root)
    assert short.status_code == 201
    wait_until(lambda: http.get("/workspaces", headers=_bearer(short.json()["token"])).status_code == 401)

    revoked = http.post("/users/vi@example.com/tokens", json={"scope": "read"}, headers=root).json()
    assert http.get("/workspaces", headers=_bearer(revoked["token"])).status_code == 200
    assert http.post(f"/tokens/{revoked['id']}/revoke", headers=root).json()["usable"] is False
    refused = http.get("/workspaces", headers=_bearer(revoked["token"]))
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    before, after = _audit_rows(server, "token.revoke")[-1][3:]
    assert json.loads(before)["usable"] is True and json.loads(after)["usable"] is False

    server.cli("admin", "user", "disable", "--email", "vi@example.com")
    assert http.get("/workspaces", headers=_bearer(tokens["vi"])).status_code == 401
    server.cli("admin", "user", "disable", "--email", "vi@example.com", "--enable")
    assert http.get(f"/workspaces/{workspace}/keys", headers=_bearer(tokens["vi"])).status_code == 200


def test_the_cli_manages_users_and_tokens_and_is_audited_as_the_os_user(site) -> None:  # noqa: ANN001
    server, http, _ = site
    workspace = server.creds["instance_id"]
    me = f"cli:{getpass.getuser()}"
    added = server.cli("admin", "user", "add", "--email", "Cli@Example.com")
    assert added["email"] == "cli@example.com" and added["roles"] == {}
    assert server.cli("admin", "user", "set-role", "--email", "cli@example.com", "--workspace", str(workspace),
                      "--role", "editor")["role"] == "editor"
    made = server.cli("admin", "token", "create", "--email", "cli@example.com", "--scope", "write")
    listed = server.cli("admin", "token", "list", "--email", "cli@example.com")["tokens"]
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    created = http.post(f"/workspaces/{workspace}/lists", json={"name": "by-cli-user"}, headers=_bearer(made["token"]))
    assert created.status_code == 201
    assert server.cli("admin", "user", "remove-role", "--email", "cli@example.com",
                      "--workspace", str(workspace))["role"] is None
    assert http.get(f"/workspaces/{workspace}/lists", headers=_bearer(made["token"])).status_code == 403
    server.cli("admin", "token", "revoke", "--id", str(made["id"]))
    entries = server.cli("admin", "audit", "list", "--user", me, "--limit", "4")["entries"]
    assert [e["action"] for e in entries] == ["token.revoke", "role.remove", "token.create", "role.set"]
    assert server.cli("admin", "audit", "list", "--workspace", str(workspace), "--limit", "1")["entries"][0][
        "action"] == "role.remove"
    assert server.cli("admin", "user", "list")["users"][-1]["email"] == "cli@example.com"
    # the single admin token is still printed by `mecm admin token` alone
    assert server.cli("admin", "token")["admin_token"]


def test_a_password_is_read_from_standard_input_never_printed_and_stored_as_argon2id(site) -> None:  # noqa: ANN001
    server, _, _ = site
    server.cli("admin", "user", "add", "--email", "pw@example.com")

    def password(secret: str) -> subprocess.CompletedProcess:
        return run_mecm(["admin", "user", "password", "--email", "pw@example.com", "--password-stdin"],
                              input=secret + "\n", env=server.env)

    short = password("short")
    assert short.returncode == 2 and "password: too short: at least 12 characters" in short.stderr
    assert server.query("SELECT password_hash FROM users WHERE email = 'pw@example.com'")[0][0] is None
    done = password("a long secret phrase")
    assert done.returncode == 0 and "a long secret phrase" not in done.stdout + done.stderr
    stored = server.query("SELECT password_hash FROM users WHERE email = 'pw@example.com'")[0][0]
    assert stored.startswith("$argon2id$") and "a long secret phrase" not in stored
    assert server.count("audit_log", "action = 'user.password' AND after IS NULL") == 1
