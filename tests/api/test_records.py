"""Issue 13's last subjects through a running ``mecm serve``, its admin API and the CLI: opt-outs
(listed, added, removed, the policy set; the running server honours a change at once), webhook dead
letters (listed, replayed, discarded), and searching messages and MOs (pages, CSV). An editor may
make the changes, each in the audit log; a viewer is refused them (403, nothing changed, no entry)
but may search."""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mecm.client import Client
from tests.support.peers import WebhookReceiver, webhook_receiver
from tests.support.server import Server, make_server, run_mecm
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
CLI_ACTOR = f"cli:{getpass.getuser()}"
TRICKY = 'Hola, "amigo"\nsegunda línea; 日本語 ✓'
FORMULA = "=HYPERLINK(\"http://evil.example\",\"clic\")"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, httpx.Client, Client, WebhookReceiver]]:
    """The server (its dead webhooks die at their first failure), the admin API with the admin
    token, the SDK on the demo workspace, and a webhook receiver that always answers 503."""
    with webhook_receiver({"/dead": [(503, "text/plain", "no")]}) as receiver:
        server = make_server(tmp_path_factory.mktemp("records"), outbound_allow="127.0.0.1/32",
                             outbox_max_attempts="1", outbox_retry_base_s="0.2")
        server.start()
        c = server.creds
        try:
            with server.admin_api() as http, \
                    Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api:
                yield server, http, api, receiver
        finally:
            server.stop()


@pytest.fixture(scope="module")
def tokens(site) -> dict[str, dict[str, str]]:  # noqa: ANN001
    """Headers of a viewer and an editor of the demo workspace (personal tokens of scope write)."""
    server, http, _, _ = site
    workspace = server.creds["instance_id"]
    headers = {}
    for name, role in (("vi", "viewer"), ("ed", "editor")):
        assert http.post("/users", json={"email": f"{name}@example.com"}).status_code == 201
        assert http.put(f"/workspaces/{workspace}/roles/{name}@example.com", json={"role": role}).status_code == 200
        token = http.post(f"/users/{name}@example.com/tokens", json={"scope": "write"}).json()["token"]
        headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


def _ws(server: Server) -> int:
    return server.creds["instance_id"]


def _audit(server: Server, action: str) -> list[tuple]:
    return server.query("SELECT actor, subject, workspace_id, before, after FROM audit_log WHERE action = ? "
                        "ORDER BY id", action)


def _refused_by_cli(server: Server, *args: str) -> str:
    done = run_mecm(["admin", *args, "--json"], env=server.env)
    assert done.returncode == 2, done.stdout + done.stderr
    return json.loads(done.stdout)["error"]


def _viewer_is_refused(server: Server, http: httpx.Client, viewer: dict[str, str], method: str, path: str,
                       body: object, table: str, needed: str) -> None:
    """403 naming the role needed, and nothing changed in ``table`` nor in the audit log."""
    before = (server.query(f"SELECT * FROM {table} ORDER BY 1"), server.count("audit_log"))
    answer = http.request(method, path, json=body, headers=viewer)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == f"forbidden: {needed} needs the role editor; you have the role viewer"
    assert (server.query(f"SELECT * FROM {table} ORDER BY 1"), server.count("audit_log")) == before


# -- opt-outs ------------------------------------------------------------------------------------


