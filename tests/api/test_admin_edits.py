"""Editing workspaces, codes and carriers through the CLI and the admin API of a running server: each
edit works both ways, the running server sees it (at once after the API, within catalog_refresh_s
after the CLI), and each refusal is the same words both ways with nothing changed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import Server, make_server, run_mecm
from tests.support.waiting import wait_until

TO = "13056708084"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("admin-edits"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.admin_api() as client:
        yield client


def refused_by_cli(server: Server, *args: str) -> str:
    """The error words of an admin command that must exit 2."""
    done = run_mecm(["admin", *args, "--json"], env=server.env)
    assert done.returncode == 2, done.stdout + done.stderr
    return json.loads(done.stdout)["error"]


def send_status(server: Server) -> str:
    """The status a sendSMS signed with the demo workspace's key is answered."""
    c = server.creds
    path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), b64("hi")])
    return httpx.get(server.url + path, timeout=10).headers["x-mecm-status"]


# -- workspaces ----------------------------------------------------------------------------------


def test_a_workspace_is_renamed_and_moved_through_the_api_and_the_cli(server: Server, http: httpx.Client) -> None:
    ws = http.post("/workspaces", json={"name": "acme", "timezone": "UTC"}).json()["instance_id"]
    edited = http.patch(f"/workspaces/{ws}", json={"name": "Acme Corp", "timezone": "Europe/Madrid"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["timezone"]) == ("Acme Corp", "Europe/Madrid")

    row = server.cli("admin", "workspace", "edit", "--workspace", str(ws), "--default-carrier",
                     server.creds["carrier"])
    assert (row["name"], row["default_carrier"]) == ("Acme Corp", server.creds["carrier"])
    listed = {w["instance_id"]: w for w in server.cli("admin", "workspace", "list")["workspaces"]}
    assert (listed[ws]["timezone"], listed[ws]["default_carrier"]) == ("Europe/Madrid", server.creds["carrier"])


def test_a_bad_workspace_edit_is_refused_in_the_same_words_and_changes_nothing(server: Server,
                                                                                http: httpx.Client) -> None:
    ws = http.post("/workspaces", json={"name": "beta", "timezone": "UTC"}).json()["instance_id"]
    words = refused_by_cli(server, "workspace", "edit", "--workspace", str(ws), "--name", "gamma",
                           "--timezone", "Mars/Olympus")
    assert words == "Invalid parameter timezone: unknown time zone 'Mars/Olympus'"
    answer = http.patch(f"/workspaces/{ws}", json={"name": "gamma", "timezone": "Mars/Olympus"})
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "timezone"}
    carrier = http.patch(f"/workspaces/{ws}", json={"default_carrier": "nobody"})
    assert carrier.status_code == 400 and carrier.json()["parameter"] == "default_carrier"
    assert refused_by_cli(server, "workspace", "edit", "--workspace", "999", "--name", "x") == "no workspace 999"
    assert http.patch("/workspaces/999", json={"name": "x"}).json()["error"] == "no workspace 999"
    assert server.query("SELECT name, timezone FROM workspaces WHERE id = ?", ws) == [("beta", "UTC")]


def test_an_archived_workspaces_key_answers_bad_signature_until_it_is_restored(server: Server,
                                                                                http: httpx.Client) -> None:
    ws = server.creds["instance_id"]
    assert send_status(server) == "OK"
    try:
        archived = http.post(f"/workspaces/{ws}/archive")
        assert archived.status_code == 200 and archived.json()["archived_at_ms"] is not None
        assert send_status(server) == "BAD_SIGNATURE"  # the API reloaded the catalog: at once
        assert ws not in [w["instance_id"] for w in http.get("/workspaces").json()["workspaces"]]
        assert ws in [w["instance_id"] for w in http.get("/workspaces", params={"all": "true"}).json()["workspaces"]]
        assert ws not in [w["instance_id"] for w in server.cli("admin", "workspace", "list")["workspaces"]]
        assert ws in [w["instance_id"] for w in server.cli("admin", "workspace", "list", "--all")["workspaces"]]
        assert server.count("messages", "workspace_id = ?", ws) >= 1  # its history stays

        assert server.cli("admin", "workspace", "restore", "--workspace", str(ws))["archived_at_ms"] is None
        wait_until(lambda: send_status(server) == "OK")  # the CLI's change, within catalog_refresh_s
        server.cli("admin", "workspace", "archive", "--workspace", str(ws))
        wait_until(lambda: send_status(server) == "BAD_SIGNATURE")
    finally:
        assert http.post(f"/workspaces/{ws}/restore").status_code == 200
    assert send_status(server) == "OK"


