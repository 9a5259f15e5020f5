"""Issue 12, fix 3: webhooks and status callbacks do not reach internal addresses unless the operator
allows them (``outbound_allow``). At 19e1a04 a loopback service's ``text/plain`` answer went out to
the subscriber as an SMS.

``mecm serve`` runs as a process with no allow-list; its receiver is a real HTTP server on 127.0.0.1
that counts the connections it accepts. Only addresses written in URLs are refused at configuration;
``localhost`` is a name, so it is refused where it counts: at connection time, on what it resolves to.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mecm.client import Client
from tests.support.peers import WebhookReceiver, webhook_receiver
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

ANSWER = "/answer?token=s3cret"  # a token in the URL, which no log line may show
ROUTES = {ANSWER: [(200, "text/plain", "Internal balance 42")], "/status": [(204, "text/plain", "")]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Client, WebhookReceiver, httpx.Client]]:
    with webhook_receiver(ROUTES) as receiver:
        server = make_server(tmp_path_factory.mktemp("outbound"), outbox_retry_base_s="0.2")
        workspace = str(server.creds["instance_id"])
        server.cli("admin", "workspace", "webhook-secret", "--workspace", workspace)  # known from the start
        token = server.cli("admin", "token")["admin_token"]
        server.start()
        c = server.creds
        try:
            with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api, \
                    httpx.Client(base_url=f"{server.url}/admin/api", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as admin:
                yield server, api, receiver, admin
        finally:
            server.stop()


def test_the_cli_refuses_an_internal_address_in_any_spelling_naming_the_option(world) -> None:  # noqa: ANN001
    server, _, receiver, _ = world
    workspace = str(server.creds["instance_id"])
    before = server.count("campaigns")
    with pytest.raises(RuntimeError, match=r"Invalid parameter action: 127\.0\.0\.1 is a loopback address.*"
                                           r"outbound_allow \(MECM_OUTBOUND_ALLOW\)"):
        server.cli("admin", "campaign", "add", "--workspace", workspace, "--code", server.creds["code"],
                   "--name", "hex", "--keyword", "HEX", "--action", f"webhook:http://0x7f.0.0.1:{receiver.port}/")
    with pytest.raises(RuntimeError, match=r"Invalid parameter url: ::ffff:a9fe:a9fe is 169\.254\.169\.254, "
                                           r"a link-local address"):
        server.cli("admin", "workspace", "set-callback", "--workspace", workspace,
                   "--url", "http://[::ffff:169.254.169.254]/latest/meta-data/")
    assert server.count("campaigns") == before
    assert server.query("SELECT status_callback_url FROM workspaces WHERE id = ?", int(workspace)) == [(None,)]
    assert receiver.connections == 0


def test_the_admin_api_refuses_an_internal_address_naming_the_parameter(world) -> None:  # noqa: ANN001
    server, _, receiver, admin = world
    before = server.count("campaigns")
    answer = admin.post(f"/workspaces/{server.creds['instance_id']}/campaigns", json={
        "code": server.creds["code"], "name": "dec", "keyword": "DEC", "match": "word",
        "actions": [f"webhook:http://2130706433:{receiver.port}/"]})
    assert answer.status_code == 400
    assert answer.json()["parameter"] == "actions"
    assert "127.0.0.1 is a loopback address" in answer.json()["error"]
    assert server.count("campaigns") == before and receiver.connections == 0


def test_a_status_callback_to_a_name_of_loopback_is_dead_at_once_without_a_connection(world) -> None:  # noqa: ANN001
    server, api, receiver, _ = world
    workspace = str(server.creds["instance_id"])
    server.cli("admin", "workspace", "set-callback", "--workspace", workspace,
               "--url", f"http://localhost:{receiver.port}/status")
    try:
        sent = api.send_sms("584145550020", "tracked", from_=server.creds["code"])
        jobs = wait_until(lambda: (rows := server.query(
            "SELECT state, attempts, last_error FROM outbox WHERE kind = 'status' AND payload LIKE ?",
            f'%"{sent.id}"%')) and all(state == "dead" for state, _, _ in rows) and len(rows) >= 3 and rows)
    finally:
        server.cli("admin", "workspace", "set-callback", "--workspace", workspace, "--url", "")
    assert {(attempts, "localhost: 127.0.0.1 is a loopback address" in error) for _, attempts, error in jobs} == {
        (1, True)}
    assert receiver.connections == 0


def test_a_loopback_webhook_is_refused_until_the_operator_allows_it(world) -> None:  # noqa: ANN001
    """The regression: no connection, the job dead at its first attempt with the reason, no SMS; then,
    the address allowed, the same job replayed is delivered and its answer sent as the reply."""
    server, api, receiver, admin = world
    created = admin.post(f"/workspaces/{server.creds['instance_id']}/campaigns", json={
        "code": server.creds["code"], "name": "balance", "keyword": "BALANCE", "match": "word",
        "actions": [f"webhook:http://localhost:{receiver.port}{ANSWER}"]})
    assert created.status_code == 201, created.text  # a name: it is checked when it is resolved
    mo = api.fire_message("584145550021", "balance please")

    def job() -> tuple | None:
        rows = server.query("SELECT id, state, attempts, last_error FROM outbox WHERE mo_id = ?", mo.id)
        return rows[0] if rows and rows[0][1] == "dead" else None

    job_id, _, attempts, error = wait_until(job)
    assert attempts == 1  # permanent: not retried
    assert error == "localhost: 127.0.0.1 is a loopback address; not allowed (setting outbound_allow)"
    assert receiver.connections == 0 and receiver.on(ANSWER) == []
    assert server.count("messages", "mo_id = ? AND kind = 'reply'", mo.id) == 0
    log = (server.home / "server.log").read_text()
    assert f"outbox job {job_id} (webhook to localhost) dead: localhost: 127.0.0.1 is a loopback" in log
    assert "s3cret" not in log

    server.stop()
    server.env["MECM_OUTBOUND_ALLOW"] = "127.0.0.1/32,::1/128"
    server.start()
    assert server.cli("admin", "webhook", "replay", "--id", str(job_id)) == {"replayed": 1}
    receiver.wait_for(lambda: receiver.on(ANSWER))
    reply = wait_until(lambda: server.query("SELECT text, recipient FROM messages WHERE mo_id = ? AND kind = 'reply'",
                                            mo.id))
    assert reply == [("Internal balance 42", "584145550021")]
