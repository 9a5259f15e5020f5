"""The console through a running ``mecm serve``: every page for every role (allowed pages render,
others answer 403), the CSRF check on every form, the sign-in throttle and lock-out, the session
cookie's flags, signing out here and everywhere. The browser's view is tests/browser/."""

from __future__ import annotations

from collections.abc import Iterator
import re
import time

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from mecm.domain.totp import code_at
from tests.support.console import ConsoleClient, PASSWORD, ROLES, add_people, signed_in
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

NO_ROLE = "stranger"
ADMIN = "admin"
ROOT = "root"
# name -> role on the demo workspace
PEOPLE: dict[str, str | None] = {**{role: role for role in ROLES}, NO_ROLE: None, ROOT: None,
                                 "locked": "viewer", "twice": "viewer", "twofa": "viewer", "twofa-off": "viewer"}

# Each page of the demo workspace, and who may see it (domain/roles.py: the audit log needs admin).
SEES_ALL = {"admin", "owner", ROOT}
PAGES = {
    "/w/{w}": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}?part=live": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/messages": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/inbox": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/campaigns": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/campaigns/new": {"editor"} | SEES_ALL,
    "/w/{w}/lists": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/broadcasts": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/broadcasts?part=live": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/keys": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/carriers": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/webhooks": {"viewer", "editor"} | SEES_ALL,
    "/w/{w}/audit": SEES_ALL,
    "/w/{w}/people": {"owner", ROOT},
    "/w/{w}/settings": {"viewer", "editor"} | SEES_ALL,
    "/accounts": {ROOT},  # deployment-level: no workspace's role suffices (console/accounts.py)
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("console"))
    add_people(srv, PEOPLE, deployment_admins=(ROOT,))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def clients(server: Server) -> Iterator[dict[str, ConsoleClient]]:
    with signed_in(server, (*ROLES, NO_ROLE, ROOT)) as clients:
        yield clients


@pytest.mark.parametrize("name", [*ROLES, NO_ROLE, ROOT])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_for_every_role(server: Server, clients: dict[str, ConsoleClient], page: str,
                                   name: str) -> None:
    answer = clients[name].http.get(page.format(w=server.creds["instance_id"]))
    if name in PAGES[page]:
        assert answer.status_code == 200, answer.text[:300]
        assert "<h1>" in answer.text or "part=live" in page
    else:
        assert answer.status_code == 403
        assert "needs the role" in answer.text or "needs a deployment administrator" in answer.text


def test_the_workspace_list_shows_only_the_workspaces_one_has_a_role_on(clients: dict[str, ConsoleClient]) -> None:
    assert 'href="/w/1"' in clients["viewer"].http.get("/").text
    assert 'href="/w/1"' in clients[ROOT].http.get("/").text
    stranger = clients[NO_ROLE].http.get("/")
    assert stranger.status_code == 200 and "/w/1/" not in stranger.text and "no role on any workspace" in stranger.text


def test_pages_without_a_session_lead_to_the_sign_in(server: Server) -> None:
    client = ConsoleClient(server)
    try:
        for page in ("/", *(p.format(w=1) for p in PAGES)):
            answer = client.http.get(page)
            assert answer.status_code == 303 and answer.headers["location"] == "/sign-in", page
    finally:
        client.close()


def _key_state(server: Server, public_key: str) -> tuple:
    return server.query("SELECT revoked_at_ms IS NOT NULL FROM api_keys WHERE public_key = ?", public_key)[0]


def _new_key(server: Server) -> str:
    return server.cli("admin", "key", "create", "--workspace", str(server.creds["instance_id"]))["public_key"]


@pytest.mark.parametrize("name", ["viewer", "editor", NO_ROLE])
def test_a_role_that_may_not_revoke_sees_no_button_and_its_post_is_refused(
        server: Server, clients: dict[str, ConsoleClient], name: str) -> None:
    key = _new_key(server)
    client = clients[name]
    page = client.http.get("/w/1/keys")
    assert "Revoke</button>" not in page.text
    answer = client.post(f"/w/1/keys/{key}/revoke")
    assert answer.status_code == 403
    assert _key_state(server, key) == (0,)
    assert server.count("audit_log", "action = 'key.revoke' AND subject = ?", f"key:{key}") == 0


