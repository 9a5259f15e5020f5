"""The console's editing pages through a running ``mecm serve``: a campaign created and edited with
the form (every option), checked for collisions before it is saved; a message's own page; the
workspace's settings. Who may see each page is in test_console.py's table."""

from __future__ import annotations

from collections.abc import Iterator
import json
import re

import httpx
import pytest

from mecm.domain.b64 import encode as b64

from tests.support.console import ConsoleClient, add_people, signed_in
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

PEOPLE = {"viewer": "viewer", "editor": "editor", "admin": "admin", "root": None}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("console-editing"))
    add_people(srv, PEOPLE, deployment_admins=("root",))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def clients(server: Server) -> Iterator[dict[str, ConsoleClient]]:
    with signed_in(server, PEOPLE) as clients:
        yield clients


def _form(server: Server, **changes: object) -> dict[str, object]:
    """A campaign's form as a person fills it in, every option set."""
    return {"name": "vip club", "match": "word", "keyword": "VIP", "priority": "50",
            "codes": [server.creds["code"]], "reply": "Welcome to the club, {{from}}!",
            "actions": "subscribe:vip", "starts": "2026-01-01T08:00", "ends": "2036-01-01T08:00",
            "quiet_hours": "23:00-06:00", "cap": "3", "cap_window_s": "600", "case_sensitive": "on", **changes}


def _campaign(server: Server, name: str) -> dict[str, object] | None:
    rows = server.query("SELECT id, keyword, match_mode, priority, reply, quiet_hours, cap_count, cap_window_s, "
                        "case_sensitive, actions, starts_at_ms, ends_at_ms FROM campaigns WHERE name = ?", name)
    if not rows:
        return None
    keys = ("id", "keyword", "match_mode", "priority", "reply", "quiet_hours", "cap_count", "cap_window_s",
            "case_sensitive", "actions", "starts_at_ms", "ends_at_ms")
    return dict(zip(keys, rows[0]))


def _make_list(server: Server, name: str) -> None:
    if not server.count("lists", "name = ?", name):
        server.cli("admin", "list", "create", "--workspace", str(server.creds["instance_id"]), "--name", name)


