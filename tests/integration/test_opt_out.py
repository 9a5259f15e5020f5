"""Issue 4, opt-out: STOP, START and HELP from subscribers, end to end with real processes.

``mecm serve`` delivers over SMPP to ``mecm smsc-sim``; MOs come from the SMSC (deliver_sm, to the
worker process) or through fireMessage (to the API process). What reached the carrier is read from
the SMSC's own record of submit_sm PDUs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mecm.client import Client
from tests.support.server import Server, make_server
from tests.support.smsc import SmscSim, smsc_sim
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SUBSCRIBER = "584141234567"
OTHER = "584147654321"
FINAL = {"DELIVERED_TO_DEVICE", "UNDELIVERED", "EXPIRED", "UNREACHABLE", "NOT_SENT", "BAD_FROM", "BAD_TO",
         "BAD_CARRIER", "NOT_ENOUGH_FUNDS"}


@contextlib.contextmanager
def world(tmp_path: Path) -> Iterator[tuple[SmscSim, Server, Client]]:
    """One SMSC; one server whose carrier ``movil`` (prefix 58414) reaches it over SMPP."""
    (tmp_path / "smsc").mkdir()
    with smsc_sim(tmp_path / "smsc", receipt_delay_ms=20) as sim:
        server = make_server(tmp_path / "mecm")
        server.cli("admin", "carrier", "add", "--name", "movil", "--connector", "smpp", "--host", sim.host,
                   "--port", str(sim.port), "--system-id", sim.system_id, "--password", sim.password,
                   "--prefix", "58414")
        server.start()
        c = server.creds
        try:
            with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api:
                yield sim, server, api
        finally:
            server.stop()


def submitted_to(sim: SmscSim, number: str) -> list[str]:
    """The texts of every submit_sm the SMSC received for ``number``."""
    return [p["pdu"]["text"] for p in sim.pdus(name="submit_sm")
            if p["pdu"]["fields"]["destination_addr"] == number]


def wait_final(api: Client, message_id: int) -> str:
    return wait_until(lambda: (s := api.get_message(message_id).status) in FINAL and s)


def mo_from_carrier(sim: SmscSim, server: Server, text: str, number: str = SUBSCRIBER) -> None:
    """A subscriber's MO through the SMSC; returns once mecm has stored it."""
    before = server.count("mo_messages")
    sim.inject_mo(number, server.creds["code"], text)
    wait_until(lambda: server.count("mo_messages") > before)