def test_a_workspace_with_a_scheduled_broadcast_is_not_archived(server: Server, http: httpx.Client) -> None:
    ws = http.post("/workspaces", json={"name": "busy", "timezone": "UTC"}).json()["instance_id"]
    server.cli("admin", "code", "add", "--workspace", str(ws), "--code", "55599")
    listed = http.post(f"/workspaces/{ws}/lists", json={"name": "all"}).json()["id"]
    broadcast = http.post(f"/lists/{listed}/broadcasts", json={"code": "55599", "text": "hola", "name": "xmas",
                                                               "at": "2099-01-01T00:00"}).json()["id"]
    words = refused_by_cli(server, "workspace", "archive", "--workspace", str(ws))
    assert f"broadcast {broadcast} (xmas) is scheduled, sending or paused" in words
    answer = http.post(f"/workspaces/{ws}/archive")
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "workspace"}
    assert server.count("workspaces", "id = ? AND archived_at_ms IS NULL", ws) == 1


# -- codes ---------------------------------------------------------------------------------------


def test_codes_are_made_default_and_removed_through_the_api_and_the_cli(server: Server, http: httpx.Client) -> None:
    ws = http.post("/workspaces", json={"name": "codes", "timezone": "UTC"}).json()["instance_id"]
    for code in ("55701", "55702", "55703"):
        server.cli("admin", "code", "add", "--workspace", str(ws), "--code", code)
    assert http.post("/codes/55702/default").json() == {"workspace_id": ws, "code": "55702", "is_default": True}
    assert server.cli("admin", "code", "set-default", "--code", "55703")["is_default"] is True
    shown = {r["code"]: r["is_default"] for r in http.get(f"/workspaces/{ws}/codes").json()["codes"]}
    assert shown == {"55701": False, "55702": False, "55703": True}

    assert http.delete("/codes/55701").json()["removed"] is True
    assert server.cli("admin", "code", "remove", "--code", "55702")["removed"] is True
    assert [r["code"] for r in server.cli("admin", "code", "list", "--workspace", str(ws))["codes"]] == ["55703"]
    assert http.delete("/codes/55701").status_code == 404
    assert refused_by_cli(server, "code", "set-default", "--code", "55701") == "no code 55701"


def test_a_code_a_campaign_listens_on_is_not_removed(server: Server, http: httpx.Client) -> None:
    ws = http.post("/workspaces", json={"name": "promo", "timezone": "UTC"}).json()["instance_id"]
    server.cli("admin", "code", "add", "--workspace", str(ws), "--code", "55801")
    campaign = http.post(f"/workspaces/{ws}/campaigns", json={"code": "55801", "name": "promo", "keyword": "PROMO",
                                                              "match": "word", "reply": "hi"}).json()["id"]
    words = refused_by_cli(server, "code", "remove", "--code", "55801")
    assert words == f"Invalid parameter code: code 55801 is used by campaign {campaign} (promo)"
    answer = http.delete("/codes/55801")
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "code"}
    assert server.count("codes", "code = '55801'") == 1


# -- carriers ------------------------------------------------------------------------------------


