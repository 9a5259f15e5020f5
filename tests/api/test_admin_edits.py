"""Editing workspaces, codes and carriers through the CLI and the admin API of a running server: each
edit works both ways, the running server sees it (at once after the API, within catalog_refresh_s
after the CLI), and each refusal is the same words both ways with nothing changed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import MECM, Server, make_server
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
    token = server.cli("admin", "token")["admin_token"]
    with httpx.Client(base_url=server.url + "/admin/api", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        yield client


def refused_by_cli(server: Server, *args: str) -> str:
    """The error words of an admin command that must exit 2."""
    done = subprocess.run([*MECM, "admin", *args, "--json"], env=server.env, capture_output=True, text=True,
                          timeout=60)
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
    assert f"broadcast {broadcast} (xmas) is scheduled or sending" in words
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
