"""Lists, members and broadcasts edited through the admin API and the CLI of a running ``mecm serve``:
each edit works both ways and is audited with its actor; each refusal is the same words both ways
with nothing changed; a viewer gets 403, nothing changed and nothing audited; nothing changes in an
archived workspace."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import Server, make_server, run_mecm

ME = f"cli:{getpass.getuser()}"
LATER = "2099-01-01T00:00"  # a broadcast that waits: nothing is sent during these tests


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("lists"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.admin_api() as client:
        yield client


@pytest.fixture(scope="module")
def viewer(server: Server, http: httpx.Client) -> dict[str, str]:
    """The headers of a viewer of the demo workspace (a token of scope write: the role alone refuses)."""
    assert http.post("/users", json={"email": "view@example.com"}).status_code == 201
    workspace = server.creds["instance_id"]
    assert http.put(f"/workspaces/{workspace}/roles/view@example.com", json={"role": "viewer"}).status_code == 200
    token = http.post("/users/view@example.com/tokens", json={"scope": "write"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def refused_by_cli(server: Server, *args: str) -> str:
    """The error words of an admin command that must exit 2."""
    done = run_mecm(["admin", *args, "--json"], env=server.env)
    assert done.returncode == 2, done.stdout + done.stderr
    return json.loads(done.stdout)["error"]


def audited(server: Server, action: str) -> list[tuple]:
    """(actor, subject, before, after) of each entry of ``action``, oldest first."""
    rows = server.query("SELECT actor, subject, before, after FROM audit_log WHERE action = ? ORDER BY id", action)
    return [(a, s, json.loads(b) if b else None, json.loads(f) if f else None) for a, s, b, f in rows]


def new_list(server: Server, http: httpx.Client, name: str) -> int:
    answer = http.post(f"/workspaces/{server.creds['instance_id']}/lists", json={"name": name})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def later_broadcast(server: Server, http: httpx.Client, list_id: int, name: str) -> int:
    answer = http.post(f"/lists/{list_id}/broadcasts", json={"code": server.creds["code"], "text": "hola",
                                                             "name": name, "at": LATER})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


# -- lists ---------------------------------------------------------------------------------------


def test_a_list_is_created_renamed_and_deleted_through_the_api_and_the_cli_each_audited(
        server: Server, http: httpx.Client) -> None:
    workspace = str(server.creds["instance_id"])
    by_api = new_list(server, http, "spring")
    by_cli = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "autumn")["id"]
    assert [(a, s, b, f["name"], f["workspace_id"]) for a, s, b, f in audited(server, "list.create")[-2:]] == [
        ("admin-token", f"list:{by_api}", None, "spring", int(workspace)),
        (ME, f"list:{by_cli}", None, "autumn", int(workspace))]

    renamed = http.patch(f"/lists/{by_api}", json={"name": "spring 2027"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "spring 2027"
    assert server.cli("admin", "list", "rename", "--list", str(by_cli), "--name", "autumn 2027")["name"] == \
        "autumn 2027"
    assert audited(server, "list.rename")[-2:] == [
        ("admin-token", f"list:{by_api}", {"name": "spring"}, {"name": "spring 2027"}),
        (ME, f"list:{by_cli}", {"name": "autumn"}, {"name": "autumn 2027"})]
    names = {entry["id"]: entry["name"] for entry in server.cli("admin", "list", "list", "--workspace",
                                                                 workspace)["lists"]}
    assert (names[by_api], names[by_cli]) == ("spring 2027", "autumn 2027")

    # a name taken, or empty, is refused in the same words both ways, and nothing changes
    words = refused_by_cli(server, "list", "rename", "--list", str(by_cli), "--name", "spring 2027")
    assert words == f"Invalid parameter name: workspace {workspace} already has a list named 'spring 2027'"
    answer = http.patch(f"/lists/{by_cli}", json={"name": "spring 2027"})
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "name"}
    assert http.patch(f"/lists/{by_cli}", json={"name": "  "}).json()["parameter"] == "name"
    assert http.patch("/lists/99999", json={"name": "x"}).status_code == 404
    assert refused_by_cli(server, "list", "rename", "--list", "99999", "--name", "x") == "no list 99999"

    http.post(f"/lists/{by_api}/members", json={"number": "584145550101"})
    deleted = http.delete(f"/lists/{by_api}")
    assert deleted.status_code == 200 and deleted.json() == {"id": by_api, "name": "spring 2027", "deleted": True,
                                                             "members": 1}
    assert server.cli("admin", "list", "delete", "--list", str(by_cli))["deleted"] is True
    assert audited(server, "list.delete")[-2:] == [
        ("admin-token", f"list:{by_api}", {"name": "spring 2027", "members": 1}, None),
        (ME, f"list:{by_cli}", {"name": "autumn 2027", "members": 0}, None)]
    assert server.count("lists", "id IN (?, ?)", by_api, by_cli) == 0
    assert server.count("list_members", "list_id = ?", by_api) == 0
    assert http.delete(f"/lists/{by_api}").status_code == 404


def test_a_list_a_broadcast_or_a_campaign_uses_is_not_deleted_and_a_finished_broadcast_keeps_its_history(
        server: Server, http: httpx.Client) -> None:
    workspace = server.creds["instance_id"]
    listed = new_list(server, http, "in use")
    http.post(f"/lists/{listed}/members", json={"number": "584145550102"})
    broadcast = later_broadcast(server, http, listed, "new year")
    words = refused_by_cli(server, "list", "delete", "--list", str(listed))
    assert words == (f"Invalid parameter list: list {listed} (in use) is used by broadcast {broadcast} (new year), "
                     "which is scheduled: cancel it (or let it finish) first")
    answer = http.delete(f"/lists/{listed}")
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "list"}
    assert http.post(f"/broadcasts/{broadcast}/pause").status_code == 200
    assert "which is paused" in http.delete(f"/lists/{listed}").json()["error"]
    assert http.post(f"/broadcasts/{broadcast}/cancel").status_code == 200

    campaign = http.post(f"/workspaces/{workspace}/campaigns", json={
        "code": server.creds["code"], "name": "joiner", "keyword": "JOINUSE", "match": "word", "reply": "ok",
        "actions": ["subscribe:in use"]}).json()["id"]
    words = refused_by_cli(server, "list", "delete", "--list", str(listed))
    assert words == f"Invalid parameter list: list {listed} (in use) is used by the actions of campaign {campaign} " \
                    "(joiner)"
    assert server.count("lists", "id = ?", listed) == 1
    # switched off (no command does it yet): the list is free
    assert server.query("UPDATE campaigns SET is_active = ? WHERE id = ? RETURNING id", False, campaign) == \
        [(campaign,)]

    assert http.delete(f"/lists/{listed}").status_code == 200
    status = http.get(f"/broadcasts/{broadcast}").json()  # its history stays
    assert (status["name"], status["state"]) == ("new year", "cancelled")
    assert broadcast in [b["id"] for b in http.get(f"/workspaces/{workspace}/broadcasts").json()["broadcasts"]]


# -- members -------------------------------------------------------------------------------------


def test_members_are_listed_in_pages_and_found_by_part_of_their_number(server: Server, http: httpx.Client) -> None:
    listed = new_list(server, http, "paged")
    csv_text = "number,name\n" + "".join(f"+58 414 555 {i:04d},N{i}\n" for i in range(1, 26))
    imported = http.post(f"/lists/{listed}/import", json={"csv": csv_text})
    assert imported.status_code == 200, imported.text
    assert {k: imported.json()[k] for k in ("imported", "added", "updated", "members")} == \
        {"imported": 25, "added": 25, "updated": 0, "members": 25}

    page = http.get(f"/lists/{listed}/members", params={"page": 2, "per_page": 10}).json()
    assert (page["total"], page["page"], page["per_page"]) == (25, 2, 10)
    assert [m["number"] for m in page["members"]] == [f"58414555{i:04d}" for i in range(11, 21)]
    assert page["members"][0]["fields"] == {"name": "N11"} and page["members"][0]["via"] == "import"
    found = server.cli("admin", "list", "members", "--list", str(listed), "--number", "555 002")
    assert [m["number"] for m in found["members"]] == [f"58414555{i:04d}" for i in range(20, 26)]
    assert found["total"] == 6
    assert http.get(f"/lists/{listed}/members", params={"number": "0025"}).json()["total"] == 1
    empty = http.get(f"/lists/{listed}/members", params={"page": 9}).json()
    assert (empty["total"], empty["members"]) == (25, [])
    for params, parameter in (({"number": "abc"}, "number"), ({"per_page": "0"}, "per_page"),
                              ({"per_page": "1001"}, "per_page"), ({"page": "x"}, "page")):
        answer = http.get(f"/lists/{listed}/members", params=params)
        assert answer.status_code == 400 and answer.json()["parameter"] == parameter, (params, answer.text)
    assert refused_by_cli(server, "list", "members", "--list", str(listed), "--per-page", "0") == \
        "Invalid parameter per-page: must be between 1 and 1000"
    assert http.get("/lists/99999/members").status_code == 404

    # people read a table: the members' numbers and when they joined, in the workspace's zone
    shown = run_mecm(["admin", "list", "members", "--list", str(listed), "--per-page", "3"],
                     env={**server.env, "COLUMNS": "100"})
    assert shown.returncode == 0, shown.stderr
    assert "members, 1-3 of 25" in shown.stdout and "584145550001" in shown.stdout
    assert "584145550004" not in shown.stdout


def test_members_added_removed_and_imported_are_audited_once_each(server: Server, http: httpx.Client,
                                                                   tmp_path) -> None:  # noqa: ANN001
    listed = new_list(server, http, "audited")
    subject = f"list:{listed}"
    assert http.post(f"/lists/{listed}/members", json={"number": "584145550201",
                                                       "fields": {"name": "Ana"}}).status_code == 201
    server.cli("admin", "list", "add", "--list", str(listed), "--number", "+58 414 555 0202")
    assert [e for e in audited(server, "list.member.add") if e[1] == subject] == [
        ("admin-token", subject, None, {"number": "584145550201", "fields": {"name": "Ana"}}),
        (ME, subject, None, {"number": "584145550202", "fields": {}})]

    csv_path = tmp_path / "more.csv"
    csv_path.write_text("number,name\n584145550201,Ana B\n584145550203,Eva\n")
    result = server.cli("admin", "list", "import", "--list", str(listed), "--csv", str(csv_path))
    assert (result["imported"], result["added"], result["updated"], result["members"]) == (2, 1, 1, 3)
    assert [e for e in audited(server, "list.import") if e[1] == subject] == [
        (ME, subject, {"members": 2}, {"members": 3, "imported": 2, "added": 1, "updated": 1})]
    entries = server.count("audit_log")
    bad = http.post(f"/lists/{listed}/import", json={"csv": "number\n584145550204\nnope\n"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "csv" and "line 3" in bad.json()["error"]
    assert (server.count("audit_log"), server.count("list_members", "list_id = ?", listed)) == (entries, 3)

    assert http.delete(f"/lists/{listed}/members/584145550201").json()["removed"] is True
    assert server.cli("admin", "list", "remove", "--list", str(listed), "--number", "584145550202")["removed"]
    assert server.cli("admin", "list", "remove", "--list", str(listed), "--number", "584145550299")[
        "removed"] is False  # not a member: nothing changed, nothing audited
    assert [e for e in audited(server, "list.member.remove") if e[1] == subject] == [
        ("admin-token", subject, {"number": "584145550201", "fields": {"name": "Ana B"}}, None),
        (ME, subject, {"number": "584145550202", "fields": {}}, None)]


# -- broadcasts ----------------------------------------------------------------------------------


def test_a_broadcast_is_paused_and_resumed_through_the_api_and_the_cli_each_audited(
        server: Server, http: httpx.Client) -> None:
    workspace = server.creds["instance_id"]
    listed = new_list(server, http, "paused")
    broadcast = later_broadcast(server, http, listed, "summer")
    (created,) = [e for e in audited(server, "broadcast.create") if e[1] == f"broadcast:{broadcast}"]
    assert created[0] == "admin-token" and created[3]["name"] == "summer" and created[3]["list_id"] == listed

    paused = http.post(f"/broadcasts/{broadcast}/pause")
    assert paused.status_code == 200 and paused.json() == {"id": broadcast, "state": "paused", "held": 0}
    assert http.get(f"/broadcasts/{broadcast}").json()["state"] == "paused"
    listed_states = {b["id"]: b["state"] for b in server.cli("admin", "broadcast", "list", "--workspace",
                                                             str(workspace))["broadcasts"]}
    assert listed_states[broadcast] == "paused"
    assert server.cli("admin", "broadcast", "status", "--id", str(broadcast))["state"] == "paused"

    words = refused_by_cli(server, "broadcast", "pause", "--id", str(broadcast))
    assert words == f"Invalid parameter id: broadcast {broadcast} (summer) is already paused"
    assert http.post(f"/broadcasts/{broadcast}/pause").json() == {"error": words, "parameter": "id"}

    resumed = server.cli("admin", "broadcast", "resume", "--id", str(broadcast))
    assert resumed == {"id": broadcast, "state": "scheduled", "released": 0}  # its start has not come
    assert http.post(f"/broadcasts/{broadcast}/resume").json()["error"] == \
        f"Invalid parameter id: broadcast {broadcast} (summer) is scheduled, not paused"
    assert server.cli("admin", "broadcast", "pause", "--id", str(broadcast))["state"] == "paused"
    assert http.post(f"/broadcasts/{broadcast}/resume").json()["state"] == "scheduled"
    server.cli("admin", "broadcast", "cancel", "--id", str(broadcast))

    subject = f"broadcast:{broadcast}"
    assert [(a, b, f) for a, s, b, f in audited(server, "broadcast.pause") if s == subject] == [
        ("admin-token", {"state": "scheduled"}, {"state": "paused", "held": 0}),
        (ME, {"state": "scheduled"}, {"state": "paused", "held": 0})]
    assert [(a, b, f) for a, s, b, f in audited(server, "broadcast.resume") if s == subject] == [
        (ME, {"state": "paused"}, {"state": "scheduled", "released": 0}),
        ("admin-token", {"state": "paused"}, {"state": "scheduled", "released": 0})]
    assert [(a, b, f) for a, s, b, f in audited(server, "broadcast.cancel") if s == subject] == [
        (ME, {"state": "scheduled"}, {"state": "cancelled", "withdrawn": 0})]

    # a cancelled broadcast is neither paused nor resumed, in the same words both ways
    entries = server.count("audit_log")
    for verb in ("pause", "resume"):
        words = refused_by_cli(server, "broadcast", verb, "--id", str(broadcast))
        assert words == f"Invalid parameter id: broadcast {broadcast} (summer) is cancelled: there is nothing " \
                        f"left to {verb}"
        answer = http.post(f"/broadcasts/{broadcast}/{verb}")
        assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "id"}
    assert server.count("audit_log") == entries
    assert http.post("/broadcasts/99999/pause").status_code == 404
    assert refused_by_cli(server, "broadcast", "resume", "--id", "99999") == "no broadcast 99999"


def test_nothing_is_broadcast_or_changed_in_an_archived_workspace(server: Server, http: httpx.Client) -> None:
    workspace = http.post("/workspaces", json={"name": "old", "timezone": "UTC"}).json()["instance_id"]
    server.cli("admin", "code", "add", "--workspace", str(workspace), "--code", "55901")
    listed = http.post(f"/workspaces/{workspace}/lists", json={"name": "kept"}).json()["id"]
    http.post(f"/lists/{listed}/members", json={"number": "584145550301"})
    assert http.post(f"/workspaces/{workspace}/archive").status_code == 200
    entries, broadcasts = server.count("audit_log"), server.count("broadcasts")

    words = refused_by_cli(server, "broadcast", "create", "--list", str(listed), "--code", "55901", "--text", "hi")
    assert words == f"Invalid parameter workspace: workspace {workspace} (old) is archived: restore it before " \
                    "creating a broadcast"
    answer = http.post(f"/lists/{listed}/broadcasts", json={"code": "55901", "text": "hi"})
    assert answer.status_code == 400 and answer.json() == {"error": words, "parameter": "workspace"}
    for method, path, body, doing in [
        ("POST", f"/workspaces/{workspace}/lists", {"name": "new"}, "creating a list"),
        ("PATCH", f"/lists/{listed}", {"name": "renamed"}, "renaming a list"),
        ("DELETE", f"/lists/{listed}", None, "deleting a list"),
        ("POST", f"/lists/{listed}/members", {"number": "584145550302"}, "changing a list's members"),
        ("DELETE", f"/lists/{listed}/members/584145550301", None, "changing a list's members"),
        ("POST", f"/lists/{listed}/import", {"csv": "number\n584145550303\n"}, "changing a list's members"),
    ]:
        answer = http.request(method, path, json=body)
        assert answer.status_code == 400 and answer.json()["error"].endswith(doing), (path, answer.text)
    assert "is archived" in refused_by_cli(server, "list", "add", "--list", str(listed), "--number", "584145550302")
    assert (server.count("audit_log"), server.count("broadcasts")) == (entries, broadcasts)
    assert server.query("SELECT name FROM lists WHERE workspace_id = ?", workspace) == [("kept",)]
    assert server.count("list_members", "list_id = ?", listed) == 1
    # still read
    assert http.get(f"/lists/{listed}/members").json()["total"] == 1

    http.post(f"/workspaces/{workspace}/restore")
    assert http.post(f"/lists/{listed}/broadcasts", json={"code": "55901", "text": "hi", "at": LATER}
                     ).status_code == 201


def test_a_viewer_changes_no_list_member_or_broadcast(server: Server, http: httpx.Client,
                                                      viewer: dict[str, str]) -> None:
    workspace = server.creds["instance_id"]
    listed = new_list(server, http, "guarded")
    http.post(f"/lists/{listed}/members", json={"number": "584145550401"})
    broadcast = later_broadcast(server, http, listed, "guarded")
    before = (server.count("audit_log"), server.count("lists"), server.count("list_members"),
              server.query("SELECT state FROM broadcasts WHERE id = ?", broadcast))
    for method, path, body in [
        ("POST", f"/workspaces/{workspace}/lists", {"name": "mine"}),
        ("PATCH", f"/lists/{listed}", {"name": "mine"}),
        ("DELETE", f"/lists/{listed}", None),
        ("POST", f"/lists/{listed}/members", {"number": "584145550402"}),
        ("DELETE", f"/lists/{listed}/members/584145550401", None),
        ("POST", f"/lists/{listed}/import", {"csv": "number\n584145550403\n"}),
        ("POST", f"/lists/{listed}/broadcasts", {"code": server.creds["code"], "text": "x"}),
        ("POST", f"/broadcasts/{broadcast}/pause", None),
        ("POST", f"/broadcasts/{broadcast}/resume", None),
        ("POST", f"/broadcasts/{broadcast}/cancel", None),
    ]:
        answer = http.request(method, path, json=body, headers=viewer)
        assert answer.status_code == 403, (method, path, answer.text)
        assert "needs the role editor; you have the role viewer" in answer.json()["error"], answer.text
    after = (server.count("audit_log"), server.count("lists"), server.count("list_members"),
             server.query("SELECT state FROM broadcasts WHERE id = ?", broadcast))
    assert after == before
    # but a viewer reads
    assert http.get(f"/lists/{listed}/members", headers=viewer).json()["total"] == 1
    assert http.get(f"/broadcasts/{broadcast}", headers=viewer).json()["state"] == "scheduled"
    http.post(f"/broadcasts/{broadcast}/cancel")
