"""Issue 4, the campaign model, end to end: ``mecm serve`` as a process, campaigns added with the CLI,
MOs fired through the API (and one from an SMSC over SMPP), replies read back with getMessage.

The demo workspace has the campaign "welcome" (regex ``^OGANGI``, priority 100) on its code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mecm.client import Client
from tests.integration.test_opt_out import SUBSCRIBER, mo_from_carrier, submitted_to, wait_final, world
from tests.support.waiting import wait_until
from tests.support.server import Server, make_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Client]]:
    server = make_server(tmp_path_factory.mktemp("campaigns"))
    server.start()
    c = server.creds
    try:
        with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api:
            yield server, api
    finally:
        server.stop()


def add(server: Server, name: str, *options: str, reply: str | None = None) -> dict:
    campaign = server.cli("admin", "campaign", "add", "--workspace", str(server.creds["instance_id"]),
                          "--code", server.creds["code"], "--name", name, "--reply", reply or f"reply of {name}",
                          *options)
    server.wait_for_catalog()
    return campaign


def refused(server: Server, name: str, *options: str) -> str:
    """The CLI's error for a campaign that must not be created; and no campaign row written."""
    before = server.count("campaigns")
    with pytest.raises(RuntimeError) as error:
        add(server, name, *options)
    assert server.count("campaigns") == before
    return str(error.value)


def test_each_match_mode_with_case_and_accent_variants(demo: tuple[Server, Client]) -> None:
    server, api = demo
    add(server, "cafe", "--keyword", "CAFÉ", "--match", "word", "--priority", "10")
    add(server, "promo", "--keyword", "promo", "--match", "prefix", "--priority", "11")
    add(server, "ole", "--keyword", "^ol[eé]+$", "--match", "regex", "--priority", "12")
    for text, campaign in [("café con leche", "cafe"), ("CAFE", "cafe"), ("¡Cafe!", "cafe"),
                           ("PROMOCIÓN 2x1", "promo"), ("Promo", "promo"), ("OLÉ", "ole"), ("  olee ", "ole"),
                           ("cafetería", ""), ("una promo", ""), ("ogangi rocks", "welcome")]:
        mo = api.fire_message("584145550001", text)
        assert mo.campaign == campaign, text
        if campaign and campaign != "welcome":  # the demo's own campaign has the demo's reply
            assert api.get_message(mo.response_message_id).text == f"reply of {campaign}"


def test_a_colliding_campaign_is_refused_with_the_other_ones_name(demo: tuple[Server, Client]) -> None:
    server, _ = demo
    add(server, "news", "--keyword", "NEWS", "--match", "word", "--priority", "20")
    error = refused(server, "news again", "--keyword", "news", "--match", "word", "--priority", "20")
    assert "collides with active campaign 'news'" in error and "priority" in error
    error = refused(server, "news regex", "--keyword", "^ne", "--priority", "20")
    assert "'news'" in error
    add(server, "news first", "--keyword", "NEWS", "--match", "word", "--priority", "19")  # order explicit: allowed
    assert api_campaign(server, "NEWS today") == "news first"


def api_campaign(server: Server, text: str) -> str:
    c = server.creds
    with Client(server.url, c["instance_id"], c["public_key"], c["private_key"]) as api:
        return api.fire_message("584145550002", text).campaign or ""


@pytest.mark.parametrize(("options", "param"), [
    (("--keyword", "x", "--match", "exact"), "match"),
    (("--keyword", "(a", "--priority", "30"), "keyword"),
    (("--keyword", "x", "--quiet-hours", "22-08"), "quiet-hours"),
    (("--keyword", "x", "--starts", "tomorrow"), "starts"),
    (("--keyword", "x", "--starts", "2026-12-02T00:00", "--ends", "2026-12-01T00:00"), "ends"),
    (("--keyword", "x", "--cap", "-1"), "cap"),
    (("--keyword", "", "--match", "word"), "keyword"),
])
def test_bad_campaign_settings_are_refused_naming_the_option(demo: tuple[Server, Client], options: tuple,
                                                             param: str) -> None:
    server, _ = demo
    assert f"Invalid parameter {param}:" in refused(server, "bad", *options)


