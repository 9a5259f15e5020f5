"""The admin JSON API (/admin/api) of a running ``mecm serve``: its OpenAPI document validates, each
route works and refuses bad input naming the parameter, and schemathesis, generating requests from
the document, finds no server error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from tests.support.server import make_server, run_mecm


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    server = make_server(tmp_path_factory.mktemp("admin-api"))
    token = server.admin_token
    server.start()
    try:
        with server.admin_api() as http:
            yield server, http, token
    finally:
        server.stop()


def test_the_openapi_document_validates(admin) -> None:  # noqa: ANN001
    server, _, _ = admin
    document = httpx.get(f"{server.url}/admin/api/openapi.json").json()
    validate(document)
    assert document["components"]["securitySchemes"]["adminToken"] == {"type": "http", "scheme": "bearer"}


def test_without_the_token_nothing_is_answered(admin) -> None:  # noqa: ANN001
    server, _, _ = admin
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(f"{server.url}/admin/api/workspaces", json={"name": "x"}, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert server.count("workspaces", "name = 'x'") == 0


def test_workspace_campaign_list_member_broadcast(admin) -> None:  # noqa: ANN001
    server, http, _ = admin
    created = http.post("/workspaces", json={"name": "acme", "timezone": "UTC"})
    assert created.status_code == 201
    workspace = created.json()["instance_id"]
    assert "acme" in [w["name"] for w in http.get("/workspaces").json()["workspaces"]]
    server.cli("admin", "code", "add", "--workspace", str(workspace), "--code", "55501")

    campaign = http.post(f"/workspaces/{workspace}/campaigns", json={
        "code": "55501", "name": "promo", "keyword": "PROMO", "match": "word", "reply": "Hi {{from}}",
        "actions": ["webhook:https://example.com/mo"], "cap": 2})
    assert campaign.status_code == 201, campaign.text
    assert campaign.json()["actions"] == [{"type": "webhook", "url": "https://example.com/mo"}]
    assert [c["name"] for c in http.get(f"/workspaces/{workspace}/campaigns").json()["campaigns"]] == ["promo"]
    clash = http.post(f"/workspaces/{workspace}/campaigns", json={"code": "55501", "name": "again",
                                                                 "keyword": "promo", "match": "word", "reply": "r"})
    assert clash.status_code == 400 and "collides with active campaign 'promo'" in clash.json()["error"]

    listed = http.post(f"/workspaces/{workspace}/lists", json={"name": "vip"}).json()
    member = http.post(f"/lists/{listed['id']}/members", json={"number": "+584141234567", "fields": {"name": "Ana"}})
    assert member.status_code == 201 and member.json()["number"] == "584141234567"
    assert http.get(f"/workspaces/{workspace}/lists").json()["lists"][0]["members"] == 1
    broadcast = http.post(f"/lists/{listed['id']}/broadcasts",
                          json={"code": "55501", "text": "Hola {{name}}", "at": "2099-01-01T00:00"})
    assert broadcast.status_code == 201
    status = http.get(f"/broadcasts/{broadcast.json()['id']}").json()
    assert (status["state"], status["members"], status["enqueued"]) == ("scheduled", 1, 0)
    assert http.post(f"/broadcasts/{broadcast.json()['id']}/cancel").json()["state"] == "cancelled"
    removed = http.delete(f"/lists/{listed['id']}/members/584141234567")
    assert removed.json()["removed"] is True


@pytest.mark.parametrize(("path", "body", "parameter"), [
    ("/workspaces", {}, "name"),
    ("/workspaces", {"name": 5}, "name"),
    ("/workspaces", {"name": "x", "timezone": "Mars/Base"}, "timezone"),
    ("/workspaces", [1, 2], "body"),
    ("/workspaces/1/campaigns", {"code": "nope", "name": "c", "keyword": "K"}, "code"),
    ("/workspaces/1/campaigns", {"code": "19893653744", "name": "c", "keyword": "(", "reply": "r"}, "keyword"),
    ("/workspaces/1/campaigns", {"code": "19893653744", "name": "c", "keyword": "Z", "reply": "r",
                                 "priority": True}, "priority"),
    ("/workspaces/1/lists", {"name": "\ud800"}, "name"),
])
def test_bad_input_names_the_parameter_and_writes_nothing(admin, path: str, body: object, parameter: str) -> None:  # noqa: ANN001, E501
    server, http, _ = admin
    before = server.count("workspaces") + server.count("campaigns") + server.count("lists")
    content = json.dumps(body).encode()  # ASCII, with a lone surrogate as the escape \ud800
    response = http.post(path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter
    assert server.count("workspaces") + server.count("campaigns") + server.count("lists") == before


def test_hostile_input_is_a_400_not_a_server_error(admin) -> None:  # noqa: ANN001
    _, http, _ = admin
    deep = http.post("/workspaces", content=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert deep.status_code == 400 and deep.json()["parameter"] == "body"
    long_id = http.get("/workspaces/" + "9" * 5000 + "/campaigns")
    assert long_id.status_code == 400 and long_id.json()["parameter"] == "workspace_id"
    field = http.post("/lists/1/members", json={"number": "584141234567", "fields": {"First-Name": "Ana"}})
    assert field.status_code == 400 and field.json()["parameter"] == "fields"


def test_unknown_ids_are_404(admin) -> None:  # noqa: ANN001
    _, http, _ = admin
    assert http.get("/workspaces/999/campaigns").status_code == 404
    assert http.get("/broadcasts/999").status_code == 404
    assert http.post("/lists/999/members", json={"number": "584141234567"}).status_code == 404


@pytest.mark.parametrize(("cli", "method", "path", "body", "status", "words"), [
    (("list", "add", "--list", "999", "--number", "584141234567"), "POST", "/lists/999/members",
     {"number": "584141234567"}, 404, "no list 999"),
    (("broadcast", "cancel", "--id", "999"), "POST", "/broadcasts/999/cancel", None, 404, "no broadcast 999"),
    (("campaign", "list", "--workspace", "999"), "GET", "/workspaces/999/campaigns", None, 404,
     "no workspace 999"),
    (("key", "rotate", "--public-key", "NOSUCHKEY"), "POST", "/keys/NOSUCHKEY/rotate", {}, 404,
     "no key NOSUCHKEY"),
    (("workspace", "create", "--name", "x", "--timezone", "Mars/Olympus"), "POST", "/workspaces",
     {"name": "x", "timezone": "Mars/Olympus"}, 400, "Invalid parameter timezone: unknown time zone 'Mars/Olympus'"),
])
def test_the_cli_and_the_api_refuse_with_the_same_words(admin, cli, method, path, body, status,  # noqa: ANN001
                                                        words) -> None:  # noqa: ANN001
    """One use case behind both (services/admin): the CLI exits 2 and the API answers 404 (an id that
    names nothing) or 400, each with the same words, and nothing is written."""
    server, http, _ = admin
    workspaces_before = server.count("workspaces")
    done = run_mecm(["admin", *cli, "--json"], env=server.env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout)["error"] == words
    answer = http.request(method, path, json=body)
    assert answer.status_code == status and answer.json()["error"] == words
    assert server.count("workspaces") == workspaces_before


def test_schemathesis_finds_no_server_error(admin, tmp_path: Path) -> None:  # noqa: ANN001
    server, _, token = admin
    done = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/admin/api/openapi.json",
         "--header", f"Authorization: Bearer {token}", "--checks", "not_a_server_error",
         "--max-examples", "30", "--seed", "1", "--phases", "examples,coverage,fuzzing"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    log = (server.home / "server.log").read_text()
    assert "Traceback" not in log, log[-4000:]