def test_an_admin_revokes_a_key_and_the_audit_log_names_them(server: Server,
                                                             clients: dict[str, ConsoleClient]) -> None:
    key = _new_key(server)
    admin = clients["admin"]
    assert f"/w/1/keys/{key}/revoke" in admin.http.get("/w/1/keys").text
    answer = admin.post(f"/w/1/keys/{key}/revoke", token_from="/w/1/keys")
    assert answer.status_code == 303
    assert _key_state(server, key) == (1,)
    assert server.query("SELECT actor FROM audit_log WHERE action = 'key.revoke' AND subject = ?",
                        f"key:{key}") == [("user:admin@example.com",)]


def test_a_key_of_another_workspace_cannot_be_revoked_through_this_ones_page(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    other = server.cli("admin", "workspace", "create", "--name", "other")["instance_id"]
    key = server.cli("admin", "key", "create", "--workspace", str(other))["public_key"]
    answer = clients["admin"].post(f"/w/1/keys/{key}/revoke")
    assert answer.status_code == 404
    assert _key_state(server, key) == (0,)


def test_try_a_message_shows_the_campaign_and_its_reply_and_stores_nothing(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    before = (server.count("messages"), server.count("mo_messages"))
    code = server.creds["code"]
    page = clients["viewer"].http.get("/w/1/campaigns", params={"code": code, "text": "ogangi, hello"})
    assert "Answered by <strong>welcome</strong>" in page.text
    assert "Thanks for writing to OGANGI! Reply STOP to opt out." in page.text
    stop = clients["viewer"].http.get("/w/1/campaigns", params={"code": code, "text": "STOP"})
    assert "Answered by <strong>the STOP words</strong>" in stop.text
    nothing = clients["viewer"].http.get("/w/1/campaigns", params={"code": code, "text": "just saying hi"})
    assert "No campaign answers this message" in nothing.text
    other = clients["viewer"].http.get("/w/1/campaigns", params={"code": "999", "text": "ogangi"})
    assert "Invalid parameter code: &#39;999&#39; is not one of this workspace&#39;s codes" in other.text
    assert (server.count("messages"), server.count("mo_messages")) == before


def _campaign(server: Server) -> tuple[int, int]:
    return server.query("SELECT id, is_active FROM campaigns WHERE name = 'welcome'")[0]


def test_an_editor_pauses_and_resumes_a_campaign_a_viewer_may_not(server: Server,
                                                                  clients: dict[str, ConsoleClient]) -> None:
    campaign_id, _ = _campaign(server)
    assert "/pause" not in clients["viewer"].http.get("/w/1/campaigns").text
    assert clients["viewer"].post(f"/w/1/campaigns/{campaign_id}/pause").status_code == 403
    assert _campaign(server) == (campaign_id, 1)
    editor = clients["editor"]
    assert f"/w/1/campaigns/{campaign_id}/pause" in editor.http.get("/w/1/campaigns").text
    assert editor.post(f"/w/1/campaigns/{campaign_id}/pause").status_code == 303
    assert _campaign(server) == (campaign_id, 0)
    page = editor.http.get("/w/1/campaigns", params={"code": server.creds["code"], "text": "ogangi"})
    assert "No campaign answers this message" in page.text  # paused: the catalog knew at once
    assert editor.post(f"/w/1/campaigns/{campaign_id}/resume").status_code == 303
    assert _campaign(server) == (campaign_id, 1)
    assert [r[0] for r in server.query("SELECT actor FROM audit_log WHERE subject = ? AND action IN "
                                       "('campaign.pause', 'campaign.resume') ORDER BY id",
                                       f"campaign:{campaign_id}")] == ["user:editor@example.com"] * 2


def _upload(client: ConsoleClient, list_id: int, content: bytes):  # noqa: ANN202 - an httpx.Response
    token = client.csrf_of("/w/1/lists")
    return client.http.post(f"/w/1/lists/{list_id}/import", data={"csrf_token": token},
                            files={"csv": ("members.csv", content, "text/csv")})


def test_an_editor_makes_a_list_and_imports_a_csv_a_bad_line_is_named_and_nothing_half_imported(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    editor = clients["editor"]
    assert editor.post("/w/1/lists", {"name": "vip"}, token_from="/w/1/lists").status_code == 303
    (list_id,) = server.query("SELECT id FROM lists WHERE name = 'vip'")[0]
    good = _upload(editor, list_id, b"number,first_name\n+58 414 555 0001,Ana\n584145550002,Luis\n")
    assert good.status_code == 200 and "Imported 2 numbers: 2 new, 0 updated" in good.text
    bad = _upload(editor, list_id, b"number\n584145550003\nnot a number\n584145550004\n")
    assert bad.status_code == 400 and "line 3" in bad.text
    assert server.count("list_members", "list_id = ?", list_id) == 2  # the bad file added nothing
    assert _upload(clients["viewer"], list_id, b"number\n584145550005\n").status_code == 403
    assert server.count("list_members", "list_id = ?", list_id) == 2
    assert 'type="file"' not in clients["viewer"].http.get("/w/1/lists").text


def test_an_editor_sends_a_broadcast_and_its_progress_reaches_100(server: Server,
                                                                  clients: dict[str, ConsoleClient]) -> None:
    editor = clients["editor"]
    assert editor.post("/w/1/lists", {"name": "news"}, token_from="/w/1/lists").status_code == 303
    (list_id,) = server.query("SELECT id FROM lists WHERE name = 'news'")[0]
    members = "".join(f"5841455510{i:02d}\n" for i in range(20))
    assert _upload(editor, list_id, f"number\n{members}".encode()).status_code == 200
    assert clients["viewer"].post("/w/1/broadcasts", {"list": str(list_id), "code": server.creds["code"],
                                                      "text": "Sale today"}, token_from="/w/1/broadcasts"
                                  ).status_code == 403
    made = editor.post("/w/1/broadcasts", {"name": "sale", "list": str(list_id), "code": server.creds["code"],
                                           "text": "Sale today"}, token_from="/w/1/broadcasts")
    assert made.status_code == 303
    wait_until(lambda: 'value="100"' in editor.http.get("/w/1/broadcasts?part=live").text, timeout=60)
    live = editor.http.get("/w/1/broadcasts?part=live").text
    assert "state-done" in live
    assert server.count("messages", "broadcast_id IS NOT NULL AND text = 'Sale today'") == 20
    refused = editor.post("/w/1/broadcasts", {"list": str(list_id), "code": "999", "text": "x"},
                          token_from="/w/1/broadcasts")
    assert refused.status_code == 400 and "is not one of this workspace" in refused.text


def test_an_owner_gives_and_takes_roles_an_admin_may_not_and_only_a_deployment_admin_makes_accounts(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    owner, admin, root = clients["owner"], clients[ADMIN], clients[ROOT]
    assert admin.post("/w/1/people", {"email": "stranger@example.com", "role": "viewer"},
                      token_from="/w/1/keys").status_code == 403
    assert owner.post("/w/1/people", {"email": "stranger@example.com", "role": "editor"},
                      token_from="/w/1/people").status_code == 303
    assert clients[NO_ROLE].http.get("/w/1/messages").status_code == 200  # the role counts at once
    assert "stranger@example.com" in owner.http.get("/w/1/people").text
    assert owner.post("/w/1/people/remove", {"email": "stranger@example.com"},
                      token_from="/w/1/people").status_code == 303
    assert clients[NO_ROLE].http.get("/w/1/messages").status_code == 403
    made = owner.post("/w/1/people", {"email": "new@example.com", "role": "viewer", "password": PASSWORD},
                      token_from="/w/1/people")
    assert made.status_code == 403 and server.count("users", "email = 'new@example.com'") == 0
    assert root.post("/w/1/people", {"email": "new@example.com", "role": "viewer", "password": PASSWORD},
                     token_from="/w/1/people").status_code == 303
    newcomer = ConsoleClient(server)
    try:
        assert newcomer.sign_in("new").status_code == 303
        assert newcomer.http.get("/w/1/messages").status_code == 200
    finally:
        newcomer.close()
    unknown = owner.post("/w/1/people", {"email": "nobody@example.com", "role": "viewer"}, token_from="/w/1/people")
    assert unknown.status_code == 400 and "nobody@example.com" in unknown.text


def test_the_messages_and_inbox_export_every_match_as_csv_to_those_who_may_read(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    c = server.creds
    sent = httpx.get(server.url + server.signed_path(
        "sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64("584145550009"), b64("to export")]), timeout=30)
    assert sent.headers["x-mecm-status"] == "OK"
    viewer = clients["viewer"]
    for kind, table in (("messages", "messages"), ("mos", "mo_messages")):
        answer = viewer.http.get(f"/w/1/export/{kind}.csv")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        header, *rows = answer.text.strip().splitlines()
        assert header.startswith("id,")
        assert len(rows) == server.count(table, "workspace_id = 1")
        assert clients[NO_ROLE].http.get(f"/w/1/export/{kind}.csv").status_code == 403
    bad = viewer.http.get("/w/1/export/messages.csv", params={"status": "SOMETIMES"})
    assert bad.status_code == 400 and "status" in bad.text
    assert 'href="/w/1/export/messages.csv?' in viewer.http.get("/w/1/messages").text


@pytest.mark.parametrize("token", [None, "", "forged-token-of-another-page"])
def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
        server: Server, clients: dict[str, ConsoleClient], token: str | None) -> None:
    key = _new_key(server)
    data = {} if token is None else {"csrf_token": token}
    answer = clients["admin"].http.post(f"/w/1/keys/{key}/revoke", data=data)
    assert answer.status_code == 403
    assert "did not come from this console" in answer.text
    assert _key_state(server, key) == (0,)


def test_a_sign_in_posted_without_the_forms_own_token_is_refused(server: Server) -> None:
    client = ConsoleClient(server)
    try:
        answer = client.http.post("/sign-in", data={"email": "viewer@example.com", "password": PASSWORD})
        assert answer.status_code == 403
        assert "mecm_session" not in answer.headers.get("set-cookie", "")
    finally:
        client.close()


def _flags(answer, name: str) -> set[str]:  # noqa: ANN001 - an httpx.Response
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}="))
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_the_session_cookie_is_http_only_same_site_and_secure_behind_tls(server: Server) -> None:
    for headers, secure in (({}, False), ({"X-Forwarded-Proto": "https"}, True)):
        client = ConsoleClient(server, **headers)
        try:
            form = client.http.get("/sign-in")
            assert ("secure" in _flags(form, "mecm_sign_in")) is secure
            token = form.cookies["mecm_sign_in"]
            # sent back by hand: a client keeps a Secure cookie for https only, and this is http
            answer = client.http.post("/sign-in", headers={"Cookie": f"mecm_sign_in={token}"}, data={
                "csrf_token": token, "email": "viewer@example.com", "password": PASSWORD})
            assert answer.status_code == 303
            flags = _flags(answer, "mecm_session")
            assert "httponly" in flags and "samesite=strict" in flags
            assert ("secure" in flags) is secure
        finally:
            client.close()


def test_pages_forbid_inline_scripts_and_framing(clients: dict[str, ConsoleClient]) -> None:
    answer = clients["viewer"].http.get("/w/1/messages")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert "<script>" not in answer.text and " on" + "click=" not in answer.text


def test_wrong_passwords_until_lock_out_and_then_even_the_right_one_is_refused(server: Server) -> None:
    client = ConsoleClient(server)
    try:
        for _ in range(5):
            wrong = client.sign_in("locked", "not the password at all")
            assert wrong.status_code == 401 and "Wrong e-mail address or password" in wrong.text
        refused = client.sign_in("locked", PASSWORD)
        assert refused.status_code == 429 and "locked for 15 more minutes" in refused.text
        assert "mecm_session" not in refused.headers.get("set-cookie", "")
        # an address nobody has is throttled alike: the answers do not tell who has an account
        assert client.sign_in("nobody", "whatever it is").status_code == 401
    finally:
        client.close()
    assert PASSWORD not in (server.home / "server.log").read_text()


def test_sign_out_ends_the_session_and_sign_out_everywhere_ends_them_all(server: Server) -> None:
    here, there, third = ConsoleClient(server), ConsoleClient(server), ConsoleClient(server)
    try:
        for client in (here, there, third):
            assert client.sign_in("twice").status_code == 303
        assert here.post("/sign-out").status_code == 303
        assert here.http.get("/").status_code == 303  # signed out: to the sign-in page
        assert there.http.get("/").status_code == 200  # another browser's session stands
        assert there.post("/sign-out-everywhere").status_code == 303
        assert third.http.get("/").headers.get("location") == "/sign-in"
        assert server.count("console_sessions", "user_id = (SELECT id FROM users WHERE email = 'twice@example.com')") == 0
    finally:
        for client in (here, there, third):
            client.close()


def _key_on(page_text: str) -> str:
    found = re.search(r'name="secret" value="([A-Z2-7]+)"', page_text)
    assert found, "no key on the two-factor page"
    return found.group(1)


def _set_up_two_factor(client: ConsoleClient, name: str) -> tuple[str, int]:
    """Sign ``name`` in and turn two-factor sign-in on; its key, and the step its first code used."""
    assert client.sign_in(name).status_code == 303
    secret = _key_on(client.http.get("/two-factor").text)
    wrong = client.post("/two-factor", {"secret": secret, "code": "000000"}, token_from="/two-factor")
    assert wrong.status_code == 400 and "not the code for this key" in wrong.text
    step = int(time.time()) // 30
    on = client.post("/two-factor", {"secret": secret, "code": code_at(secret, step)}, token_from="/two-factor")
    assert on.status_code == 303
    return secret, step


def test_two_factor_sign_in_needs_a_code_not_used_before(server: Server) -> None:
    client = ConsoleClient(server)
    try:
        secret, step = _set_up_two_factor(client, "twofa")
        (stored,) = server.query("SELECT totp_secret FROM users WHERE email = 'twofa@example.com'")[0]
        assert stored and secret not in stored  # encrypted at rest
        assert client.post("/sign-out").status_code == 303
        without = client.sign_in("twofa")
        assert without.status_code == 401 and "two-factor code too" in without.text

        def with_code(code: str):  # noqa: ANN202 - an httpx.Response
            token = client.csrf_of("/sign-in")
            return client.http.post("/sign-in", data={"csrf_token": token, "email": "twofa@example.com",
                                                      "password": PASSWORD, "code": code})

        replayed = with_code(code_at(secret, step))  # the set-up's own code
        assert replayed.status_code == 401 and "used already" in replayed.text
        # the next step's code is taken at once: a step either side of the clock's is
        assert with_code(code_at(secret, step + 1)).status_code == 303
        assert "Turn two-factor sign-in off" in client.http.get("/").text
    finally:
        client.close()


def test_two_factor_sign_in_is_turned_off_only_with_a_current_code(server: Server) -> None:
    client = ConsoleClient(server)
    try:
        secret, step = _set_up_two_factor(client, "twofa-off")
        assert client.post("/two-factor/off", {"code": "123456"}).status_code == 400
        assert client.post("/two-factor/off", {"code": code_at(secret, step)}).status_code == 400  # used
        assert client.post("/two-factor/off", {"code": code_at(secret, step + 1)}).status_code == 303
        assert server.query("SELECT totp_secret FROM users WHERE email = 'twofa-off@example.com'") == [(None,)]
    finally:
        client.close()