def test_an_editor_opts_a_number_out_and_back_in_and_the_server_honours_it_at_once(site,  # noqa: ANN001
                                                                                   tokens) -> None:  # noqa: ANN001
    server, http, api, _ = site
    ws, number, code = _ws(server), "584145550001", server.creds["code"]
    added = http.post(f"/workspaces/{ws}/opt-outs", json={"number": "+584145550001"}, headers=tokens["ed"])
    assert added.status_code == 201 and added.json() == {"instance_id": ws, "number": number, "opted_out": True,
                                                         "changed": True}
    refused = api.send_sms(number, "promo", from_=code)  # at once: no wait for a refresh
    assert (refused.status, refused.status_description) == ("NOT_SENT", "Subscriber opted out")
    again = http.post(f"/workspaces/{ws}/opt-outs", json={"number": number}, headers=tokens["ed"])
    assert again.status_code == 200 and again.json()["changed"] is False

    listed = http.get(f"/workspaces/{ws}/opt-outs", params={"number": "4145550001"}, headers=tokens["vi"])
    assert listed.status_code == 200
    (row,) = listed.json()["opt_outs"]
    assert (row["subscriber"], row["via"]) == (number, "admin") and row["opted_out_at"].endswith("-04:00")

    removed = http.delete(f"/workspaces/{ws}/opt-outs/{number}", headers=tokens["ed"])
    assert removed.status_code == 200 and removed.json()["changed"] is True
    assert api.send_sms(number, "welcome back", from_=code).status == "PENDING"
    assert [(a, s, w) for a, s, w, _, _ in _audit(server, "optout.add")] == [("user:ed@example.com",
                                                                               f"number:{number}", ws)]
    assert [r[0] for r in _audit(server, "optout.remove")] == ["user:ed@example.com"]


def test_a_viewer_may_list_opt_outs_but_not_change_them(site, tokens) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws = _ws(server)
    server.cli("admin", "optout", "add", "--workspace", str(ws), "--number", "584145550002")
    _viewer_is_refused(server, http, tokens["vi"], "POST", f"/workspaces/{ws}/opt-outs", {"number": "584145550003"},
                       "opt_outs", "opt-outs")
    _viewer_is_refused(server, http, tokens["vi"], "DELETE", f"/workspaces/{ws}/opt-outs/584145550002", None,
                       "opt_outs", "opt-outs")
    _viewer_is_refused(server, http, tokens["vi"], "PATCH", f"/workspaces/{ws}/opt-out-policy",
                       {"stop_keywords": "BAJA"}, "opt_out_settings", "opt-outs")
    assert http.get(f"/workspaces/{ws}/opt-out-policy", headers=tokens["vi"]).json()["stop_keywords"]


def test_the_opt_out_list_is_paged_and_filtered_in_the_cli_and_the_api(site) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws = str(_ws(server))
    for n in range(10, 15):
        added = server.cli("admin", "optout", "add", "--workspace", ws, "--number", f"5841666000{n}")
        assert added["changed"] is True
    assert _audit(server, "optout.add")[-1][:3] == (CLI_ACTOR, "number:584166600014", int(ws))
    first = server.cli("admin", "optout", "list", "--workspace", ws, "--number", "5841666", "--limit", "3")["opt_outs"]
    rest = server.cli("admin", "optout", "list", "--workspace", ws, "--number", "5841666", "--limit", "3",
                      "--offset", "3")["opt_outs"]
    assert [r["subscriber"] for r in first + rest] == [f"5841666000{n}" for n in range(10, 15)]
    page = http.get(f"/workspaces/{ws}/opt-outs", params={"number": "5841666", "limit": 2, "offset": 4}).json()
    assert [r["subscriber"] for r in page["opt_outs"]] == ["584166600014"]
    for params, parameter in (({"limit": "0"}, "limit"), ({"number": "abc"}, "number"), ({"colour": "x"}, "colour")):
        answer = http.get(f"/workspaces/{ws}/opt-outs", params=params)
        assert answer.status_code == 400 and answer.json()["parameter"] == parameter
    words = _refused_by_cli(server, "optout", "list", "--workspace", ws, "--number", "abc")
    assert http.get(f"/workspaces/{ws}/opt-outs", params={"number": "abc"}).json()["error"] == words


