"""Issue 4, campaign actions and status callbacks, with real peers: an HTTP server that receives the
webhooks and checks their signature, an SMTP server (aiosmtpd) that receives the e-mail, and
``mecm serve`` as a process (its worker delivers the outbox)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from mecm.client import Client
from mecm.delivery.webhooks import SIGNATURE_HEADER, verify
from tests.support.peers import WebhookReceiver, smtp_server, webhook_receiver
from tests.support.server import Server, make_server

pytestmark = pytest.mark.integration

ROUTES = {
    "/flaky": [(500, "text/plain", "down")] * 3 + [(200, "application/json", "{}")],
    "/dead": [(503, "text/plain", "no")],
    "/answer": [(200, "text/plain; charset=utf-8", "Su saldo es 42")],
    "/status": [(204, "text/plain", "")],
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Client, WebhookReceiver, list]]:
    with webhook_receiver(ROUTES) as receiver, smtp_server() as (smtp_port, mails):
        # The receiver is on loopback, where webhooks go only when the operator allows it.
        server = make_server(tmp_path_factory.mktemp("actions"), outbound_allow="127.0.0.1/32",
                             outbox_retry_base_s="0.2", outbox_max_attempts="4",
                             smtp_host="127.0.0.1", smtp_port=str(smtp_port), smtp_from="mecm@test.example")
        server.start()
        c = server.creds
        try:
            with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api:
                yield server, api, receiver, mails
        finally:
            server.stop()


def campaign(server: Server, name: str, keyword: str, *options: str) -> dict:
    row = server.cli("admin", "campaign", "add", "--workspace", str(server.creds["instance_id"]),
                     "--code", server.creds["code"], "--name", name, "--keyword", keyword, "--match", "word",
                     *options)
    server.wait_for_catalog()
    return row


def secret(server: Server) -> str:
    return server.cli("admin", "workspace", "webhook-secret", "--workspace", str(server.creds["instance_id"]))[
        "webhook_secret"]


def test_a_webhook_that_fails_three_times_then_succeeds_is_delivered_once(world) -> None:  # noqa: ANN001
    server, api, receiver, _ = world
    campaign(server, "flaky", "FLAKY", "--action", f"webhook:{receiver.url('/flaky')}")
    mo = api.fire_message("584145550010", "flaky one")
    receiver.wait_for(lambda: server.query("SELECT state FROM outbox WHERE mo_id = ?", mo.id) == [("done",)])
    posts = receiver.on("/flaky")
    assert len(posts) == 4  # the fourth succeeded: the job is done, no fifth post can come
    assert len({p.headers["X-Mecm-Delivery"] for p in posts}) == 1  # one delivery, retried
    body = posts[-1].json()
    assert body == {**body, "event": "mo", "id": str(mo.id), "from": "584145550010", "to": server.creds["code"],
                    "text": "flaky one", "campaign": "flaky"}
    key = secret(server)
    assert all(verify(key, p.body, p.headers[SIGNATURE_HEADER]) for p in posts)
    assert not verify("another key", posts[0].body, posts[0].headers[SIGNATURE_HEADER])
    done = server.query("SELECT state, attempts FROM outbox WHERE mo_id = ?", mo.id)
    assert done == [("done", 4)]


def test_a_webhook_that_always_fails_is_dead_lettered_then_replayed_by_the_cli(world) -> None:  # noqa: ANN001
    server, api, receiver, _ = world
    campaign(server, "dead", "DEAD", "--action", f"webhook:{receiver.url('/dead')}")
    mo = api.fire_message("584145550011", "dead")

    def dead() -> list:
        return server.cli("admin", "webhook", "list", "--state", "dead")["jobs"]

    (job,) = receiver.wait_for(dead)
    assert (job["mo_id"], job["attempts"], job["last_error"]) == (mo.id, 4, "HTTP 503")
    assert len(receiver.on("/dead")) == 4
    receiver.routes["/dead"] = [(200, "application/json", "{}")]  # the receiver is fixed
    assert server.cli("admin", "webhook", "replay", "--id", str(job["id"])) == {"replayed": 1}
    receiver.wait_for(lambda: len(receiver.on("/dead")) == 5)
    receiver.wait_for(lambda: server.query("SELECT state FROM outbox WHERE id = ?", job["id"]) == [("done",)])


def test_a_webhook_text_answer_is_sent_as_the_reply(world) -> None:  # noqa: ANN001
    server, api, receiver, _ = world
    campaign(server, "saldo", "SALDO", "--action", f"webhook:{receiver.url('/answer')}")
    mo = api.fire_message("584145550012", "saldo")
    assert mo.response_message_id is None  # the answer comes later, from the webhook
    rows = receiver.wait_for(lambda: server.query(
        "SELECT id, text, recipient, kind FROM messages WHERE mo_id = ?", mo.id))
    (reply_id, text, recipient, kind), = rows
    assert (text, recipient, kind) == ("Su saldo es 42", "584145550012", "reply")
    assert receiver.wait_for(lambda: api.get_message(reply_id).status == "DELIVERED_TO_DEVICE")


def test_email_forward_and_templated_reply_in_order(world) -> None:  # noqa: ANN001
    server, api, receiver, mails = world
    server.cli("admin", "campaign", "add", "--workspace", str(server.creds["instance_id"]), "--code",
               server.creds["code"], "--name", "order", "--keyword", r"^ORDER (\d+) (\w+)", "--priority", "3",
               "--reply", "Order {{1}} for {{2}} received, {{from}}",
               "--action", "forward:584145559999 New order from {{from}}: {{text}}",
               "--action", "email:sales@test.example",
               "--email-subject", "Order {{1}} via {{to}}", "--email-body", "{{from}} wrote: {{text}}")
    server.wait_for_catalog()
    mo = api.fire_message("584145550013", "order 77 pizza")
    reply = api.get_message(mo.response_message_id)
    assert reply.text == "Order 77 for pizza received, 584145550013" and reply.to == "584145550013"
    (forward,) = server.query("SELECT recipient, text FROM messages WHERE mo_id = ? AND kind = 'forward'", mo.id)
    assert forward == ("584145559999", "New order from 584145550013: order 77 pizza")
    (mail,) = receiver.wait_for(lambda: mails)
    assert mail["To"] == "sales@test.example" and mail["From"] == "mecm@test.example"
    assert mail["Subject"] == f"Order 77 via {server.creds['code']}"
    assert mail.get_content().strip() == "584145550013 wrote: order 77 pizza"


def test_status_callbacks_report_every_change_signed(world) -> None:  # noqa: ANN001
    server, api, receiver, _ = world
    workspace = str(server.creds["instance_id"])
    server.cli("admin", "workspace", "set-callback", "--workspace", workspace, "--url", receiver.url("/status"))
    sent = api.send_sms("584145550014", "track me", from_=server.creds["code"])
    posts = receiver.wait_for(lambda: (found := [p for p in receiver.on("/status") if p.json()["id"] == str(sent.id)])
                              and found[-1].json()["status"] == "DELIVERED_TO_DEVICE" and found)
    assert [p.json()["status"] for p in posts] == ["SENDING", "SENT_TO_CARRIER", "DELIVERED_TO_DEVICE"]
    assert all(p.headers["X-Mecm-Event"] == "status" for p in posts)
    key = secret(server)
    assert all(verify(key, p.body, p.headers[SIGNATURE_HEADER]) for p in posts)
    server.cli("admin", "workspace", "set-callback", "--workspace", workspace, "--url", "")
    callbacks = server.count("outbox", "kind = 'status'")
    quiet = api.send_sms("584145550015", "untracked", from_=server.creds["code"])
    # A callback is queued with the status change it reports (a trigger, in the same transaction).
    assert receiver.wait_for(lambda: api.get_message(quiet.id).status == "DELIVERED_TO_DEVICE")
    assert server.count("outbox", "kind = 'status'") == callbacks
    receiver.wait_for(lambda: server.count("outbox", "state = 'pending'") == 0)
    assert not [p for p in receiver.on("/status") if p.json()["id"] == str(quiet.id)]


@pytest.mark.parametrize(("spec", "reason"), [
    ("webhook:ftp://x", "is not an http(s) URL"),
    ("email:nobody", "is not an e-mail address"),
    ("forward:12", "not a valid phone number"),
    ("shout:HELLO", "is not TYPE:ARGUMENT"),
])
def test_bad_actions_are_refused_naming_the_option(world, spec: str, reason: str) -> None:  # noqa: ANN001
    server, _, _, _ = world
    before = server.count("campaigns")
    with pytest.raises(RuntimeError, match=f"Invalid parameter action: .*{re.escape(reason)}"):
        campaign(server, "bad", "BAD", "--action", spec)
    assert server.count("campaigns") == before
