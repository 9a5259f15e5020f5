"""Issue 13, campaigns: edit, pause, resume and archive a campaign through the admin API and the CLI of
a running ``mecm serve``. Each change answers the next MO at once after the API (it reloads the
catalog), within catalog_refresh_s after the CLI; each is audited with the campaign before and
after, as creation is; a refusal is the same words both ways, names the parameter, and changes and
audits nothing; a viewer gets 403 with nothing changed and nothing audited."""

from __future__ import annotations

import getpass
import itertools
import json
from collections.abc import Iterator

import httpx
import pytest

from mecm.client import Client
from tests.api.test_admin_edits import refused_by_cli
from tests.api import test_users_roles
from tests.api.test_users_roles import _audit_rows, _bearer
from tests.support.server import Server
from tests.support.waiting import wait_until

# The users' world: a running server, a viewer and an admin of the demo workspace with their tokens.
site, people = test_users_roles.site, test_users_roles.people
ME = f"cli:{getpass.getuser()}"
_SENDERS = (f"58414{n:07d}" for n in itertools.count(5_550_200))  # one each: no frequency cap is reached


@pytest.fixture(scope="module")
def api(site) -> Iterator[Client]:  # noqa: ANN001
    server = site[0]
    c = server.creds
    with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def editor(site, people) -> Iterator[httpx.Client]:  # noqa: ANN001
    """The admin API as the workspace's admin (a role that may change campaigns)."""
    server, _, _ = site
    _, tokens = people
    with httpx.Client(base_url=server.url + "/admin/api", headers=_bearer(tokens["ad"]), timeout=30) as http:
        yield http


def create(server: Server, http: httpx.Client, name: str, keyword: str, priority: int, **more: object) -> dict:
    made = http.post(f"/workspaces/{server.creds['instance_id']}/campaigns",
                     json={"code": server.creds["code"], "name": name, "keyword": keyword, "match": "word",
                           "priority": priority, "reply": f"reply of {name}", **more})
    assert made.status_code == 201, made.text
    return made.json()


def answer(api: Client, text: str, sender: str | None = None) -> tuple[str, str | None]:
    """The campaign an MO (from a new subscriber unless ``sender``) matched, and the text of its reply."""
    mo = api.fire_message(sender or next(_SENDERS), text)
    reply = api.get_message(mo.response_message_id).text if mo.response_message_id else None
    return mo.campaign or "", reply


def state_of(server: Server, campaign_id: int) -> tuple:
    (row,) = server.query("SELECT name, keyword, reply, priority, is_active, archived_at_ms, quiet_hours "
                          "FROM campaigns WHERE id = ?", campaign_id)
    return row


def test_creating_a_campaign_is_audited_through_the_api_and_the_cli(site, editor) -> None:  # noqa: ANN001
    server, _, _ = site
    made = create(server, editor, "audited", "AUDITED", 201)
    actor, subject, workspace, before, after = _audit_rows(server, "campaign.create")[-1]
    assert (actor, subject, workspace, before) == ("user:ad@example.com", f"campaign:{made['id']}",
                                                   server.creds["instance_id"], None)
    assert json.loads(after)["keyword"] == "AUDITED" and json.loads(after)["state"] == "active"
    by_cli = server.cli("admin", "campaign", "add", "--workspace", str(server.creds["instance_id"]), "--code",
                        server.creds["code"], "--name", "audited too", "--keyword", "AUDITED2", "--match", "word",
                        "--reply", "hi")
    assert _audit_rows(server, "campaign.create")[-1][:2] == (ME, f"campaign:{by_cli['id']}")