def test_a_carriers_settings_are_edited_through_the_api_and_the_cli(server: Server, http: httpx.Client) -> None:
    server.cli("admin", "carrier", "add", "--name", "spare", "--connector", "simulator")
    edited = http.patch("/carriers/spare", json={"settings": {"failure_rate": 0.5}, "prefixes": ["58499"]})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["settings"]["failure_rate"], edited.json()["prefixes"]) == (0.5, "58499")
    row = server.cli("admin", "carrier", "edit", "--name", "spare", "--set", "tps=5")
    assert (row["settings"]["tps"], row["settings"]["failure_rate"], row["prefixes"]) == (5, 0.5, "58499")

    words = refused_by_cli(server, "carrier", "edit", "--name", "spare", "--set", "failure-rate=2")
    assert words == "Invalid parameter failure-rate: must be 0 to 1"
    answer = http.patch("/carriers/spare", json={"settings": {"failure_rate": 2, "tps": 9}})
    assert answer.status_code == 400
    assert answer.json() == {"error": "Invalid parameter failure_rate: must be 0 to 1", "parameter": "failure_rate"}
    assert http.patch("/carriers/nobody", json={"prefixes": []}).json() == {"error": "no carrier nobody"}
    assert refused_by_cli(server, "carrier", "edit", "--name", "nobody", "--set", "tps=1") == "no carrier nobody"
    spare = next(c for c in http.get("/carriers").json()["carriers"] if c["name"] == "spare")
    assert (spare["settings"]["tps"], spare["settings"]["failure_rate"]) == (5, 0.5)


def test_an_smpp_password_is_changed_and_never_printed(server: Server, http: httpx.Client) -> None:
    server.cli("admin", "carrier", "add", "--name", "smsc", "--connector", "smpp", "--host", "127.0.0.1",
               "--port", "2775", "--system-id", "mecm", "--password", "first")
    for shown in ((), ("--json",)):
        done = run_mecm(["admin", "carrier", "edit", "--name", "smsc", "--password", "cli2nd", *shown],
                        env=server.env)
        assert done.returncode == 0 and "cli2nd" not in done.stdout + done.stderr
    assert json.loads(done.stdout)["settings"]["password"] == "(encrypted)"
    answer = http.patch("/carriers/smsc", json={"password": "api3rd", "settings": {"window": 5}})
    assert answer.status_code == 200 and "api3rd" not in answer.text
    assert answer.json()["settings"]["password"] == "(encrypted)"
    refused = http.patch("/carriers/smsc", json={"password": "muchtoolong"})
    assert refused.status_code == 400 and refused.json()["parameter"] == "password"
    stored = server.query("SELECT settings FROM carriers WHERE name = 'smsc'")[0][0]
    assert "password_enc" in stored and not any(p in stored for p in ("first", "cli2nd", "api3rd"))
    assert "api3rd" not in (server.home / "server.log").read_text()
    http.delete("/carriers/smsc")


def test_edited_settings_reach_the_running_worker(server: Server, http: httpx.Client) -> None:
    carrier = server.creds["carrier"]
    try:
        server.cli("admin", "carrier", "edit", "--name", carrier, "--set", "failure-rate=1")
        # the worker reconnects the carrier with its new settings: a message now comes back UNDELIVERED
        wait_until(lambda: send_status(server) == "OK" and server.count(
            "messages", "carrier = ? AND status = 'UNDELIVERED'", carrier) > 0, timeout=30, interval=0.2)
    finally:
        assert http.patch(f"/carriers/{carrier}", json={"settings": {"failure_rate": 0}}).status_code == 200


def carriers_connected(server: Server) -> list[str]:
    return [c["carrier"] for c in server.cli("admin", "carrier", "status")["carriers"]]