def test_the_opt_out_policy_is_set_through_the_api_and_audited(site, tokens) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws = _ws(server)
    answer = http.patch(f"/workspaces/{ws}/opt-out-policy", json={"stop_keywords": "Anular, basta ya"},
                        headers=tokens["ed"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["stop_keywords"] == ["ANULAR", "BASTA YA"]
    actor, subject, workspace, before, after = _audit(server, "optout.configure")[-1]
    assert (actor, subject, workspace) == ("user:ed@example.com", f"optout-policy:{ws}", ws)
    assert "STOP" in json.loads(before)["stop_keywords"]
    assert json.loads(after)["stop_keywords"] == ["ANULAR", "BASTA YA"]
    bad = http.patch(f"/workspaces/{ws}/opt-out-policy", json={"stop_text": " "}, headers=tokens["ed"])
    assert bad.status_code == 400 and bad.json()["parameter"] == "stop_text"
    server.cli("admin", "optout", "set", "--workspace", str(ws), "--stop-keywords", "STOP")
    assert _audit(server, "optout.configure")[-1][0] == CLI_ACTOR


# -- webhook dead letters ------------------------------------------------------------------------


def _dead_jobs(server: Server, api: Client, receiver: WebhookReceiver, count: int) -> list[dict]:
    """``count`` new dead webhook jobs of the demo workspace (a campaign's webhook answered 503)."""
    ws, code = str(_ws(server)), server.creds["code"]
    name = f"hook{server.count('campaigns')}"
    server.cli("admin", "campaign", "add", "--workspace", ws, "--code", code, "--name", name, "--keyword", name.upper(),
               "--match", "word", "--action", f"webhook:{receiver.url('/dead')}")
    server.wait_for_catalog()
    mos = {str(api.fire_message(f"58414777{n:04d}", name).id) for n in range(count)}

    def dead() -> list[dict]:
        listed = server.cli("admin", "webhook", "list", "--state", "dead", "--workspace", ws)["jobs"]
        return [j for j in listed if str(j["mo_id"]) in mos]

    return wait_until(lambda: len(jobs := dead()) == count and sorted(jobs, key=lambda j: j["id"]), timeout=30)


def test_dead_webhooks_are_listed_replayed_and_discarded_by_an_editor(site, tokens) -> None:  # noqa: ANN001
    server, http, api, receiver = site
    ws = _ws(server)
    first, second, third = _dead_jobs(server, api, receiver, 3)
    listed = http.get(f"/workspaces/{ws}/webhooks", params={"state": "dead"}, headers=tokens["vi"])
    assert listed.status_code == 200
    shown = {j["id"]: j for j in listed.json()["jobs"]}
    assert (shown[first["id"]]["attempts"], shown[first["id"]]["last_error"]) == (1, "HTTP 503")

    posts = len(receiver.on("/dead"))
    replayed = http.post(f"/workspaces/{ws}/webhooks/replay", json={"ids": [first["id"]]}, headers=tokens["ed"])
    assert replayed.status_code == 200 and replayed.json() == {"replayed": 1}
    receiver.wait_for(lambda: len(receiver.on("/dead")) == posts + 1)  # tried again (and dead again: still 503)
    wait_until(lambda: server.query("SELECT state FROM outbox WHERE id = ?", first["id"]) == [("dead",)])

    discarded = http.post(f"/workspaces/{ws}/webhooks/discard", json={"ids": [second["id"]]}, headers=tokens["ed"])
    assert discarded.status_code == 200 and discarded.json() == {"discarded": 1}
    assert server.count("outbox", "id = ?", second["id"]) == 0
    assert server.cli("admin", "webhook", "discard", "--workspace", str(ws), "--id", str(third["id"])) == \
        {"discarded": 1}
    assert [(a, s, w, json.loads(after)) for a, s, w, _, after in _audit(server, "webhook.replay")] == \
        [("user:ed@example.com", f"webhooks:workspace:{ws}", ws, {"replayed": [first["id"]]})]
    assert [(a, json.loads(after)) for a, _, _, _, after in _audit(server, "webhook.discard")] == \
        [("user:ed@example.com", {"discarded": [second["id"]]}), (CLI_ACTOR, {"discarded": [third["id"]]})]

    gone = http.post(f"/workspaces/{ws}/webhooks/discard", json={"ids": [second["id"]]}, headers=tokens["ed"])
    assert gone.status_code == 404 and gone.json()["error"] == f"no dead job {second['id']} in workspace {ws}"
    words = _refused_by_cli(server, "webhook", "replay", "--workspace", str(ws), "--id", str(second["id"]))
    assert words == gone.json()["error"]
    for body in ({}, {"ids": [1], "all": True}, {"ids": "1"}):
        answer = http.post(f"/workspaces/{ws}/webhooks/replay", json=body, headers=tokens["ed"])
        assert answer.status_code == 400 and answer.json()["parameter"] == "ids", answer.text


def test_a_viewer_may_not_replay_or_discard_dead_webhooks(site, tokens) -> None:  # noqa: ANN001
    server, http, api, receiver = site
    ws = _ws(server)
    (job,) = _dead_jobs(server, api, receiver, 1)
    for action in ("replay", "discard"):
        _viewer_is_refused(server, http, tokens["vi"], "POST", f"/workspaces/{ws}/webhooks/{action}",
                           {"all": True}, "outbox", "webhooks")
    assert server.query("SELECT state FROM outbox WHERE id = ?", job["id"]) == [("dead",)]
    dead = server.count("outbox", "workspace_id = ? AND state = 'dead'", ws)
    assert http.post(f"/workspaces/{ws}/webhooks/discard", json={"all": True}, headers=tokens["ed"]).json() == \
        {"discarded": dead}
    assert server.count("outbox", "workspace_id = ? AND state = 'dead'", ws) == 0


# -- searching messages and MOs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sent(site) -> dict:  # noqa: ANN001
    """MTs with text a CSV must quote, one a spreadsheet would run, a PIN, and MOs."""
    server, _, api, _ = site
    code = server.creds["code"]
    tricky = api.send_sms("584148880001", TRICKY, from_=code)
    formula = api.send_sms("584148880001", FORMULA, from_=code)
    plain = api.send_sms("584148880002", "nothing special", from_=code)
    pin = api.send_pin("584148880003", "Your code is {pin}", from_=code)
    mo = api.fire_message("584148880001", "hola, qué tal")
    return {"tricky": tricky.id, "formula": formula.id, "plain": plain.id, "pin": pin, "mo": mo.id}


def _rows(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text, newline="")))


