"""The limits of issue 12 together, against a real server: an Idempotency-Key on a priced send is
debited once, and a send refused for funds leaves its key free for the retry after a top-up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_credit import balance, price, workspace
from tests.api.test_methods import call, ok, send_sms_path
from tests.support.server import Server, make_server


@pytest.fixture()
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("together"))
    srv.start()
    yield srv
    srv.stop()


def keyed(server: Server, key: str, text: str = "keyed and priced"):
    return call(server, send_sms_path(server, text), headers={"Idempotency-Key": key})


def test_a_keyed_priced_send_is_debited_once(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "1")
    price(server, "0.10")
    first = ok(keyed(server, "order-1")).findtext("messages/message/id")
    again = ok(keyed(server, "order-1")).findtext("messages/message/id")
    assert again == first
    assert balance(server) == "0.90"
    assert server.count("credit_ledger", "kind = 'debit'") == 1
    assert server.count("idempotency_keys") == 1


def test_a_key_refused_for_funds_is_free_for_the_retry(server: Server) -> None:
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "0.05")
    price(server, "0.10")
    before = server.count("messages")
    assert keyed(server, "order-2").findtext("status") == "NOT_ENOUGH_FUNDS"
    assert server.count("messages") == before
    assert server.count("idempotency_keys") == 0, "a refused send holds no key"
    server.cli("admin", "credit", "top-up", "--workspace", workspace(server), "--amount", "1")
    message_id = ok(keyed(server, "order-2")).findtext("messages/message/id")
    assert ok(keyed(server, "order-2")).findtext("messages/message/id") == message_id
    assert balance(server) == "0.95"


def test_a_number_the_price_list_refuses_costs_no_rate_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = make_server(tmp_path_factory.mktemp("order"))
    # Set before the start, so the server's first catalog has them: one send token, and no refill.
    srv.cli("admin", "credit", "top-up", "--workspace", workspace(srv), "--amount", "1")
    srv.cli("admin", "price", "set", "--workspace", workspace(srv), "--per-segment", "0.10", "--prefix", "1305")
    srv.cli("admin", "limit", "set", "--workspace", workspace(srv), "--class", "sends", "--rate", "0.001",
            "--burst", "1")
    srv.start()
    try:
        unpriced = call(srv, send_sms_path(srv, "not priced", to="33612345678"))
        assert unpriced.findtext("description") == (  # a parameter: checked before the limits
            "Invalid parameter mobileNumber: no price for this number in the workspace's price list")
        assert call(srv, send_sms_path(srv, "priced")).findtext("status") == "OK", "the token was kept"
        assert call(srv, send_sms_path(srv, "priced")).findtext("status") == "RATE_LIMITED"
    finally:
        srv.stop()
