"""The console's operations pages through a running ``mecm serve``: the workspace's codes; the carriers
with their live bind status (an SMPP carrier bound to a real ``mecm smsc-sim`` on 127.0.0.1) and their
settings, edited by a deployment administrator; the webhooks' dead letters (a local HTTP server that
answers 500, then 200), replayed and discarded by an editor. Who may see each page is in
test_console.py's table too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from mecm.client import Client
from mecm.console.operations import live_state
from tests.support.console import ConsoleClient, add_people, signed_in
from tests.support.peers import WebhookReceiver, webhook_receiver
from tests.support.server import Server, make_server
from tests.support.smsc import SmscSim, smsc_sim
from tests.support.waiting import wait_until

PEOPLE: dict[str, str | None] = {"viewer": "viewer", "editor": "editor", "admin": "admin", "root": None}
CARRIER = "smscsim"  # an SMPP carrier bound to the SMSC simulator
SIM_PASSWORD = "Zq7pW3x"
HOOK = "/hook"
FAILING = [(500, "text/plain", "down for maintenance")]
EDIT = f"/w/1/carriers/{CARRIER}/edit"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmscSim]:
    with smsc_sim(tmp_path_factory.mktemp("smsc"), password=SIM_PASSWORD) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver({HOOK: list(FAILING)}) as peer:
        yield peer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sim: SmscSim, receiver: WebhookReceiver) -> Iterator[Server]:
    """The demo workspace, an SMPP carrier on the simulator, and a campaign whose webhook goes to
    ``receiver`` (a job dies at its first failure)."""
    srv = make_server(tmp_path_factory.mktemp("console-operations"), outbound_allow="127.0.0.1/32",
                      outbox_max_attempts="1", outbox_retry_base_s="0.2")
    add_people(srv, PEOPLE, deployment_admins=("root",))
    srv.cli("admin", "carrier", "add", "--name", CARRIER, "--connector", "smpp", "--host", "127.0.0.1",
            "--port", str(sim.port), "--system-id", sim.system_id, "--password", SIM_PASSWORD, "--window", "10")
    srv.cli("admin", "campaign", "add", "--workspace", "1", "--code", srv.creds["code"], "--name", "hook",
            "--keyword", "HOOK", "--match", "word", "--action", f"webhook:{receiver.url(HOOK)}")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def clients(server: Server) -> Iterator[dict[str, ConsoleClient]]:
    with signed_in(server, PEOPLE) as clients:
        yield clients


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[Client]:
    c = server.creds
    with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as client:
        yield client


class _FormReader(HTMLParser):
    """The fields of a page's forms as a browser would send them (no password typed)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        name = given.get("name")
        if tag == "input" and name and given.get("type") not in ("hidden", "password"):
            if given.get("type") != "checkbox":
                self.values[name] = given.get("value") or ""
            elif "checked" in given:
                self.values[name] = "on"
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in given:
            self.values[self._select] = given.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _carrier_form(client: ConsoleClient) -> dict[str, str]:
    page = client.http.get(EDIT)
    assert page.status_code == 200, page.text[:300]
    reader = _FormReader()
    reader.feed(page.text)
    return reader.values


def _settings(server: Server) -> dict:
    return json.loads(server.query("SELECT settings FROM carriers WHERE name = ?", CARRIER)[0][0])


def _row_of(page: str, name: str) -> str:
    return next((row for row in page.split("<tr>") if f"{name} <span" in row), "")


def _dead_jobs(server: Server, api: Client, count: int) -> list[int]:
    """``count`` new dead jobs of the demo workspace: the campaign's webhook answered 500."""
    first = server.count("mo_messages")
    mos = {str(api.fire_message(f"58414777{first + n:04d}", "HOOK").id) for n in range(count)}

    def dead() -> list[int]:
        rows = server.query("SELECT id, mo_id FROM outbox WHERE state = 'dead'")
        return sorted(job for job, mo in rows if str(mo) in mos)

    return wait_until(lambda: len(jobs := dead()) == count and jobs, timeout=30)


def _state_of(server: Server, job: int) -> str | None:
    rows = server.query("SELECT state FROM outbox WHERE id = ?", job)
    return rows[0][0] if rows else None


# -- every role ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PEOPLE))
def test_every_role_sees_both_pages_and_the_live_part(clients: dict[str, ConsoleClient], name: str) -> None:
    for path, title in (("/w/1/carriers", "<h1>Codes and carriers</h1>"), ("/w/1/webhooks", "<h1>Webhooks</h1>")):
        answer = clients[name].http.get(path)
        assert answer.status_code == 200 and title in answer.text, answer.text[:300]
        assert f'href="{path}" aria-current="page"' in answer.text
    live = clients[name].http.get("/w/1/carriers?part=live")
    assert live.status_code == 200 and "<h1>" not in live.text and "movistar" in live.text


