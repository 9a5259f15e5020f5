"""Prepaid credit and dry run against a real server process (SPEC sections 4, 5 and 9): no price list
changes nothing; a priced send is debited with a ledger row; short of funds answers NOT_ENOUGH_FUNDS
and stores nothing; a message no carrier took is refunded; a low balance queues one callback; a dry
run answers a quote and stores, sends and debits nothing."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.api.test_methods import call, ok, send_sms_path, wait_status
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

NUMBERS = iter(f"1305671{n:04d}" for n in range(0, 9999))  # a number per test: opt-outs are per number
DRY_RUN = {"X-Mecm-Dry-Run": "1"}


@pytest.fixture()
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server per test: each test starts with its own balance and price list."""
    srv = make_server(tmp_path_factory.mktemp("credit"), outbound_allow="127.0.0.1/32")
    srv.start()
    yield srv
    srv.stop()


def workspace(server: Server) -> str:
    return str(server.creds["instance_id"])


def balance(server: Server) -> str | None:
    return server.cli("admin", "credit", "balance", "--workspace", workspace(server))["balance"]


def price(server: Server, per_segment: str, *extra: str) -> None:
    """Set a price and wait until the server's catalog has it (a dry run quotes it)."""
    server.cli("admin", "price", "set", "--workspace", workspace(server), "--per-segment", per_segment, *extra)
    wait_until(lambda: quote(server, send_sms_path(server, "x")).findtext("price") is not None)


def quote(server: Server, path: str) -> ET.Element:
    return ok(call(server, path, headers=DRY_RUN)).find("quote")


def messages(server: Server) -> int:
    """Messages but the answers to STOP (a test's opt-out sends one)."""
    return server.count("messages", "kind <> 'confirm'")


def test_without_a_price_list_nothing_changes(server: Server) -> None:
    message = ok(call(server, send_sms_path(server, "free"))).find("messages/message")
    assert message.findtext("status") == "PENDING"
    assert server.query("SELECT price FROM messages WHERE id = ?", int(message.findtext("id"))) == [(None,)]
    assert balance(server) is None
    assert server.count("credit_ledger") == 0
    assert quote(server, send_sms_path(server, "free")).findtext("price") is None  # no price in the quote


def test_a_priced_send_is_debited_with_a_ledger_row(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "1", "--reason", "first")
    price(server, "0.01")
    text = "x" * 300  # 2 segments of GSM 7-bit
    message = ok(call(server, send_sms_path(server, text))).find("messages/message")
    assert message.findtext("segments") == "2"
    assert balance(server) == "0.98"
    ledger = server.cli("admin", "credit", "ledger", "--workspace", workspace(server))["ledger"]
    assert [(r["kind"], r["amount"], r["balance_after"], r["message_id"]) for r in ledger] == [
        ("debit", "-0.02", "0.98", message.findtext("id")),
        ("top-up", "1.00", "1.00", None),
    ]
    assert server.query("SELECT price FROM messages WHERE id = ?", int(message.findtext("id"))) == [(20_000,)]


def test_short_of_funds_is_not_enough_funds_and_nothing_is_stored(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "0.015")
    price(server, "0.01")
    ok(call(server, send_sms_path(server, "one")))
    before = messages(server)
    root = call(server, send_sms_path(server, "two"))
    assert (root.findtext("status"), root.findtext("description")) == ("NOT_ENOUGH_FUNDS", "Not enough funds")
    assert root.find("result") is None or len(root.find("result")) == 0
    assert messages(server) == before
    assert balance(server) == "0.005"
    # A PIN is refused the same way, and leaves no PIN behind either.
    c = server.creds
    pin = call(server, server.signed_path("sendSMSPinMobileNumberConfirm",
                                          [workspace(server), c["carrier"], c["code"], next(NUMBERS), b64("{pin}"), "6"]))
    assert pin.findtext("status") == "NOT_ENOUGH_FUNDS"
    assert server.count("pins") == 0 and messages(server) == before


def test_a_number_the_price_list_does_not_price_is_refused(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "1")
    price(server, "0.01", "--prefix", "1305")
    root = call(server, send_sms_path(server, "hi", to="584141234567"))
    assert root.findtext("status") == "INVALID_PARAMETER"
    assert root.findtext("description").startswith("Invalid parameter mobileNumber: no price")


def stop(server: Server, number: str) -> None:
    ok(call(server, server.signed_path("fireMessage", [workspace(server), number, b64("STOP")], tools=False)))