def test_a_campaign_is_edited_through_the_api_and_answers_so_at_once(site, editor, api) -> None:  # noqa: ANN001
    server, _, _ = site
    made = create(server, editor, "coffee", "COFFEE", 202)
    assert answer(api, "coffee please") == ("coffee", "reply of coffee")
    edited = editor.patch(f"/campaigns/{made['id']}", json={"keyword": "TEA", "reply": "tea time {{from}}",
                                                            "quiet_hours": "03:00-03:01", "priority": 203})
    assert edited.status_code == 200, edited.text
    shown = edited.json()
    assert (shown["keyword"], shown["reply"], shown["priority"], shown["quiet_hours"], shown["state"]) == \
        ("TEA", "tea time {{from}}", 203, "03:00-03:01", "active")
    assert (shown["match_mode"], shown["codes"], shown["cap_count"]) == ("word", [server.creds["code"]], 5)  # kept
    assert answer(api, "coffee please")[0] == ""  # the API reloaded the catalog: at once
    assert answer(api, "tea please")[0] == "coffee"

    actor, subject, workspace, before, after = _audit_rows(server, "campaign.edit")[-1]
    assert (actor, subject, workspace) == ("user:ad@example.com", f"campaign:{made['id']}",
                                           server.creds["instance_id"])
    assert (json.loads(before)["keyword"], json.loads(after)["keyword"]) == ("COFFEE", "TEA")
    assert (json.loads(before)["quiet_hours"], json.loads(after)["quiet_hours"]) == (None, "03:00-03:01")

    cleared = editor.patch(f"/campaigns/{made['id']}", json={"quiet_hours": ""})  # "" clears
    assert cleared.status_code == 200 and cleared.json()["quiet_hours"] is None
    listed = {c["id"]: c for c in editor.get(f"/workspaces/{server.creds['instance_id']}/campaigns").json()[
        "campaigns"]}
    assert (listed[made["id"]]["keyword"], listed[made["id"]]["quiet_hours"]) == ("TEA", None)


def test_a_campaign_is_edited_through_the_cli_and_the_server_follows(site, editor, api) -> None:  # noqa: ANN001
    server, _, _ = site
    made = create(server, editor, "juice", "JUICE", 204)
    row = server.cli("admin", "campaign", "edit", "--id", str(made["id"]), "--name", "fresh juice",
                     "--reply", "squeezed", "--action", "forward:584145550199", "--cap", "7")
    assert (row["name"], row["reply"], row["cap_count"], row["keyword"]) == ("fresh juice", "squeezed", 7, "JUICE")
    assert json.loads(row["actions"])[0]["to"] == "584145550199"
    wait_until(lambda: answer(api, "juice") == ("fresh juice", "squeezed"))  # within catalog_refresh_s
    actor, subject, _, before, after = _audit_rows(server, "campaign.edit")[-1]
    assert (actor, subject) == (ME, f"campaign:{made['id']}")
    assert (json.loads(before)["actions"], json.loads(after)["actions"][0]["type"]) == ([], "forward")

    row = server.cli("admin", "campaign", "edit", "--id", str(made["id"]), "--no-actions")
    assert row["actions"] is None
    listed = {c["id"]: c for c in server.cli("admin", "campaign", "list", "--workspace",
                                             str(server.creds["instance_id"]))["campaigns"]}
    assert (listed[made["id"]]["name"], listed[made["id"]]["actions"]) == ("fresh juice", None)