def test_the_frequency_cap_cuts_a_reply_loop(demo: tuple[Server, Client]) -> None:
    server, api = demo
    add(server, "echo", "--keyword", "ECHO", "--match", "word", "--priority", "40", "--cap", "3")
    # An auto-responder on the other side answers every reply with ECHO again.
    fired = [api.fire_message("584145550003", "echo") for _ in range(6)]
    assert [m.response_message_id is not None for m in fired] == [True, True, True, False, False, False]
    # The answer says why no reply came, and so does the MO's record, read back later.
    assert [m.suppressed for m in fired] == ["", "", "", "FREQUENCY_CAP", "FREQUENCY_CAP", "FREQUENCY_CAP"]
    assert {m.campaign for m in fired} == {"echo"}
    listed = api.get_mo_messages(1, 20, from_="584145550003", order="asc").messages
    assert [(m.id, m.campaign, m.response_message_id, m.suppressed) for m in listed] == \
        [(m.id, m.campaign, m.response_message_id, m.suppressed) for m in fired]
    assert api.fire_message("584145550004", "echo").response_message_id is not None  # per subscriber
    assert server.count("mo_messages", "sender = '584145550003' AND campaign_name = 'echo'") == 6  # all kept


def test_mo_list_and_get_mo_messages_show_the_campaign_and_reply_that_mo_fire_answered(
        demo: tuple[Server, Client]) -> None:
    server, api = demo
    subscriber = "584145550008"
    fired = [server.cli("mo", "fire", subscriber, text) for text in ("ogangi hello", "nothing matches this", "HELP")]
    assert [(m["campaign"], m["response_message_id"] is not None, m["suppressed"]) for m in fired] == [
        ("welcome", True, ""), ("", False, ""), ("", True, "")]  # HELP: answered, by no campaign
    fields = ("id", "keyword", "campaign", "response_message_id", "suppressed")
    listed = server.cli("mo", "list", "--from", subscriber, "--order", "asc")["messages"]
    assert [{k: m[k] for k in fields} for m in listed] == [{k: m[k] for k in fields} for m in fired]
    through_api = api.get_mo_messages(1, 20, from_=subscriber, order="asc").messages
    assert [(m.id, m.campaign, m.response_message_id) for m in through_api] == \
        [(m["id"], m["campaign"], m["response_message_id"]) for m in fired]


def test_fallback_answers_what_no_campaign_matched(demo: tuple[Server, Client]) -> None:
    server, api = demo
    add(server, "fallback", "--match", "fallback", "--priority", "50", reply="Text OGANGI or CAFE")
    error = refused(server, "fallback 2", "--match", "fallback", "--priority", "51")
    assert "'fallback' is already the fallback" in error
    mo = api.fire_message("584145550005", "what is this?")
    assert mo.campaign == "fallback" and api.get_message(mo.response_message_id).text == "Text OGANGI or CAFE"
    assert api.fire_message("584145550005", "cafe").campaign == "cafe"