def test_an_opted_out_subscriber_costs_nothing_and_a_message_no_carrier_took_is_refunded(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "1")
    price(server, "0.10")
    # Opted out before the send: stored NOT_SENT at once, never charged.
    opted_out = next(NUMBERS)
    stop(server, opted_out)
    refused = ok(call(server, send_sms_path(server, "promo", to=opted_out))).find("messages/message")
    assert refused.findtext("status") == "NOT_SENT"
    assert balance(server) == "1.00"
    # Accepted (charged) for later, then the subscriber opts out: the claim makes it NOT_SENT and
    # gives the price back, in the same transaction.
    later = next(NUMBERS)
    c = server.creds
    at = int(time.time() * 1000) + 8000  # due in 8 s: time to opt out before its turn
    path = server.signed_path("sendMT", [workspace(server), c["code"], c["carrier"], later, b64("later"), f"at={at}"],
                              tools=False)
    message = ok(call(server, path)).find("messages/message")
    stop(server, later)
    assert server.query("SELECT price FROM messages WHERE id = ?", int(message.findtext("id"))) == [(100_000,)]
    assert server.query("SELECT amount FROM credit_ledger WHERE message_id = ? AND kind = 'debit'",
                        int(message.findtext("id"))) == [(-100_000,)]
    final = wait_status(server, message.findtext("id"), "NOT_SENT", timeout=30)
    assert final.findtext("status") == "NOT_SENT"
    wait_until(lambda: balance(server) == "1.00")
    ledger = server.cli("admin", "credit", "ledger", "--workspace", workspace(server))["ledger"]
    assert [(r["kind"], r["amount"], r["message_id"]) for r in ledger[:2]] == [
        ("refund", "0.10", message.findtext("id")), ("debit", "-0.10", message.findtext("id"))]
    # A delivered message is not refunded.
    delivered = ok(call(server, send_sms_path(server, "kept", to=next(NUMBERS)))).find("messages/message")
    assert wait_status(server, delivered.findtext("id"), "DELIVERED_TO_DEVICE").findtext("status") == "DELIVERED_TO_DEVICE"
    assert balance(server) == "0.90"


def test_the_ledger_is_append_only(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "1")
    with pytest.raises(Exception, match="append-only"):
        server.query("UPDATE credit_ledger SET amount = 1000000000")
    with pytest.raises(Exception, match="append-only"):
        server.query("DELETE FROM credit_ledger")


def test_a_debit_below_the_threshold_queues_one_balance_callback(server: Server) -> None:
    ws = workspace(server)
    server.cli("admin", "workspace", "set-callback", "--workspace", ws, "--url", "http://127.0.0.1:9/hook")
    server.cli("admin", "credit", "top-up", "--workspace", ws, "--amount", "0.30")
    server.cli("admin", "credit", "threshold", "--workspace", ws, "--amount", "0.15")
    price(server, "0.10")
    for _ in range(3):  # 0.20 (above), 0.10 (crossed: one callback), 0.00 (already below)
        ok(call(server, send_sms_path(server, "spend")))
    jobs = server.query("SELECT payload FROM outbox WHERE kind = 'balance'")
    assert [json.loads(p)["balance"] for (p,) in jobs] == ["0.10"]
    assert json.loads(jobs[0][0])["threshold"] == "0.15"


def test_a_dry_run_quotes_and_stores_sends_and_debits_nothing(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "0.05", "--currency", "EUR")
    price(server, "0.02")
    before = messages(server)
    quoted = quote(server, send_sms_path(server, "y" * 200, to="+13056708084"))
    assert {child.tag: child.text for child in quoted} == {
        "carrier": server.creds["carrier"], "to": "13056708084", "segments": "2", "dataCoding": "GSM7",
        "price": "0.04", "currency": "EUR", "status": "PENDING", "statusDescription": "Queued for delivery",
    }
    short = quote(server, send_sms_path(server, "y" * 400))  # 3 segments: 0.06 > 0.05
    assert (short.findtext("price"), short.findtext("status")) == ("0.06", "NOT_ENOUGH_FUNDS")
    opted_out = next(NUMBERS)
    stop(server, opted_out)
    assert quote(server, send_sms_path(server, "z", to=opted_out)).findtext("status") == "NOT_SENT"
    c = server.creds
    pin = quote(server, server.signed_path("sendSMSPinMobileNumberConfirm",
                                           [workspace(server), c["carrier"], c["code"], next(NUMBERS), b64("{pin}"), "6"]))
    assert (pin.findtext("segments"), pin.findtext("status")) == ("1", "PENDING")
    bad = call(server, send_sms_path(server, "z", to="12"), headers=DRY_RUN)
    assert bad.findtext("status") == "INVALID_PARAMETER"  # every check still runs
    assert messages(server) == before and server.count("pins") == 0
    assert balance(server) == "0.05"
    response = httpx.get(server.url + send_sms_path(server, "z"), headers={**DRY_RUN, "Accept": "application/json"})
    assert response.json()["result"]["quote"]["price"] == "0.02"


def test_the_admin_api_tops_up_prices_and_refuses_bad_amounts(server: Server) -> None:
    token = server.cli("admin", "token")["admin_token"]
    ws = workspace(server)
    with httpx.Client(base_url=f"{server.url}/admin/api/workspaces/{ws}",
                      headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        assert http.post("/credit/top-ups", json={"amount": "0.50", "reason": "api"}).json()["balance"] == "0.50"
        bad = http.post("/credit/top-ups", json={"amount": "-1"})
        assert (bad.status_code, bad.json()["parameter"]) == (400, "amount")
        bad = http.post("/prices", json={"per_segment": "0.1", "prefix": "58x"})
        assert (bad.status_code, bad.json()["parameter"]) == (400, "prefix")
        assert http.post("/prices", json={"per_segment": "0.1"}).json()["prices"] == [
            {"carrier": "*", "prefix": "", "per_segment": "0.10", "currency": "USD"}]
        ok(call(server, send_sms_path(server, "charged at once")))  # the catalog was reloaded
        assert http.get("/credit").json()["balance"] == "0.40"
        assert [r["kind"] for r in http.get("/credit/ledger").json()["ledger"]] == ["debit", "top-up"]
        assert http.delete("/prices").json() == {"removed": 1}
        assert http.patch("/credit", json={"low_balance": "0.2"}).json()["low_balance"] == "0.20"
        assert httpx.get(f"{server.url}/admin/api/workspaces/999/credit",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 404