def test_an_editor_creates_a_campaign_with_every_option_and_an_mo_gets_its_reply(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    _make_list(server, "vip")
    editor = clients["editor"]
    assert 'href="/w/1/campaigns/new"' in editor.http.get("/w/1/campaigns").text
    answer = editor.post("/w/1/campaigns/new", _form(server), token_from="/w/1/campaigns/new")
    assert answer.status_code == 303, answer.text[:500]
    stored = _campaign(server, "vip club")
    assert stored is not None
    assert (stored["keyword"], stored["match_mode"], stored["priority"], stored["quiet_hours"], stored["cap_count"],
            stored["cap_window_s"], bool(stored["case_sensitive"])) == ("VIP", "word", 50, "23:00-06:00", 3, 600, True)
    assert [a["type"] for a in json.loads(stored["actions"])] == ["subscribe"]
    assert stored["starts_at_ms"] is not None and stored["ends_at_ms"] > stored["starts_at_ms"]
    assert server.query("SELECT actor FROM audit_log WHERE action = 'campaign.create' AND subject = ?",
                        f"campaign:{stored['id']}") == [("user:editor@example.com",)]
    # The "try a message" box, which reads the API's own catalog, knows it at once.
    tried = editor.http.get("/w/1/campaigns", params={"code": server.creds["code"], "text": "VIP please"})
    assert "Answered by <strong>vip club</strong>" in tried.text


def test_check_shows_a_collision_before_saving_and_save_refuses_it_keeping_the_form(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    editor = clients["editor"]
    before = server.count("campaigns")
    # The demo's campaign "welcome" answers ^OGANGI (a regex, priority 10) on the demo code.
    clash = _form(server, name="copycat", match="prefix", keyword="OGANGI", priority="10", actions="",
                  case_sensitive="")
    checked = editor.post("/w/1/campaigns/new", {**clash, "check": "1"}, token_from="/w/1/campaigns/new")
    assert checked.status_code == 400
    assert "collides with active campaign &#39;welcome&#39;" in checked.text
    saved = editor.post("/w/1/campaigns/new", clash, token_from="/w/1/campaigns/new")
    assert saved.status_code == 400 and "collides with active campaign" in saved.text
    assert 'value="copycat"' in saved.text  # what was typed stays in the form
    assert server.count("campaigns") == before
    # Another priority sets which answers first: the check says so, and still nothing is stored.
    fine = editor.post("/w/1/campaigns/new", {**clash, "priority": "90", "check": "1"},
                       token_from="/w/1/campaigns/new")
    assert fine.status_code == 200 and "ready to save" in fine.text
    assert server.count("campaigns") == before


@pytest.mark.parametrize(("changes", "named"), [
    ({"cap": "many"}, "cap"), ({"priority": "1e9"}, "priority"), ({"cap_window_s": "0"}, "cap_window_s"),
    ({"quiet_hours": "late"}, "quiet"), ({"match": "regex", "keyword": "("}, "keyword"),
    ({"actions": "shout:loud"}, "actions"), ({"codes": []}, "codes"), ({"ends": "2025-01-01T08:00"}, "ends"),
    ({"name": "  "}, "name"), ({"match": "sometimes"}, "match"),
])
def test_a_wrong_option_is_refused_naming_it_and_nothing_is_stored(
        server: Server, clients: dict[str, ConsoleClient], changes: dict[str, object], named: str) -> None:
    before = server.count("campaigns")
    answer = clients["editor"].post("/w/1/campaigns/new", _form(server, **{"name": "wrong", **changes}),
                                    token_from="/w/1/campaigns/new")
    assert answer.status_code == 400
    assert f"Invalid parameter {named}" in answer.text
    assert server.count("campaigns") == before


def test_an_editor_edits_a_campaign_and_an_emptied_option_is_cleared(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    _make_list(server, "vip")
    editor = clients["editor"]
    created = editor.post("/w/1/campaigns/new", _form(server, name="to edit", keyword="EDITME"),
                          token_from="/w/1/campaigns/new")
    assert created.status_code == 303, created.text[:500]
    campaign_id = _campaign(server, "to edit")["id"]
    form_page = editor.http.get(f"/w/1/campaigns/{campaign_id}/edit")
    assert form_page.status_code == 200 and 'value="EDITME"' in form_page.text and 'value="23:00-06:00"' in form_page.text
    answer = editor.post(f"/w/1/campaigns/{campaign_id}/edit",
                         _form(server, name="to edit", keyword="EDITED", quiet_hours="", actions=""),
                         token_from=f"/w/1/campaigns/{campaign_id}/edit")
    assert answer.status_code == 303, answer.text[:500]
    stored = _campaign(server, "to edit")
    assert (stored["keyword"], stored["quiet_hours"], stored["actions"]) == ("EDITED", None, None)
    assert server.count("audit_log", "action = 'campaign.edit' AND subject = ?", f"campaign:{campaign_id}") == 1


def test_a_viewer_has_no_form_and_a_forged_post_is_refused(server: Server, clients: dict[str, ConsoleClient]) -> None:
    viewer = clients["viewer"]
    assert "/campaigns/new" not in viewer.http.get("/w/1/campaigns").text
    assert viewer.http.get("/w/1/campaigns/new").status_code == 403
    before = server.count("campaigns")
    assert viewer.post("/w/1/campaigns/new", _form(server, name="forged"), token_from="/w/1/campaigns").status_code == 403
    welcome = _campaign(server, "welcome")["id"]
    assert viewer.post(f"/w/1/campaigns/{welcome}/edit", _form(server, name="forged")).status_code == 403
    assert server.count("campaigns") == before and _campaign(server, "forged") is None


def test_a_campaign_of_another_workspace_cannot_be_edited_here(server: Server, clients: dict[str, ConsoleClient]) -> None:
    other = server.cli("admin", "workspace", "create", "--name", "elsewhere")["instance_id"]
    server.cli("admin", "code", "add", "--workspace", str(other), "--code", "77001")
    server.cli("admin", "campaign", "add", "--workspace", str(other), "--code", "77001", "--name", "theirs",
               "--keyword", "THEIRS", "--reply", "hello")
    theirs = _campaign(server, "theirs")["id"]
    assert clients["editor"].http.get(f"/w/1/campaigns/{theirs}/edit").status_code == 404
    answer = clients["editor"].post(f"/w/1/campaigns/{theirs}/edit", _form(server, name="theirs", keyword="MINE"))
    assert answer.status_code == 404
    assert _campaign(server, "theirs")["keyword"] == "THEIRS"


# -- a message's own page ----------------------------------------------------------------------------


def _send(server: Server, text: str, to: str = "584145551234") -> int:
    c = server.creds
    path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64(to), b64(text)])
    answer = httpx.get(server.url + path, timeout=30)
    assert answer.headers["x-mecm-status"] == "OK", answer.text
    return int(server.query("SELECT id FROM messages WHERE recipient = ? ORDER BY id DESC", to)[0][0])


def test_a_message_page_shows_its_timeline_carrier_id_segments_and_status(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    long_text = "A message long enough for two segments. " * 5
    message_id = _send(server, long_text)
    wait_until(lambda: server.count("messages", "id = ? AND status = 'DELIVERED_TO_DEVICE'", message_id), timeout=60)
    carrier_id, segments = server.query("SELECT carrier_message_id, segments FROM messages WHERE id = ?", message_id)[0]
    assert segments == 2
    listed = clients["viewer"].http.get("/w/1/messages", params={"number": "584145551234"})
    assert f'href="/w/1/messages/{message_id}"' in listed.text
    page = clients["viewer"].http.get(f"/w/1/messages/{message_id}")
    assert page.status_code == 200
    text = page.text
    assert "DELIVERED_TO_DEVICE" in text and f"{segments} (" in text and server.creds["carrier"] in text
    timeline = text[text.index('class="timeline"'):]
    assert timeline.index("Accepted (sms, 2 segments)") < timeline.index("Handed to carrier") < timeline.index(
        "DELIVERED_TO_DEVICE")
    if carrier_id:  # a one-id submit; a long message's parts each have their own id, shown part by part
        assert carrier_id in text
    else:
        parts = server.query("SELECT carrier_message_id FROM message_parts WHERE message_id = ?", message_id)
        assert parts and all(f"carrier id {part}" in timeline for (part,) in parts)


def test_messages_are_searched_by_carrier_and_campaign_in_the_console(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    _send(server, "Through the demo carrier", to="584145559999")
    viewer = clients["viewer"].http
    found = viewer.get("/w/1/messages", params={"number": "584145559999", "carrier": server.creds["carrier"]})
    assert "Through the demo carrier" in found.text
    other = viewer.get("/w/1/messages", params={"number": "584145559999", "carrier": "elsewhere"})
    assert "Through the demo carrier" not in other.text and "No message matches" in other.text
    welcome = _campaign(server, "welcome")["id"]
    assert viewer.get("/w/1/messages", params={"campaign": str(welcome), "number": "584145559999"}).text.count(
        "Through the demo carrier") == 0


def test_a_message_of_another_workspace_or_none_at_all_is_not_found(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    message_id = _send(server, "Mine only")
    other = server.cli("admin", "workspace", "create", "--name", "someone else")["instance_id"]
    server.cli("admin", "user", "set-role", "--email", "viewer@example.com", "--workspace", str(other),
               "--role", "viewer")
    assert clients["viewer"].http.get(f"/w/{other}/messages/{message_id}").status_code == 404
    for bad in ("1" * 20, "9223372036854775808", "12a", "1"):
        assert clients["viewer"].http.get(f"/w/1/messages/{bad}").status_code == 404, bad


# -- the workspace's settings --------------------------------------------------------------------------


def _workspace(server: Server) -> tuple:
    return server.query("SELECT name, timezone, status_callback_url, pin_in_response FROM workspaces WHERE id = 1")[0]


def test_an_admin_changes_the_time_zone_and_a_wrong_one_is_refused_naming_it(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    admin = clients["admin"]
    name = _workspace(server)[0]
    form = {"name": name, "timezone": "Europe/Madrid", "default_carrier": server.creds["carrier"]}
    assert admin.post("/w/1/settings/workspace", form, token_from="/w/1/settings").status_code == 303
    assert _workspace(server)[1] == "Europe/Madrid"
    assert server.count("audit_log", "action = 'workspace.edit' AND actor = 'user:admin@example.com'") == 1
    refused = admin.post("/w/1/settings/workspace", {**form, "timezone": "Mars/Olympus"}, token_from="/w/1/settings")
    assert refused.status_code == 400 and "Invalid parameter timezone" in refused.text
    assert _workspace(server)[1] == "Europe/Madrid"
    admin.post("/w/1/settings/workspace", {**form, "timezone": "America/Caracas"}, token_from="/w/1/settings")
    assert _workspace(server)[1] == "America/Caracas"


def test_a_status_callback_to_a_loopback_address_is_refused_before_any_connection(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    refused = clients["admin"].post("/w/1/settings/callback", {"url": "http://127.0.0.1:9/status"},
                                    token_from="/w/1/settings")
    assert refused.status_code == 400 and "Invalid parameter url" in refused.text
    assert _workspace(server)[2] is None


def test_an_editor_sets_the_opt_out_words_and_an_mo_with_one_opts_the_subscriber_out(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    editor = clients["editor"]
    form = {"stop_keywords": "BASTA, STOP", "start_keywords": "START", "help_keywords": "HELP, AYUDA",
            "stop_text": "Listo: no recibirás más mensajes."}
    assert editor.post("/w/1/settings/opt-out", form, token_from="/w/1/settings").status_code == 303
    page = clients["viewer"].http.get("/w/1/settings").text
    assert 'value="BASTA, STOP"' in page and "Listo: no recibirás más mensajes." in page
    c = server.creds
    path = server.signed_path("fireMessage", [str(c["instance_id"]), "584125553333", b64("basta")], tools=False)
    assert httpx.get(server.url + path, timeout=30).headers["x-mecm-status"] == "OK"
    wait_until(lambda: server.count("opt_outs", "subscriber = '584125553333'") == 1, timeout=30)
    same_word_twice = editor.post("/w/1/settings/opt-out", {**form, "help_keywords": "BASTA"}, token_from="/w/1/settings")
    assert same_word_twice.status_code == 400 and "BASTA" in same_word_twice.text.upper()
    assert 'value="BASTA, STOP"' in clients["viewer"].http.get("/w/1/settings").text


def test_an_admin_sets_and_clears_a_rate_limit_and_a_bad_one_is_refused(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    admin = clients["admin"]
    assert admin.post("/w/1/settings/limit", {"class": "sends", "rate": "50", "burst": "100"},
                      token_from="/w/1/settings").status_code == 303
    assert server.query("SELECT rate_per_s, burst FROM rate_limits WHERE workspace_id = 1 AND class = 'sends'") == [
        (50.0, 100)]
    refused = admin.post("/w/1/settings/limit", {"class": "sends", "rate": "fast", "burst": "100"},
                         token_from="/w/1/settings")
    assert refused.status_code == 400 and "Invalid parameter rate" in refused.text
    assert admin.post("/w/1/settings/limit-clear", {"class": "sends"}, token_from="/w/1/settings").status_code == 303
    assert server.count("rate_limits", "workspace_id = 1") == 0


def test_credit_is_shown_to_an_admin_and_changed_by_a_deployment_administrator_only(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    admin, root = clients["admin"], clients["root"]
    assert 'action="/w/1/settings/top-up"' not in admin.http.get("/w/1/settings").text
    assert admin.post("/w/1/settings/top-up", {"amount": "10"}, token_from="/w/1/settings").status_code == 403
    assert server.count("credit_ledger") == 0
    assert root.post("/w/1/settings/top-up", {"amount": "25.50", "currency": "USD", "reason": "first"},
                     token_from="/w/1/settings").status_code == 303
    assert root.post("/w/1/settings/price", {"carrier": "*", "prefix": "58", "per_segment": "0.01"},
                     token_from="/w/1/settings").status_code == 303
    bad = root.post("/w/1/settings/price", {"carrier": "*", "prefix": "58x", "per_segment": "0.01"},
                    token_from="/w/1/settings")
    assert bad.status_code == 400 and "Invalid parameter prefix" in bad.text
    page = admin.http.get("/w/1/settings").text
    assert "25.50 USD" in page and "0.01" in page and "first" in page
    assert clients["viewer"].http.get("/w/1/settings").text.count("Balance") == 0  # credit is for admins
    root.post("/w/1/settings/price", {"carrier": "*", "prefix": "58", "per_segment": "0"}, token_from="/w/1/settings")


def test_a_viewer_sees_the_settings_without_a_form_and_a_forged_post_is_refused(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    viewer = clients["viewer"]
    page = viewer.http.get("/w/1/settings")
    assert page.status_code == 200 and "America/Caracas" in page.text
    assert ">Save</button>" not in page.text
    before = _workspace(server)
    for form in ("workspace", "callback", "opt-out", "limit", "pin-guard", "threshold"):
        assert viewer.post(f"/w/1/settings/{form}", {"name": "forged", "timezone": "UTC"}).status_code == 403, form
    assert _workspace(server) == before


# -- lists: a file's preview, a list's own page -----------------------------------------------------------


def _list_id(server: Server, name: str) -> int:
    _make_list(server, name)
    return int(server.query("SELECT id FROM lists WHERE name = ?", name)[0][0])


def _upload(client: ConsoleClient, path: str, content: str, **headers: str) -> httpx.Response:
    token = client.csrf_of("/w/1/lists")
    return client.http.post(path, data={"csrf_token": token}, files={"csv": ("members.csv", content.encode())},
                            headers=headers)


def test_a_preview_names_every_bad_line_and_shows_the_first_members_writing_nothing(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    list_id = _list_id(server, "preview me")
    content = ("number,first_name\n" + "".join(f"58414{5700000 + i},N{i}\n" for i in range(30))
               + "oops,Bad\n584145700001,Twice\n0,Zero\n")
    fragment = _upload(clients["editor"], f"/w/1/lists/{list_id}/preview", content, **{"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "33 lines: 30 numbers to import (1 given twice" in fragment.text
    assert "line 32:" in fragment.text and "line 34:" in fragment.text and "2 bad lines" in fragment.text
    assert fragment.text.count("<tr><td class=\"mono\">") == 10  # the first ten members
    assert "Twice" in fragment.text  # the last line of a number given twice is the one kept
    whole = _upload(clients["editor"], f"/w/1/lists/{list_id}/preview", content)
    assert whole.status_code == 200 and "<html" in whole.text and "line 32:" in whole.text
    assert server.count("list_members", "list_id = ?", list_id) == 0
    good = _upload(clients["editor"], f"/w/1/lists/{list_id}/preview", "number\n584145700100\n",
                   **{"HX-Request": "true"})
    assert "Every line is good" in good.text
    assert clients["viewer"].http.post(f"/w/1/lists/{list_id}/preview", data={"csrf_token": "x"},
                                       files={"csv": ("m.csv", b"number\n")}).status_code == 403


def test_a_lists_page_shows_its_members_with_their_opt_outs_and_is_renamed_and_emptied(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    list_id = _list_id(server, "members page")
    editor = clients["editor"]
    assert _upload(editor, f"/w/1/lists/{list_id}/import", "number,city\n584145800001,Caracas\n584145800002,Coro\n"
                   ).status_code == 200
    server.cli("admin", "optout", "add", "--workspace", "1", "--number", "584145800002")
    page = clients["viewer"].http.get(f"/w/1/lists/{list_id}")
    assert page.status_code == 200 and "2 members" in page.text and "Caracas" in page.text
    row = page.text[page.text.index("584145800002"):]
    assert "opted out" in row[:row.index("</tr>")]
    assert "Rename</button>" not in page.text  # a viewer has no control
    for page in ("two", "0"):  # refused naming the page, and the list shown from its first page
        wrong = clients["viewer"].http.get(f"/w/1/lists/{list_id}", params={"page": page})
        assert wrong.status_code == 400 and "Invalid parameter page" in wrong.text and "Caracas" in wrong.text
    found = clients["viewer"].http.get(f"/w/1/lists/{list_id}", params={"number": "800001"})
    assert "584145800001" in found.text and "584145800002" not in found.text
    base = f"/w/1/lists/{list_id}"
    assert editor.post(f"{base}/add", {"number": "+58 414 580 0003"}, token_from=base).status_code == 303
    assert editor.post(f"{base}/remove", {"number": "584145800001"}, token_from=base).status_code == 303
    assert sorted(n for (n,) in server.query("SELECT subscriber FROM list_members WHERE list_id = ?", list_id)) == [
        "584145800002", "584145800003"]
    bad = editor.post(f"{base}/add", {"number": "call me"}, token_from=base)
    assert bad.status_code == 400 and "Invalid parameter number" in bad.text
    assert editor.post(f"{base}/rename", {"name": "renamed"}, token_from=base).status_code == 303
    assert server.query("SELECT name FROM lists WHERE id = ?", list_id) == [("renamed",)]
    assert clients["viewer"].post(f"{base}/delete", token_from=base).status_code == 403
    assert editor.post(f"{base}/delete", token_from=base).status_code == 303
    assert server.count("lists", "id = ?", list_id) == 0 and server.count("list_members", "list_id = ?", list_id) == 0
    assert clients["viewer"].http.get(base).status_code == 404


# -- keys ----------------------------------------------------------------------------------------------


def test_an_admin_creates_a_key_sees_its_private_key_once_and_the_api_takes_it(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    admin = clients["admin"]
    answer = admin.post("/w/1/keys", {"expires_in": "30d"}, token_from="/w/1/keys")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    public, private = re.findall(r'<dd class="mono">([^<]+)</dd>', answer.text)[:2]
    assert server.count("audit_log", "action = 'key.create' AND subject = ?", f"key:{public}") == 1
    assert private not in admin.http.get("/w/1/keys").text  # shown once
    c = server.creds
    path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64("584145550077"),
                                          b64("Signed with a key made in the console")],
                              creds={"instance_id": c["instance_id"], "public_key": public, "private_key": private})
    assert httpx.get(server.url + path, timeout=30).headers["x-mecm-status"] == "OK"
    bad = admin.post("/w/1/keys", {"expires_in": "soon"}, token_from="/w/1/keys")
    assert bad.status_code == 400 and "Invalid parameter" in bad.text
    before = server.count("api_keys")
    assert clients["editor"].post("/w/1/keys", {"expires_in": ""}, token_from="/w/1/keys").status_code == 403
    assert server.count("api_keys") == before


def test_a_search_by_number_alone_finds_the_messages_sent_to_that_number(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    _send(server, "Looked up by number", to="584145556666")
    _send(server, "Sent to another number", to="584145556667")
    found = clients["viewer"].http.get("/w/1/messages", params={"number": "+58 414-555-6666"})
    assert "Looked up by number" in found.text and "Sent to another number" not in found.text
    assert 'name="since" value=""' in found.text  # no time range filled in for the user