def test_stop_from_the_carrier_blocks_later_sends_and_start_lifts_it(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        code = server.creds["code"]
        first = api.send_sms(SUBSCRIBER, "before STOP", from_=code)
        assert wait_final(api, first.id) == "DELIVERED_TO_DEVICE"

        mo_from_carrier(sim, server, "Stop")
        # The confirmation reaches the subscriber although they are now opted out.
        texts = wait_until(lambda: [t for t in submitted_to(sim, SUBSCRIBER) if "unsubscribed" in t])
        assert texts == ["You have been unsubscribed and will receive no more messages. "
                         "Reply START to subscribe again."]
        # The worker stored the STOP; the API learns of it from the worker's signal.
        refused = wait_until(lambda: (m := api.send_sms(SUBSCRIBER, "after STOP", from_=code)).status == "NOT_SENT" and m)
        assert refused.status_description == "Subscriber opted out"
        assert api.get_message(refused.id).status == "NOT_SENT"
        other = api.send_sms(OTHER, "someone else", from_=code)
        assert wait_final(api, other.id) == "DELIVERED_TO_DEVICE"  # an opt-out is one subscriber's
        assert not [t for t in submitted_to(sim, SUBSCRIBER) if "after STOP" in t]
        assert server.count("messages", "recipient = ? AND status = 'NOT_SENT'", SUBSCRIBER) >= 1

        mo_from_carrier(sim, server, "  start! ")
        wait_until(lambda: [t for t in submitted_to(sim, SUBSCRIBER) if "subscribed again" in t])
        again = wait_until(lambda: (m := api.send_sms(SUBSCRIBER, "after START", from_=code)).status == "PENDING" and m)
        assert wait_final(api, again.id) == "DELIVERED_TO_DEVICE"
        assert [t for t in submitted_to(sim, SUBSCRIBER) if t == "after START"] == ["after START"]
        history = server.query("SELECT opted_out, via, code FROM opt_out_events WHERE subscriber = ? ORDER BY seq",
                               SUBSCRIBER)
        assert history == [(1, "keyword", code), (0, "keyword", code)]


def test_spanish_keyword_with_accents_gets_the_spanish_answer_and_help_answers_an_opted_out_subscriber(
        tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        mo_from_carrier(sim, server, "¡BAJÁ!")
        wait_until(lambda: [t for t in submitted_to(sim, SUBSCRIBER) if t.startswith("Ha sido dado de baja")])
        mo_from_carrier(sim, server, "ayuda")
        help_text = wait_until(lambda: [t for t in submitted_to(sim, SUBSCRIBER) if "AYUDA" not in t
                                        and t.startswith("Responda BAJA")])
        assert help_text == ["Responda BAJA para darse de baja, ALTA para suscribirse de nuevo."]
        (keyword,) = server.query("SELECT keyword FROM mo_messages WHERE text = '¡BAJÁ!'")[0]
        assert keyword == "BAJA"
        assert server.count("opt_outs", "subscriber = ?", SUBSCRIBER) == 1  # HELP changed nothing


def test_stop_through_fire_message_refuses_the_next_send_at_once_and_campaign_replies(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        code = server.creds["code"]
        mo = api.fire_message(SUBSCRIBER, "STOP")
        assert mo.keyword == "STOP" and mo.response_message_id is not None
        assert wait_final(api, mo.response_message_id) == "DELIVERED_TO_DEVICE"  # the confirmation
        refused = api.send_sms(SUBSCRIBER, "right after", from_=code)  # no wait: this process stored it
        assert (refused.status, refused.status_description) == ("NOT_SENT", "Subscriber opted out")
        # A keyword campaign's reply is an MT like any other: refused, and the MO kept.
        server.cli("admin", "campaign", "add", "--workspace", str(server.creds["instance_id"]), "--code", code,
                   "--name", "promo", "--keyword", "^PROMO", "--reply", "Here is your promo")
        server.wait_for_catalog()
        promo = api.fire_message(SUBSCRIBER, "PROMO")
        assert promo.campaign == "promo"
        assert api.get_message(promo.response_message_id).status == "NOT_SENT"  # final: never submitted
        assert submitted_to(sim, SUBSCRIBER) == [
            "You have been unsubscribed and will receive no more messages. Reply START to subscribe again."]


def test_admin_opt_out_is_seen_by_the_running_api_and_the_dispatcher(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        workspace = str(server.creds["instance_id"])
        added = server.cli("admin", "optout", "add", "--workspace", workspace, "--number", "+584141234567")
        assert added == {"instance_id": int(workspace), "number": SUBSCRIBER, "opted_out": True, "changed": True}
        listed = server.cli("admin", "optout", "list", "--workspace", workspace)["opt_outs"]
        assert [(r["subscriber"], r["via"]) for r in listed] == [(SUBSCRIBER, "admin")]
        # The command has ended: the next send is decided on it (issue 13; SQLite: the signal file
        # beside the database, PostgreSQL: the send reads the database).
        refused = api.send_sms(SUBSCRIBER, "x", from_=server.creds["code"])
        assert (refused.status, refused.status_description) == ("NOT_SENT", "Subscriber opted out")
        server.cli("admin", "optout", "remove", "--workspace", workspace, "--number", SUBSCRIBER)
        allowed = api.send_sms(SUBSCRIBER, "y", from_=server.creds["code"])
        assert allowed.status == "PENDING"
        assert wait_final(api, allowed.id) == "DELIVERED_TO_DEVICE"
        assert "x" not in submitted_to(sim, SUBSCRIBER)
        # The worker's view of its SMPP carrier reaches /metrics on the API.
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'mecm_carrier_window{carrier="movil"}' in metrics and "mecm_carrier_submits" in metrics


def test_custom_keywords_and_answer_on_one_code(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        workspace, code = str(server.creds["instance_id"]), server.creds["code"]
        policy = server.cli("admin", "optout", "set", "--workspace", workspace, "--code", code,
                            "--stop-keywords", "FIN, Anular", "--stop-text", "Listo, no le escribimos más.")
        assert policy["stop_keywords"] == ["ANULAR", "FIN"]
        assert policy["start_keywords"] == ["ALTA", "REANUDAR", "START", "SUBSCRIBE", "UNSTOP"]
        server.wait_for_catalog()  # the worker, which receives the carrier's MOs, knows the new words
        mo_from_carrier(sim, server, "STOP")  # no longer a STOP word on this code: an ordinary MO
        mo_from_carrier(sim, server, "anular")
        wait_until(lambda: "Listo, no le escribimos más." in submitted_to(sim, SUBSCRIBER))
        assert server.query("SELECT keyword FROM mo_messages ORDER BY id") == [("",), ("ANULAR",)]
        assert server.count("opt_outs") == 1