def test_active_window_and_quiet_hours(demo: tuple[Server, Client]) -> None:
    server, api = demo
    zone = ZoneInfo("America/Caracas")
    now = datetime.now(zone)
    add(server, "ended", "--keyword", "ENDED", "--match", "word", "--priority", "60",
        "--starts", (now - timedelta(days=2)).isoformat(timespec="minutes"),
        "--ends", (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert api.fire_message("584145550006", "ended").campaign != "ended"
    # Quiet hours that cover now: the reply is stored and waits for their end.
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime("%H:%M")
    add(server, "night", "--keyword", "NIGHT", "--match", "word", "--priority", "61", "--quiet-hours", f"{start}-{end}")
    mo = api.fire_message("584145550006", "night")
    # A message sent after the reply is delivered: the worker has looked at the queue since, and the
    # reply still waits.
    later = api.send_sms("584145550007", "after the night reply", from_=server.creds["code"])
    assert wait_final(api, later.id) == "DELIVERED_TO_DEVICE"
    assert api.get_message(mo.response_message_id).status == "PENDING"
    (due,) = server.query("SELECT next_attempt_at_ms FROM messages WHERE id = ?", mo.response_message_id)[0]
    opens = datetime.combine(now.date(), datetime.strptime(end, "%H:%M").time(), zone)
    if opens < now:
        opens += timedelta(days=1)
    assert due == int(opens.timestamp() * 1000)


def test_a_word_campaign_answers_an_mo_from_the_carrier_over_smpp(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        add(server, "saldo", "--keyword", "SALDO", "--match", "word", "--priority", "5", reply="Su saldo: 10")
        sim.inject_mo(SUBSCRIBER, server.creds["code"], "Saldó por favor")
        wait_until(lambda: "Su saldo: 10" in submitted_to(sim, SUBSCRIBER))
        (reply_id,) = server.query("SELECT response_message_id FROM mo_messages WHERE campaign_name = 'saldo'")[0]
        assert wait_final(api, reply_id) == "DELIVERED_TO_DEVICE"


def test_a_paused_campaign_does_not_answer_an_mo_from_the_carrier_and_a_resumed_one_does(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        saldo = add(server, "saldo", "--keyword", "SALDO", "--match", "word", "--priority", "5", reply="Su saldo: 10")
        assert server.cli("admin", "campaign", "pause", "--id", str(saldo["id"]))["state"] == "paused"
        server.wait_for_catalog()
        mo_from_carrier(sim, server, "saldo")
        paused = api.get_mo_messages(1, 20, from_=SUBSCRIBER).messages
        assert [(m.text, m.campaign, m.response_message_id) for m in paused] == [("saldo", "", None)]

        assert server.cli("admin", "campaign", "resume", "--id", str(saldo["id"]))["state"] == "active"
        server.wait_for_catalog()
        mo_from_carrier(sim, server, "saldo")
        wait_until(lambda: "Su saldo: 10" in submitted_to(sim, SUBSCRIBER))
        answered = api.get_mo_messages(1, 20, from_=SUBSCRIBER, order="asc").messages
        assert [m.campaign for m in answered] == ["", "saldo"]
        assert wait_final(api, answered[1].response_message_id) == "DELIVERED_TO_DEVICE"
        assert submitted_to(sim, SUBSCRIBER) == ["Su saldo: 10"]  # one reply: none while it was paused


def test_one_campaign_on_two_codes(demo: tuple[Server, Client]) -> None:
    server, api = demo
    workspace, first = str(server.creds["instance_id"]), server.creds["code"]
    server.cli("admin", "code", "add", "--workspace", workspace, "--code", "55577")
    row = server.cli("admin", "campaign", "add", "--workspace", workspace, "--code", first, "--code", "55577",
                     "--name", "both", "--keyword", "BOTH", "--match", "word", "--priority", "70",
                     "--reply", "on {{to}}")
    assert row["codes"] == [first, "55577"]
    server.wait_for_catalog()
    for code in (first, "55577"):
        mo = api.fire_message("584145550016", "both", code=code)
        assert mo.campaign == "both" and api.get_message(mo.response_message_id).text == f"on {code}"
    error = refused(server, "clash", "--keyword", "both", "--match", "word", "--priority", "70")
    assert "'both'" in error  # it collides on the code they share
    listed = {c["name"]: c["codes"] for c in server.cli("admin", "campaign", "list", "--workspace", workspace)["campaigns"]}
    assert listed["both"] == sorted([first, "55577"])