@pytest.mark.parametrize(("body", "options", "parameter", "words"), [
    ({"quiet_hours": "22-08"}, ("--quiet-hours", "22-08"), "quiet_hours", "must be HH:MM-HH:MM"),
    ({"cap_window_s": 0}, ("--cap-window-s", "0"), "cap_window_s", "must be more than 0"),
    ({"match": "fallback"}, ("--match", "fallback"), "keyword", "a fallback campaign has no keyword"),
    ({"keyword": "(a", "match": "regex"}, ("--keyword", "(a", "--match", "regex"), "keyword", ""),
    ({"starts": "2026-12-02T00:00", "ends": "2026-12-01T00:00"},
     ("--starts", "2026-12-02T00:00", "--ends", "2026-12-01T00:00"), "ends", "not after the start"),
    ({"reply": ""}, ("--reply", ""), "reply", "a campaign needs a reply or an action"),
    ({"codes": ["55999"]}, ("--code", "55999"), "code", "is not assigned to workspace"),
    ({"keyword": "MILK"}, ("--keyword", "MILK"), "keyword", "collides with active campaign 'milk'"),
])
def test_a_bad_edit_is_refused_in_the_same_words_naming_the_parameter_and_changes_nothing(
        site, editor, body, options, parameter, words) -> None:  # noqa: ANN001
    server, _, _ = site
    if not server.count("campaigns", "name = 'milk'"):
        create(server, editor, "milk", "MILK", 210)
    made = create(server, editor, f"bad {parameter} {len(options)}", f"BAD{server.count('campaigns')}", 210)
    unchanged, entries = state_of(server, made["id"]), server.count("audit_log")

    answered = editor.patch(f"/campaigns/{made['id']}", json=body)
    assert answered.status_code == 400, answered.text
    assert answered.json()["parameter"] == parameter and words in answered.json()["error"]
    said = refused_by_cli(server, "campaign", "edit", "--id", str(made["id"]), *options)
    assert said == answered.json()["error"].replace(parameter, parameter.replace("_", "-"))  # as each spells it
    assert (state_of(server, made["id"]), server.count("audit_log")) == (unchanged, entries)


def test_an_edit_does_not_collide_with_the_campaign_itself_and_an_unknown_one_is_404(site, editor) -> None:  # noqa: ANN001
    server, http, admin_token = site
    made = create(server, editor, "bread", "BREAD", 220)
    assert editor.patch(f"/campaigns/{made['id']}", json={"keyword": "bread", "reply": "warm"}).status_code == 200
    unknown = http.patch("/campaigns/99999", json={"reply": "x"}, headers=_bearer(admin_token))
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no campaign 99999"})
    assert http.post("/campaigns/99999/pause", headers=_bearer(admin_token)).status_code == 404
    assert refused_by_cli(server, "campaign", "pause", "--id", "99999") == "no campaign 99999"
    nothing = editor.patch(f"/campaigns/{made['id']}", json={})
    assert nothing.status_code == 400 and nothing.json()["parameter"] == "campaign"


def test_a_paused_campaign_answers_no_mo_until_it_is_resumed(site, editor, api) -> None:  # noqa: ANN001
    server, _, _ = site
    made = create(server, editor, "soup", "SOUP", 230)
    paused = editor.post(f"/campaigns/{made['id']}/pause")
    assert paused.status_code == 200 and (paused.json()["state"], paused.json()["is_active"]) == ("paused", False)
    assert answer(api, "soup") == ("", None)  # at once: stored as matching no campaign
    # a paused campaign keeps its keyword
    clash = editor.post(f"/workspaces/{server.creds['instance_id']}/campaigns",
                        json={"code": server.creds["code"], "name": "soup 2", "keyword": "SOUP", "match": "word",
                              "priority": 230, "reply": "x"})
    assert clash.status_code == 400 and "collides with paused campaign 'soup'" in clash.json()["error"]
    assert editor.post(f"/campaigns/{made['id']}/resume").json()["state"] == "active"
    assert answer(api, "soup") == ("soup", "reply of soup")
    actions = [(row[0], row[1]) for row in server.query(
        "SELECT action, actor FROM audit_log WHERE subject = ? ORDER BY id", f"campaign:{made['id']}")]
    assert actions == [("campaign.create", "user:ad@example.com"), ("campaign.pause", "user:ad@example.com"),
                       ("campaign.resume", "user:ad@example.com")]
    (_, _, _, before, after) = _audit_rows(server, "campaign.resume")[-1]
    assert (json.loads(before)["state"], json.loads(after)["state"]) == ("paused", "active")

    # and through the CLI, picked up within catalog_refresh_s
    assert server.cli("admin", "campaign", "pause", "--id", str(made["id"]))["state"] == "paused"
    wait_until(lambda: answer(api, "soup")[0] == "")
    assert server.cli("admin", "campaign", "resume", "--id", str(made["id"]))["state"] == "active"
    wait_until(lambda: answer(api, "soup")[0] == "soup")
    assert [row[0] for row in _audit_rows(server, "campaign.pause")][-1] == ME


