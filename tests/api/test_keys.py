"""Key expiry, rotation and last use against a real server process: an expired key answers exactly as a
revoked one and stores nothing, set-expiry --never brings it back, a rotated key keeps working for its
overlap only, the time of a key's last request reaches ``key list`` in a batch, and the CLI's and the
admin API's refusals name the parameter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import Server, make_server, run_mecm
from tests.support.waiting import wait_until

TO = "13056708084"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("keys"), key_last_used_flush_s="0.2")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin_api(server: Server) -> Iterator[httpx.Client]:
    with server.admin_api() as http:
        yield http


def new_key(server: Server, *options: str) -> dict:
    return server.cli("admin", "key", "create", "--workspace", str(server.creds["instance_id"]), *options)


def send(server: Server, creds: dict, text: str = "hi") -> httpx.Response:
    """A sendSMS signed with ``creds`` (a key of the demo workspace)."""
    c = server.creds
    path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), b64(text)],
                              creds={**creds, "instance_id": c["instance_id"]})
    return httpx.get(server.url + path, timeout=10)


def status_of(response: httpx.Response) -> str:
    return response.headers["x-mecm-status"]


def refused_and_nothing_stored(server: Server, creds: dict) -> httpx.Response | None:
    """The answer to a send with ``creds`` if it was BAD_SIGNATURE and stored no message, else None."""
    before = server.count("messages")
    response = send(server, creds, "must not be stored")
    if status_of(response) != "BAD_SIGNATURE":
        return None
    assert server.count("messages") == before, "a refused request stored a message"
    return response


def listed(server: Server, public_key: str) -> dict:
    [row] = [k for k in server.cli("admin", "key", "list")["keys"] if k["public_key"] == public_key]
    return row


def cli_refusal(server: Server, *args: str) -> str:
    """The error ``mecm ... --json`` reports (it must exit 2, bad input)."""
    done = run_mecm([*args, "--json"], env=server.env)
    assert done.returncode == 2, done.stdout + done.stderr
    return json.loads(done.stdout)["error"]


def test_an_expired_key_answers_as_a_revoked_one_and_never_works_again_the_expiry(server: Server) -> None:
    revoked, key = new_key(server), new_key(server)
    server.cli("admin", "key", "revoke", "--public-key", revoked["public_key"])
    assert status_of(send(server, key)) == "OK"  # a key new to the server is read at once

    server.cli("admin", "key", "set-expiry", "--public-key", key["public_key"], "--expires", "2020-01-01")
    expired_answer = wait_until(lambda: refused_and_nothing_stored(server, key))
    revoked_answer = wait_until(lambda: refused_and_nothing_stored(server, revoked))
    assert (expired_answer.status_code, expired_answer.content) == (revoked_answer.status_code, revoked_answer.content)
    assert listed(server, key["public_key"])["state"] == "expired"

    server.cli("admin", "key", "set-expiry", "--public-key", key["public_key"], "--never")
    wait_until(lambda: status_of(send(server, key)) == "OK")
    assert listed(server, key["public_key"])["state"] == "active"


def test_a_key_stops_at_its_expiry_without_being_changed(server: Server) -> None:
    key = new_key(server, "--expires-in", "10s")  # a CLI process may take seconds to start here
    assert status_of(send(server, key)) == "OK"
    assert listed(server, key["public_key"])["expires_at"] == key["expires_at"]
    wait_until(lambda: refused_and_nothing_stored(server, key), timeout=20)


def test_rotate_gives_a_key_that_works_at_once_and_the_old_works_for_the_overlap_only(server: Server) -> None:
    old = new_key(server)
    assert status_of(send(server, old)) == "OK"
    # A short overlap, though long enough for the two requests below on a loaded machine.
    new = server.cli("admin", "key", "rotate", "--public-key", old["public_key"], "--overlap", "8s")
    assert new["old_public_key"] == old["public_key"] and new["private_key"]
    assert status_of(send(server, new)) == "OK"  # no wait: an unknown key makes the server re-read keys
    assert status_of(send(server, old)) == "OK"  # within the overlap
    wait_until(lambda: refused_and_nothing_stored(server, old), timeout=20)
    assert status_of(send(server, new)) == "OK"
    assert listed(server, old["public_key"])["state"] == "expired"
    assert listed(server, new["public_key"])["state"] == "active"


def test_rotate_through_the_admin_api_with_no_overlap_revokes_the_old_key_now(
        server: Server, admin_api: httpx.Client) -> None:
    old = new_key(server)
    assert status_of(send(server, old)) == "OK"
    answer = admin_api.post(f"/keys/{old['public_key']}/rotate", json={"overlap": "0"})
    assert answer.status_code == 201, answer.text
    new = answer.json()
    assert new["old_revoked"] and new["instance_id"] == server.creds["instance_id"]
    # The admin API's write reloads the serving process's catalog: no refresh interval to wait for.
    assert refused_and_nothing_stored(server, old) is not None
    assert status_of(send(server, new)) == "OK"
    states = {k["public_key"]: k["state"] for k in
              admin_api.get(f"/workspaces/{server.creds['instance_id']}/keys").json()["keys"]}
    assert states[old["public_key"]] == "revoked" and states[new["public_key"]] == "active"


def test_last_use_reaches_the_key_listing_in_a_batch(server: Server, admin_api: httpx.Client) -> None:
    used, unused = new_key(server), new_key(server)
    assert listed(server, used["public_key"])["last_used_at"] is None
    before = datetime.now().astimezone()
    assert status_of(send(server, used)) == "OK"
    after = datetime.now().astimezone()
    last_used = wait_until(lambda: listed(server, used["public_key"])["last_used_at"])
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= datetime.fromisoformat(last_used) <= after
    assert listed(server, unused["public_key"])["last_used_at"] is None
    keys = admin_api.get(f"/workspaces/{server.creds['instance_id']}/keys").json()["keys"]
    assert {k["public_key"]: k["last_used_at"] for k in keys}[used["public_key"]] == last_used
    refused = new_key(server)
    # Revoked through the admin API, which reloads the serving process's catalog before it answers: a
    # CLI revoke is seen only at the next refresh, and a send before it would be a use.
    assert admin_api.post(f"/keys/{refused['public_key']}/revoke").status_code == 200
    assert refused_and_nothing_stored(server, refused) is not None
    assert status_of(send(server, used)) == "OK"  # a later flush, after the refused request's
    wait_until(lambda: listed(server, used["public_key"])["last_used_at"] != last_used)
    assert listed(server, refused["public_key"])["last_used_at"] is None  # refused: not a use


@pytest.mark.parametrize(("args", "message"), [
    # A key that does not exist: the same words as the admin API's 404 (services/admin/lookups.py).
    (("key", "set-expiry", "--public-key", "NOSUCHKEY", "--never"), "no key NOSUCHKEY"),
    (("key", "rotate", "--public-key", "NOSUCHKEY"), "no key NOSUCHKEY"),
    (("key", "create", "--expires", "2027-02-30"), "Invalid parameter expires: '2027-02-30' is not an ISO 8601"),
    (("key", "create", "--expires-in", "5x"), "Invalid parameter expires-in: '5x' is not a duration"),
    (("key", "create", "--expires", "2020-01-01"), "Invalid parameter expires: '2020-01-01' is already past"),
])
def test_cli_refusals_name_the_parameter_and_write_nothing(server: Server, args: tuple, message: str) -> None:
    keys_before = server.count("api_keys")
    workspace = ("--workspace", str(server.creds["instance_id"])) if args[1] == "create" else ()
    assert cli_refusal(server, "admin", *args, *workspace).startswith(message)
    assert server.count("api_keys") == keys_before


def test_rotate_refuses_a_bad_overlap_and_keeps_the_old_key(server: Server, admin_api: httpx.Client) -> None:
    old = new_key(server)
    keys_before = server.count("api_keys")
    assert cli_refusal(server, "admin", "key", "rotate", "--public-key", old["public_key"], "--overlap", "1 day") \
        .startswith("Invalid parameter overlap: '1 day' is not a duration")
    answer = admin_api.post(f"/keys/{old['public_key']}/rotate", json={"overlap": "x", "expires_in": "1d"})
    assert answer.status_code == 400 and answer.json()["parameter"] == "overlap"
    answer = admin_api.patch(f"/keys/{old['public_key']}", json={"expires_in": "soon"})
    assert answer.status_code == 400 and answer.json()["parameter"] == "expires_in"
    assert admin_api.post("/keys/NOSUCHKEY/rotate", json={}).status_code == 404
    assert server.count("api_keys") == keys_before
    assert listed(server, old["public_key"])["expires_at"] is None
    assert status_of(send(server, old)) == "OK"