def test_a_viewer_sees_no_control_and_no_carrier_setting(server: Server, sim: SmscSim, api: Client,
                                                         receiver: WebhookReceiver,
                                                         clients: dict[str, ConsoleClient]) -> None:
    _dead_jobs(server, api, 1)
    viewer = clients["viewer"]
    page = viewer.http.get("/w/1/carriers").text
    assert server.creds["code"] in page and CARRIER in page
    assert 'hx-get="/w/1/carriers?part=live" hx-trigger="every 3s"' in page
    for control in ("Make default", "Remove</button>", "Assign</button>", "/edit", f"127.0.0.1:{sim.port}"):
        assert control not in page
    webhooks = viewer.http.get("/w/1/webhooks").text
    assert receiver.url(HOOK) in webhooks and "HTTP 500" in webhooks
    assert "Replay" not in webhooks and "Discard" not in webhooks


@pytest.mark.parametrize(("name", "path", "data"), [
    ("viewer", "/w/1/codes", {"code": "5550100"}),
    ("editor", "/w/1/codes", {"code": "5550100"}),
    ("admin", "/w/1/codes", {"code": "5550100"}),  # assigning a code needs a deployment administrator
    ("viewer", "/w/1/codes/{code}/default", {}),
    ("editor", "/w/1/codes/{code}/remove", {}),
    ("viewer", EDIT, {"window": "99"}),
    ("admin", EDIT, {"window": "99"}),  # a carrier is the deployment's: no workspace role suffices
    ("viewer", "/w/1/webhooks/replay-dead", {}),
    ("viewer", "/w/1/webhooks/{job}/discard", {}),
    ("viewer", "/w/1/webhooks/{job}/replay", {}),
])
def test_a_forged_post_is_refused_and_changes_nothing(server: Server, api: Client, clients: dict[str, ConsoleClient],
                                                      name: str, path: str, data: dict[str, str]) -> None:
    (job,) = _dead_jobs(server, api, 1) if "webhooks" in path else (0,)  # one to replay or discard

    def state() -> tuple:
        return (server.query("SELECT code, workspace_id, is_default FROM codes ORDER BY code"),
                server.query("SELECT settings, prefixes, is_active FROM carriers ORDER BY name"),
                server.query("SELECT id, state, attempts FROM outbox ORDER BY id"), server.count("audit_log"))

    before = state()
    answer = clients[name].post(path.format(code=server.creds["code"], job=job), data)
    assert answer.status_code == 403, answer.text[:300]
    assert "needs" in answer.text
    assert state() == before
    if path == EDIT:
        assert clients[name].http.get(EDIT).status_code == 403  # nor the form itself


# -- codes -----------------------------------------------------------------------------------------


