"""The console's accounts page (``/accounts``, deployment administrators only) and the two-factor
set-up's QR code, through a running ``mecm serve``: adding an account who then signs in, disabling
one (its open session ends, and it cannot sign in), setting a password, the refusals (role, CSRF
token, a bad field), each change in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
import re

import pytest

from mecm.console.signing import qr_svg
from mecm.domain.totp import provisioning_uri
from tests.support.console import ConsoleClient, PASSWORD, add_people, signed_in
from tests.support.server import Server, make_server

ROOT = "root"  # a deployment administrator
OWNER = "owner"  # owns the demo workspace, but is no deployment administrator
PEOPLE: dict[str, str | None] = {ROOT: None, OWNER: "owner", "leaver": "viewer", "forgetful": "viewer",
                                 "bystander": "viewer", "scanner": "viewer"}
NEW_PASSWORD = "another horse, another staple"
USER_CHANGES = "action IN ('user.add', 'user.password', 'user.disable', 'user.enable', 'console.sessions_ended')"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("console-accounts"))
    add_people(srv, PEOPLE, deployment_admins=(ROOT,))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def clients(server: Server) -> Iterator[dict[str, ConsoleClient]]:
    with signed_in(server, (ROOT, OWNER)) as clients:
        yield clients


def _audited(server: Server, action: str, name: str) -> list[tuple]:
    return server.query("SELECT actor FROM audit_log WHERE action = ? AND subject = ? ORDER BY id",
                        action, f"user:{name}@example.com")


def _sessions_of(server: Server, name: str) -> int:
    return server.count("console_sessions", "user_id = (SELECT id FROM users WHERE email = ?)", f"{name}@example.com")


def test_a_deployment_admin_sees_every_account_and_the_links_to_the_page(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    root = clients[ROOT]
    page = root.http.get("/accounts")
    assert page.status_code == 200 and "<h1>Accounts</h1>" in page.text
    for name in PEOPLE:
        assert f"{name}@example.com" in page.text
    (workspace,) = server.query("SELECT name FROM workspaces WHERE id = ?", server.creds["instance_id"])[0]
    assert re.search(rf"<td>owner@example.com</td>\s*<td>{re.escape(workspace)}: owner</td>", page.text)
    row = re.search(r"<tr>\s*<td>root@example.com.*?</tr>", page.text, re.S).group(0)
    assert "deployment administrator" in row and "never" not in row  # root signed in: when shows
    assert re.search(r"<tr>\s*<td>bystander@example.com.*?never.*?</tr>", page.text, re.S)
    assert 'href="/accounts" aria-current="page"' in page.text  # the top bar's link
    assert 'href="/accounts"' in root.http.get("/").text  # and the workspaces page's
    owner_home = clients[OWNER].http.get("/").text
    assert 'href="/accounts"' not in owner_home
    assert 'href="/accounts"' not in clients[OWNER].http.get("/w/1/people").text


def test_an_account_added_on_the_page_signs_in(server: Server, clients: dict[str, ConsoleClient]) -> None:
    answer = clients[ROOT].post("/accounts", {"email": "Newcomer@Example.com", "password": PASSWORD},
                                token_from="/accounts")
    assert answer.status_code == 303 and answer.headers["location"] == "/accounts"
    assert "newcomer@example.com" in clients[ROOT].http.get("/accounts").text
    assert _audited(server, "user.add", "newcomer") == [("user:root@example.com",)]
    newcomer = ConsoleClient(server)
    try:
        assert newcomer.sign_in("newcomer").status_code == 303
        assert newcomer.http.get("/").status_code == 200
        assert newcomer.http.get("/accounts").status_code == 403  # an account, not an administrator
    finally:
        newcomer.close()
    assert PASSWORD not in (server.home / "server.log").read_text()


def test_a_disabled_account_loses_its_session_and_cannot_sign_in_until_enabled(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    leaver = ConsoleClient(server)
    try:
        assert leaver.sign_in("leaver").status_code == 303
        assert leaver.http.get("/w/1/messages").status_code == 200
        assert clients[ROOT].post("/accounts/disable", {"email": "leaver@example.com"},
                                  token_from="/accounts").status_code == 303
        assert leaver.http.get("/w/1/messages").headers.get("location") == "/sign-in"
        assert _sessions_of(server, "leaver") == 0  # ended, not only refused: enabling brings none back
        assert leaver.sign_in("leaver").status_code == 401
        assert _audited(server, "user.disable", "leaver") == [("user:root@example.com",)]
        assert _audited(server, "console.sessions_ended", "leaver") == [("user:root@example.com",)]
        assert re.search(r"<td>leaver@example.com <span class=\"tag\">disabled</span>",
                         clients[ROOT].http.get("/accounts").text)
        assert clients[ROOT].post("/accounts/enable", {"email": "leaver@example.com"},
                                  token_from="/accounts").status_code == 303
        assert _audited(server, "user.enable", "leaver") == [("user:root@example.com",)]
        assert leaver.sign_in("leaver").status_code == 303
    finally:
        leaver.close()


def test_a_new_password_replaces_the_old_and_ends_the_accounts_sessions(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    forgetful = ConsoleClient(server)
    try:
        assert forgetful.sign_in("forgetful").status_code == 303
        assert clients[ROOT].post("/accounts/password", {"email": "forgetful@example.com", "password": NEW_PASSWORD},
                                  token_from="/accounts").status_code == 303
        assert forgetful.http.get("/").headers.get("location") == "/sign-in"
        assert forgetful.sign_in("forgetful").status_code == 401  # the old password
        assert forgetful.sign_in("forgetful", NEW_PASSWORD).status_code == 303
        assert _audited(server, "user.password", "forgetful") == [("user:root@example.com",)]
    finally:
        forgetful.close()
    log = (server.home / "server.log").read_text()
    assert NEW_PASSWORD not in log
    entries = str(server.query("SELECT before, after FROM audit_log WHERE action = 'user.password'"))
    assert "argon2" not in entries and NEW_PASSWORD not in entries


@pytest.mark.parametrize(("path", "data"), [
    ("/accounts", {"email": "sneaky@example.com", "password": PASSWORD}),
    ("/accounts/disable", {"email": "bystander@example.com"}),
    ("/accounts/password", {"email": "bystander@example.com", "password": "taken over by the owner"}),
])
def test_a_workspace_owner_is_refused_the_page_and_its_forms(
        server: Server, clients: dict[str, ConsoleClient], path: str, data: dict[str, str]) -> None:
    owner = clients[OWNER]
    page = owner.http.get("/accounts")
    assert page.status_code == 403 and "needs a deployment administrator" in page.text
    before = server.query("SELECT email, password_hash, disabled_at_ms FROM users ORDER BY id")
    answer = owner.post(path, data, token_from="/")  # the owner's own, valid, CSRF token
    assert answer.status_code == 403 and "needs a deployment administrator" in answer.text
    assert server.query("SELECT email, password_hash, disabled_at_ms FROM users ORDER BY id") == before
    assert server.count("audit_log", f"actor = 'user:owner@example.com' AND {USER_CHANGES}") == 0


@pytest.mark.parametrize("token", [None, "", "forged-token-of-another-page"])
def test_a_post_without_the_sessions_csrf_token_is_refused_and_adds_nothing(
        server: Server, clients: dict[str, ConsoleClient], token: str | None) -> None:
    data = {"email": "forged@example.com", "password": PASSWORD} | ({} if token is None else {"csrf_token": token})
    answer = clients[ROOT].http.post("/accounts", data=data)
    assert answer.status_code == 403 and "did not come from this console" in answer.text
    disable = {"email": "bystander@example.com"} | ({} if token is None else {"csrf_token": token})
    assert clients[ROOT].http.post("/accounts/disable", data=disable).status_code == 403
    assert server.count("users", "email = 'forged@example.com'") == 0
    assert server.query("SELECT disabled_at_ms FROM users WHERE email = 'bystander@example.com'") == [(None,)]


@pytest.mark.parametrize(("path", "data", "named"), [
    ("/accounts", {"email": "not an address", "password": PASSWORD}, "Invalid parameter email"),
    ("/accounts", {"email": "empty@example.com", "password": ""}, "Invalid parameter password"),
    ("/accounts", {"email": "short@example.com", "password": "short"}, "Invalid parameter password"),
    ("/accounts", {"email": "owner@example.com", "password": PASSWORD}, "exists already"),
    ("/accounts/password", {"email": "bystander@example.com", "password": ""}, "Invalid parameter password"),
    ("/accounts/password", {"email": "nobody@example.com", "password": PASSWORD}, "no user nobody@example.com"),
    ("/accounts/disable", {"email": "root@example.com"}, "you cannot disable your own account"),
    ("/accounts/disable", {"email": ""}, "Invalid parameter email"),
])
def test_a_bad_field_is_named_with_400_and_nothing_is_written(
        server: Server, clients: dict[str, ConsoleClient], path: str, data: dict[str, str], named: str) -> None:
    users_before = server.query("SELECT email, password_hash, disabled_at_ms FROM users ORDER BY id")
    audit_before = server.count("audit_log", USER_CHANGES)
    answer = clients[ROOT].post(path, data, token_from="/accounts")
    assert answer.status_code == 400 and named in answer.text.replace("&#39;", "'")
    assert 'role="alert"' in answer.text and "<h1>Accounts</h1>" in answer.text
    assert server.query("SELECT email, password_hash, disabled_at_ms FROM users ORDER BY id") == users_before
    assert server.count("audit_log", USER_CHANGES) == audit_before
    assert clients[ROOT].http.get("/").status_code == 200  # root's own session stands


def test_the_two_factor_page_shows_the_key_as_a_qr_code_and_as_text(server: Server) -> None:
    scanner = ConsoleClient(server)
    try:
        assert scanner.sign_in("scanner").status_code == 303
        page = scanner.http.get("/two-factor")
        assert page.status_code == 200
        secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
        assert f'aria-label="Key">{secret}</p>' in page.text  # for typing in
        expected = provisioning_uri(secret, "scanner@example.com")
        assert "issuer=mecm" in expected and "mecm%3Ascanner%40example.com" in expected
        assert str(qr_svg(expected)) in page.text  # the QR code of exactly this address
        assert page.text.count("<svg") == 1 and "style=" not in page.text and "<style" not in page.text
        policy = page.headers["content-security-policy"]
        assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    finally:
        scanner.close()
    assert secret not in (server.home / "server.log").read_text()


def _is_deployment_admin(server: Server, email: str) -> bool:
    return bool(server.query("SELECT deployment_admin FROM users WHERE email = ?", email)[0][0])


def test_a_deployment_admin_makes_another_and_the_last_one_cannot_be_taken_away(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    root = clients[ROOT]
    made = root.post("/accounts/deployment-admin", {"email": "bystander@example.com", "admin": "1"},
                     token_from="/accounts")
    assert made.status_code == 303 and _is_deployment_admin(server, "bystander@example.com")
    bystander = ConsoleClient(server)
    try:
        assert bystander.sign_in("bystander").status_code == 303
        assert bystander.http.get("/accounts").status_code == 200
        for email in ("bystander@example.com", "demo@example.com"):
            taken = root.post("/accounts/deployment-admin", {"email": email, "admin": "0"}, token_from="/accounts")
            assert taken.status_code == 303 and not _is_deployment_admin(server, email)
        assert bystander.http.get("/accounts").status_code == 403  # at its next request
        last = root.post("/accounts/deployment-admin", {"email": f"{ROOT}@example.com", "admin": "0"},
                         token_from="/accounts")
        assert last.status_code == 400 and "last deployment administrator" in last.text
        assert _is_deployment_admin(server, f"{ROOT}@example.com")
        assert len(_audited(server, "user.deployment_admin", "bystander")) == 2
        assert clients[OWNER].post("/accounts/deployment-admin", {"email": f"{OWNER}@example.com", "admin": "1"},
                                   token_from="/").status_code == 403
        assert not _is_deployment_admin(server, f"{OWNER}@example.com")
    finally:
        bystander.close()
        root.post("/accounts/deployment-admin", {"email": "demo@example.com", "admin": "1"}, token_from="/accounts")