def test_an_archived_campaign_stops_for_good_and_its_history_keeps_its_name(site, editor, api) -> None:  # noqa: ANN001
    server, _, _ = site
    workspace = server.creds["instance_id"]
    made = create(server, editor, "cake", "CAKE", 240)
    sender = "584145550140"
    assert answer(api, "cake!", sender) == ("cake", "reply of cake")
    archived = editor.post(f"/campaigns/{made['id']}/archive")
    assert archived.status_code == 200 and archived.json()["state"] == "archived"
    assert archived.json()["archived_at_ms"] is not None
    assert answer(api, "cake!")[0] == ""
    assert made["id"] not in [c["id"] for c in editor.get(f"/workspaces/{workspace}/campaigns").json()["campaigns"]]
    assert made["id"] in [c["id"] for c in editor.get(f"/workspaces/{workspace}/campaigns",
                                                      params={"all": "true"}).json()["campaigns"]]
    assert made["id"] not in [c["id"] for c in server.cli("admin", "campaign", "list")["campaigns"]]
    assert made["id"] in [c["id"] for c in server.cli("admin", "campaign", "list", "--all")["campaigns"]]

    # its MOs keep naming it, in getMOMessages and in mo list
    first = api.get_mo_messages(1, 20, from_=sender, order="asc").messages[0]
    assert (first.campaign, first.response_message_id is not None) == ("cake", True)
    assert server.cli("mo", "list", "--from", sender, "--order", "asc")["messages"][0]["campaign"] == "cake"

    # it can be neither edited nor resumed, with the same words both ways
    words = f"Invalid parameter id: campaign {made['id']} (cake) is archived: it cannot be edited"
    assert refused_by_cli(server, "campaign", "edit", "--id", str(made["id"]), "--reply", "x") == words
    edited = editor.patch(f"/campaigns/{made['id']}", json={"reply": "x"})
    assert edited.status_code == 400 and edited.json() == {"error": words.replace("parameter id", "parameter campaign_id"),
                                                            "parameter": "campaign_id"}
    assert "cannot be resumed" in editor.post(f"/campaigns/{made['id']}/resume").json()["error"]
    assert "cannot be resumed" in refused_by_cli(server, "campaign", "resume", "--id", str(made["id"]))
    assert state_of(server, made["id"])[2:5] == ("reply of cake", 240, False)

    # its keyword is free for a new campaign, which answers at once
    again = create(server, editor, "cake again", "CAKE", 240)
    assert answer(api, "cake!") == ("cake again", "reply of cake again")
    assert server.cli("admin", "campaign", "archive", "--id", str(again["id"]))["state"] == "archived"
    wait_until(lambda: answer(api, "cake!")[0] == "")
    assert [row[0] for row in _audit_rows(server, "campaign.archive")][-2:] == ["user:ad@example.com", ME]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PATCH", "", {"reply": "viewer was here"}),
    ("POST", "/pause", None),
    ("POST", "/resume", None),
    ("POST", "/archive", None),
])
def test_a_viewer_may_not_change_a_campaign_nothing_changes_nothing_is_audited(
        site, people, editor, method, path, body) -> None:  # noqa: ANN001
    server, _, _ = site
    _, tokens = people
    made = create(server, editor, f"viewer {method}{path}", f"VIEWER{len(path)}{method}", 250)
    if path == "/resume":
        editor.post(f"/campaigns/{made['id']}/pause")
    unchanged, entries = state_of(server, made["id"]), server.count("audit_log")
    refused = editor.request(method, f"/campaigns/{made['id']}{path}", json=body, headers=_bearer(tokens["vi"]))
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden: campaigns needs the role editor; you have the role viewer"
    assert (state_of(server, made["id"]), server.count("audit_log")) == (unchanged, entries)