def test_a_deployment_admin_assigns_a_code_and_the_workspace_admin_makes_it_default_and_removes_it(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    root, admin, demo = clients["root"], clients["admin"], server.creds["code"]
    assert "Assign</button>" in root.http.get("/w/1/carriers").text
    assert "Assign</button>" not in admin.http.get("/w/1/carriers").text
    assert root.post("/w/1/codes", {"code": "+5550123"}).status_code == 303
    assert server.query("SELECT workspace_id, is_default FROM codes WHERE code = '5550123'") == [(1, False)]
    bad = root.post("/w/1/codes", {"code": "12"})
    assert bad.status_code == 400 and "Invalid parameter code: must be 3 to 15 digits" in bad.text

    page = admin.http.get("/w/1/carriers").text
    assert "/w/1/codes/5550123/default" in page and "/w/1/codes/5550123/remove" in page
    assert admin.post("/w/1/codes/5550123/default").status_code == 303
    assert server.query("SELECT code FROM codes WHERE is_default = ? AND workspace_id = 1", True) == [("5550123",)]
    # The demo code is the one the welcome campaign listens on: refused, naming the campaign.
    used = admin.post(f"/w/1/codes/{demo}/remove")
    assert used.status_code == 400 and "is used by campaign" in used.text
    assert server.count("codes", "code = ?", demo) == 1
    assert admin.post(f"/w/1/codes/{demo}/default").status_code == 303
    assert admin.post("/w/1/codes/5550123/remove").status_code == 303
    assert server.count("codes", "code = '5550123'") == 0
    audit = server.query("SELECT action, actor FROM audit_log WHERE subject = 'code:5550123' ORDER BY id")
    assert audit == [("code.add", "user:root@example.com"), ("code.default", "user:admin@example.com"),
                     ("code.remove", "user:admin@example.com")]


def test_a_code_of_another_workspace_cannot_be_changed_through_this_ones_page(
        server: Server, clients: dict[str, ConsoleClient]) -> None:
    other = server.cli("admin", "workspace", "create", "--name", "elsewhere")["instance_id"]
    server.cli("admin", "code", "add", "--workspace", str(other), "--code", "5550999")
    for change in ("default", "remove"):
        assert clients["root"].post(f"/w/1/codes/5550999/{change}").status_code == 404
    assert server.query("SELECT workspace_id FROM codes WHERE code = '5550999'") == [(other,)]


# -- carriers --------------------------------------------------------------------------------------


def test_the_live_part_shows_the_smpp_carrier_bound_to_the_simulator(server: Server,
                                                                     clients: dict[str, ConsoleClient]) -> None:
    viewer = clients["viewer"]

    def bound() -> str:
        row = _row_of(viewer.http.get("/w/1/carriers?part=live").text, CARRIER)
        return row if 'class="bind bind-bound">bound</span>' in row else ""

    row = wait_until(bound, timeout=30)
    assert "0 / 10" in row  # the window: none in use, of 10
    demo_row = _row_of(viewer.http.get("/w/1/carriers?part=live").text, "movistar")
    assert 'bind-running">running<' in demo_row and "this workspace's default" in demo_row


def test_a_deployment_admin_edits_a_carriers_window_and_the_connector_takes_it(
        server: Server, sim: SmscSim, clients: dict[str, ConsoleClient]) -> None:
    root = clients["root"]
    page = root.http.get("/w/1/carriers").text
    assert EDIT in page and f"127.0.0.1:{sim.port}" in page
    form = _carrier_form(root)
    assert (form["host"], form["port"], form["window"], form["bind"]) == ("127.0.0.1", str(sim.port), "10",
                                                                           "transceiver")
    before = _settings(server)
    answer = root.post(EDIT, {**form, "window": "25"}, token_from=EDIT)
    assert answer.status_code == 303, answer.text[:500]
    after = _settings(server)
    assert after["window"] == 25
    assert after["password_enc"] == before["password_enc"] and "password" not in after  # blank keeps it
    assert {k: v for k, v in after.items() if k != "window"} == {k: v for k, v in before.items() if k != "window"}
    (entry,) = server.query("SELECT actor, before, after FROM audit_log WHERE action = 'carrier.edit' "
                            "AND subject = ?", f"carrier:{CARRIER}")
    assert (entry[0], json.loads(entry[1]), json.loads(entry[2])) == ("user:root@example.com", {"window": 10},
                                                                      {"window": 25})
    for shown in (root.http.get("/w/1/carriers").text, root.http.get(EDIT).text,
                  root.http.get("/w/1/carriers?part=live").text):
        assert SIM_PASSWORD not in shown

    def rebound() -> str:  # the worker reconnected it with its new window
        row = _row_of(root.http.get("/w/1/carriers?part=live").text, CARRIER)
        return row if "bind-bound" in row and "/ 25" in row else ""

    wait_until(rebound, timeout=30)


@pytest.mark.parametrize(("changes", "named"), [
    ({"port": "70000"}, "Invalid parameter port: must be 1 to 65535"),
    ({"port": "two"}, "Invalid parameter port: must be a whole number"),
    ({"window": "0"}, "Invalid parameter window"),
    ({"system_id": "x" * 16}, "Invalid parameter system_id"),
    ({"password": "ninechars"}, "Invalid parameter password"),
    ({"prefixes": "584, 58x"}, "Invalid parameter prefixes"),
    ({"max_binds": "0"}, "Invalid parameter max_binds"),
    ({"bind": "sideways"}, "Invalid parameter bind"),
])
def test_a_bad_setting_is_refused_on_the_form_naming_it_and_nothing_is_written(
        server: Server, clients: dict[str, ConsoleClient], changes: dict[str, str], named: str) -> None:
    root = clients["root"]
    form = _carrier_form(root)
    before = (_settings(server), server.count("audit_log"))
    answer = root.post(EDIT, {**form, **changes}, token_from=EDIT)
    assert answer.status_code == 400
    assert named in answer.text
    assert "ninechars" not in answer.text  # a typed password is never shown back
    if "port" in changes:
        assert f'value="{changes["port"]}"' in answer.text  # what was typed stays in the form
    assert (_settings(server), server.count("audit_log")) == before


def test_the_demo_simulator_carrier_has_its_own_form(clients: dict[str, ConsoleClient]) -> None:
    page = clients["root"].http.get("/w/1/carriers/movistar/edit")
    assert page.status_code == 200 and "Receipt delay (ms)" in page.text and 'name="host"' not in page.text
    assert clients["root"].http.get("/w/1/carriers/nowhere/edit").status_code == 404


@pytest.mark.parametrize(("status", "state"), [
    (None, "not running"),
    ({"carrier": "c", "connector": "smpp", "sessions": {"transceiver": "connecting"}, "window": 10}, "connecting"),
    ({"carrier": "c", "connector": "smpp", "sessions": {"transmitter": "bound", "receiver": "down"}}, "partly bound"),
    ({"carrier": "c", "connector": "simulator", "state": "running"}, "running"),
])
def test_the_live_state_in_a_word(status: dict | None, state: str) -> None:
    assert live_state({"is_active": True}, status, True)["state"] == state
    assert live_state({"is_active": True}, status, False)["state"] == "unknown"  # no worker answers
    assert live_state({"is_active": False}, None, True)["state"] == "disabled"


# -- webhooks --------------------------------------------------------------------------------------


def test_a_dead_webhook_is_replayed_by_an_editor_and_delivered_once_the_receiver_answers(
        server: Server, api: Client, receiver: WebhookReceiver, clients: dict[str, ConsoleClient]) -> None:
    (job,) = _dead_jobs(server, api, 1)
    editor = clients["editor"]
    page = editor.http.get("/w/1/webhooks").text
    assert page.index("<h2>Dead") < page.index("<h2>Pending")
    assert f"/w/1/webhooks/{job}/replay" in page and f"/w/1/webhooks/{job}/discard" in page
    assert "Replay every dead one" in page
    posts = len(receiver.on(HOOK))
    receiver.routes[HOOK] = [(200, "text/plain", "ok")]
    try:
        assert editor.post(f"/w/1/webhooks/{job}/replay", token_from="/w/1/webhooks").status_code == 303
        wait_until(lambda: _state_of(server, job) == "done", timeout=30)
    finally:
        receiver.routes[HOOK] = list(FAILING)
    assert len(receiver.on(HOOK)) == posts + 1
    replays = server.query("SELECT actor, after FROM audit_log WHERE action = 'webhook.replay'")
    assert [actor for actor, after in replays if json.loads(after) == {"replayed": [job]}] == \
        ["user:editor@example.com"]
    assert f'<td class="mono">{job}</td>' in editor.http.get("/w/1/webhooks", params={"state": "done"}).text
    # Not dead any more: neither replayed nor discarded again.
    assert editor.post(f"/w/1/webhooks/{job}/discard").status_code == 404
    assert _state_of(server, job) == "done"


def test_a_dead_webhook_is_discarded_and_every_dead_one_replayed(
        server: Server, api: Client, receiver: WebhookReceiver, clients: dict[str, ConsoleClient]) -> None:
    first, second = _dead_jobs(server, api, 2)
    editor = clients["editor"]
    assert editor.post(f"/w/1/webhooks/{first}/discard", token_from="/w/1/webhooks").status_code == 303
    assert _state_of(server, first) is None
    assert server.count("audit_log", "action = 'webhook.discard' AND actor = 'user:editor@example.com'") == 1
    posts = len(receiver.on(HOOK))
    assert editor.post("/w/1/webhooks/replay-dead", token_from="/w/1/webhooks").status_code == 303
    receiver.wait_for(lambda: len(receiver.on(HOOK)) > posts)  # tried again (and dead again: still 500)
    wait_until(lambda: _state_of(server, second) == "dead" and server.count("outbox", "state = 'pending'") == 0,
               timeout=30)
    (entry,) = server.query("SELECT after FROM audit_log WHERE action = 'webhook.replay' ORDER BY id DESC LIMIT 1")
    assert second in json.loads(entry[0])["replayed"] and first not in json.loads(entry[0])["replayed"]


def test_the_state_filter(server: Server, api: Client, clients: dict[str, ConsoleClient]) -> None:
    (job,) = _dead_jobs(server, api, 1)
    viewer = clients["viewer"]
    dead = viewer.http.get("/w/1/webhooks", params={"state": "dead"}).text
    assert f'<td class="mono">{job}</td>' in dead and "<h2>Pending" not in dead
    assert f'<td class="mono">{job}</td>' not in viewer.http.get("/w/1/webhooks", params={"state": "pending"}).text
    assert viewer.http.get("/w/1/webhooks", params={"state": "lost"}).status_code == 400