def test_a_viewer_searches_messages_in_pages_newest_first(site, tokens, sent) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws = _ws(server)
    page = http.get(f"/workspaces/{ws}/messages", params={"number": "584148880001", "limit": 1}, headers=tokens["vi"])
    assert page.status_code == 200, page.text
    (newest,) = page.json()["messages"]
    assert (newest["id"], newest["text"], newest["recipient"]) == (str(sent["formula"]), FORMULA, "584148880001")
    assert newest["created_at"].endswith("-04:00")  # the demo workspace's zone, America/Caracas
    rest = http.get(f"/workspaces/{ws}/messages", params={"number": "584148880001", "before": page.json()["next"]},
                    headers=tokens["vi"]).json()
    assert [m["text"] for m in rest["messages"]] == [TRICKY] and rest["next"] is None

    mos = http.get(f"/workspaces/{ws}/mos", params={"text": "HOLA, Q", "number": "584148880001"},
                   headers=tokens["vi"]).json()["mos"]
    assert [m["id"] for m in mos] == [str(sent["mo"])]
    cli = server.cli("admin", "mo", "search", "--workspace", str(ws), "--number", "584148880001")["mos"]
    assert [m["id"] for m in cli] == [str(sent["mo"])]
    cli = server.cli("admin", "message", "search", "--workspace", str(ws), "--status", "not_sent,pending,sending,"
                     "sent_to_carrier,delivered_to_device", "--text", "special")["messages"]
    assert [m["id"] for m in cli] == [str(sent["plain"])]