def test_a_disabled_carrier_takes_no_message_until_it_is_enabled(server: Server, http: httpx.Client) -> None:
    carrier = server.creds["carrier"]
    try:
        disabled = http.post(f"/carriers/{carrier}/disable")
        assert disabled.status_code == 200 and disabled.json()["is_active"] is False
        assert send_status(server) == "INVALID_PARAMETER"  # a send naming it: at once
        wait_until(lambda: carrier not in carriers_connected(server))  # the worker let it go
        assert server.cli("admin", "carrier", "enable", "--name", carrier)["is_active"] is True
        wait_until(lambda: send_status(server) == "OK")  # the CLI's change, within catalog_refresh_s
        wait_until(lambda: carrier in carriers_connected(server))
        server.cli("admin", "carrier", "disable", "--name", carrier)
        wait_until(lambda: send_status(server) == "INVALID_PARAMETER")
    finally:
        assert http.post(f"/carriers/{carrier}/enable").status_code == 200
    assert http.post("/carriers/nobody/disable").status_code == 404


def test_a_carrier_is_deleted_only_when_unused(server: Server, http: httpx.Client) -> None:
    carrier, ws = server.creds["carrier"], server.creds["instance_id"]
    # The earlier tests' sends final first: a refusal counts the messages not final yet, and one
    # delivered between the CLI's refusal and the API's would make the two words differ.
    wait_until(lambda: server.count("messages", "status IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')") == 0,
               timeout=60)
    words = refused_by_cli(server, "carrier", "delete", "--name", carrier)
    assert words.startswith(f"Invalid parameter carrier: carrier '{carrier}' is in use: workspace {ws} (demo) "
                            "has it as default carrier")
    answer = http.delete(f"/carriers/{carrier}")
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "carrier"}
    assert server.count("carriers", "name = ?", carrier) == 1

    server.cli("admin", "carrier", "add", "--name", "unused", "--connector", "simulator")
    assert server.cli("admin", "carrier", "delete", "--name", "unused") == {"name": "unused", "deleted": True}
    assert http.delete("/carriers/unused").json() == {"error": "no carrier unused"}


def test_a_broadcast_to_a_disabled_carrier_waits_and_goes_once_it_is_enabled(server: Server,
                                                                             http: httpx.Client) -> None:
    ws = http.post("/workspaces", json={"name": "waiting", "timezone": "UTC"}).json()["instance_id"]
    server.cli("admin", "code", "add", "--workspace", str(ws), "--code", "55901")
    server.cli("admin", "carrier", "add", "--name", "paused", "--connector", "simulator")
    assert http.post("/carriers/paused/disable").status_code == 200
    # The API process re-reads the catalog at once; the worker, whose broadcaster takes the broadcast,
    # at its next refresh: before it, it would queue the members as to a carrier in use (they would
    # then wait at the dispatcher instead).
    server.wait_for_catalog()
    listed = http.post(f"/workspaces/{ws}/lists", json={"name": "all"}).json()["id"]
    for number in ("584141110001", "584141110002", "584141110003"):
        assert http.post(f"/lists/{listed}/members", json={"number": number}).status_code == 201
    broadcast = http.post(f"/lists/{listed}/broadcasts",
                          json={"code": "55901", "text": "hola", "carrier": "paused"}).json()["id"]
    # the broadcaster has looked at it (and logged why it waits), and nothing was sent or failed
    waits = f"broadcast {broadcast} cannot be sent as it stands (tried again later): Invalid parameter carrier: " \
            "unknown carrier 'paused'"
    wait_until(lambda: waits in (server.home / "server.log").read_text(), timeout=30, interval=0.2)
    assert http.get(f"/broadcasts/{broadcast}").json()["state"] == "scheduled"
    assert server.count("messages", "broadcast_id = ?", broadcast) == 0

    assert server.cli("admin", "carrier", "enable", "--name", "paused")["is_active"] is True
    wait_until(lambda: server.count("messages", "broadcast_id = ? AND status = 'DELIVERED_TO_DEVICE'",
                                    broadcast) == 3, timeout=60, interval=0.2)