def test_a_pins_pin_is_in_no_search_and_no_export(site, tokens, sent) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws, pin = _ws(server), sent["pin"]
    assert len(pin.pin) == 6
    found = http.get(f"/workspaces/{ws}/messages", params={"number": "584148880003"}, headers=tokens["vi"]).json()
    (row,) = found["messages"]
    assert row["kind"] == "pin" and row["text"] == "Your code is ******"
    exported = http.get(f"/workspaces/{ws}/messages", params={"format": "csv"}, headers=tokens["vi"]).text
    cli = run_mecm(["admin", "message", "search", "--workspace", str(ws), "--csv", "-"], env=server.env).stdout
    for text in (json.dumps(found), exported, cli):
        assert pin.pin not in text
    assert http.get(f"/workspaces/{ws}/messages", params={"text": pin.pin}).json()["messages"] == []


def test_the_csv_export_parses_back_to_what_was_sent(site, tokens, sent, tmp_path: Path) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws = _ws(server)
    answer = http.get(f"/workspaces/{ws}/messages", params={"number": "584148880001"},
                      headers={**tokens["vi"], "Accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert "content-length" not in answer.headers  # streamed as it is read, not built whole first
    rows = _rows(answer.text)
    assert [(r["id"], r["text"]) for r in rows] == [(str(sent["formula"]), "'" + FORMULA),
                                                    (str(sent["tricky"]), TRICKY)]
    assert rows[1]["created_at"].endswith("-04:00") and rows[1]["sender"] == server.creds["code"]

    out = tmp_path / "mos.csv"
    written = server.cli("admin", "mo", "search", "--workspace", str(ws), "--csv", str(out))
    assert written["exported"] >= 1
    mos = _rows(out.read_text(encoding="utf-8"))
    assert {(r["id"], r["text"], r["sender"]) for r in mos} >= {(str(sent["mo"]), "hola, qué tal", "584148880001")}
    by_api = _rows(http.get(f"/workspaces/{ws}/mos", params={"format": "csv"}).text)
    assert by_api == mos


def test_messages_and_mos_are_searched_by_carrier(site, tokens, sent) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws, carrier = _ws(server), server.creds["carrier"]
    params = {"number": "584148880001", "carrier": carrier}
    found = http.get(f"/workspaces/{ws}/messages", params=params, headers=tokens["vi"]).json()["messages"]
    assert {m["id"] for m in found} == {str(sent["tricky"]), str(sent["formula"])}
    assert http.get(f"/workspaces/{ws}/messages", params={**params, "carrier": "elsewhere"},
                    headers=tokens["vi"]).json()["messages"] == []
    cli = server.cli("admin", "mo", "search", "--workspace", str(ws), "--number", "584148880001", "--carrier", "elsewhere")
    assert cli["mos"] == []


@pytest.mark.parametrize(("params", "parameter"), [
    ({"since": "last tuesday"}, "since"),
    ({"since": "2026-05-02", "until": "2026-05-01"}, "until"),
    ({"status": "LOST"}, "status"),
    ({"limit": "5000"}, "limit"),
    ({"campaign": "promo"}, "campaign"),
    ({"format": "xml"}, "format"),
    ({"format": "csv", "limit": "5"}, "limit"),
    ({"colour": "red"}, "colour"),
    ({"carrier": "c" * 101}, "carrier"),
])
def test_a_bad_filter_is_refused_naming_it(site, params: dict, parameter: str) -> None:  # noqa: ANN001
    server, http, _, _ = site
    answer = http.get(f"/workspaces/{_ws(server)}/messages", params=params)
    assert answer.status_code == 400 and answer.json()["parameter"] == parameter, answer.text


def test_the_cli_refuses_a_bad_filter_in_the_apis_words(site) -> None:  # noqa: ANN001
    server, http, _, _ = site
    ws = str(_ws(server))
    for option, value in (("--since", "last tuesday"), ("--status", "LOST"), ("--limit", "0")):
        words = _refused_by_cli(server, "message", "search", "--workspace", ws, option, value)
        answer = http.get(f"/workspaces/{ws}/messages", params={option[2:]: value})
        assert answer.json()["error"] == words
    assert _refused_by_cli(server, "mo", "search", "--workspace", "999") == "no workspace 999"
    assert http.get("/workspaces/999/mos").status_code == 404
