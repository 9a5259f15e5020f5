"""Issue 4, lists and broadcasts, end to end: ``mecm serve`` as a process, lists filled by CSV import
and by keyword, broadcasts created and followed with the CLI, delivery through a simulated carrier
with a rate limit, whose own record says what reached it and when."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from mecm.client import AsyncClient, Client
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

TPS = 800
FINAL = ("DELIVERED_TO_DEVICE", "UNDELIVERED", "EXPIRED", "UNREACHABLE", "NOT_SENT", "BAD_FROM", "BAD_TO",
         "BAD_CARRIER", "NOT_ENOUGH_FUNDS")


def numbers(count: int, start: int = 1_000_000) -> list[str]:
    return [f"58416{start + i:07d}" for i in range(count)]


def carrier_record(server: Server) -> list[tuple[int, int, int]]:
    """(mecm message id, submit count, submitted at ms) for every submit the carrier received."""
    with sqlite3.connect(server.home / "simulator-bulk.db") as db:
        return db.execute("SELECT client_ref, submit_count, submitted_at_ms FROM submissions").fetchall()


def submits_so_far(server: Server) -> int:
    """How many submits the carrier has received; 0 while its connector has not made its file and
    table yet (the worker starts it after the catalog refresh that shows the carrier). Opened
    read-only: connecting would otherwise create an empty file under the simulator."""
    try:
        with sqlite3.connect(f"file:{server.home / 'simulator-bulk.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    except sqlite3.OperationalError:  # no file, or no table yet
        return 0


def settled(server: Server, broadcast_id: int, timeout: float) -> dict:
    """The broadcast's status once it is done (every message handed to a carrier) and every message
    it queued has its final status. "done" alone comes before the last receipts: a receipt follows its
    submit by the carrier's delivery delay, and a status read between the two counts SENT_TO_CARRIER."""
    final = ",".join(f"'{status}'" for status in FINAL)

    def look() -> bool:  # read in the database: a CLI process each 0.2 s would take a core from the server
        ((state, enqueued),) = server.query("SELECT state, enqueued FROM broadcasts WHERE id = ?", broadcast_id)
        return state in ("queued", "cancelled") and \
            server.count("messages", f"broadcast_id = ? AND status IN ({final})", broadcast_id) == enqueued

    wait_until(look, timeout=timeout, interval=0.2)
    status = server.cli("admin", "broadcast", "status", "--id", str(broadcast_id))  # as a user reads it
    assert status["done"] and status["delivered"] + status["failed"] == status["enqueued"], status
    return status


def fire_stops(server: Server, subscribers: list[str]) -> None:
    c = server.creds

    async def run() -> None:
        async with AsyncClient(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api:
            gate = asyncio.Semaphore(16)

            async def one(number: str) -> None:
                async with gate:
                    await api.fire_message(number, "STOP")

            await asyncio.gather(*(one(n) for n in subscribers))

    asyncio.run(run())


def test_a_broadcast_to_10000_survives_sigkill_sends_once_to_each_eligible_and_keeps_the_rate(
        tmp_path: Path) -> None:
    server = make_server(tmp_path / "mecm")
    workspace = str(server.creds["instance_id"])
    server.cli("admin", "carrier", "add", "--name", "bulk", "--connector", "simulator", "--prefix", "58416",
               "--delivery-delay-ms", "20", "--tps", str(TPS))
    members = numbers(10_000)
    csv_path = tmp_path / "members.csv"
    csv_path.write_text("number,name\n" + "".join(f"+{n},Client {i}\n" for i, n in enumerate(members)))
    listed = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "everyone")
    assert server.cli("admin", "list", "import", "--list", str(listed["id"]), "--csv", str(csv_path))["members"] \
        == 10_000
    server.start()
    try:
        opted_out = members[::40]  # 250 of them sent STOP first
        fire_stops(server, opted_out)
        broadcast = server.cli("admin", "broadcast", "create", "--list", str(listed["id"]), "--code",
                               server.creds["code"], "--text", "Hola {{name}}, oferta de hoy")
        wait_until(lambda: submits_so_far(server) >= 4_000, timeout=60)
        server.kill()  # SIGKILL, half-way: through the queueing and through the sending
        killed_at = len(carrier_record(server))
        ((state, enqueued),) = server.query("SELECT state, enqueued FROM broadcasts WHERE id = ?", broadcast["id"])
        assert killed_at < 9_000 and state == "sending" and enqueued < len(members) - len(opted_out)
        server.start()
        status = settled(server, broadcast["id"], timeout=90)
    finally:
        server.stop()

    eligible = set(members) - set(opted_out)
    assert status["enqueued"] == len(eligible) and status["skipped_opted_out"] == len(opted_out)
    assert status["delivered"] == len(eligible) and status["failed"] == 0
    rows = server.query("SELECT id, recipient, text FROM messages WHERE broadcast_id = ?", broadcast["id"])
    assert Counter(recipient for _, recipient, _ in rows) == Counter(eligible)  # one each, none opted out
    assert dict((r, t) for _, r, t in rows)[members[1]] == "Hola Client 1, oferta de hoy"
    broadcast_ids = {message_id for message_id, _, _ in rows}
    record = [entry for entry in carrier_record(server) if entry[0] in broadcast_ids]
    assert len(record) == len(eligible) and all(count == 1 for _, count, _ in record)  # exactly once each
    times = sorted(at for _, _, at in record)
    busiest = max(sum(1 for t in times[i:i + TPS + 1] if t - times[i] < 1000) for i in range(len(times)))
    assert busiest <= TPS, f"{busiest} submits within one second (carrier rate {TPS})"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    server = make_server(tmp_path_factory.mktemp("lists"))
    server.start()
    c = server.creds
    try:
        with Client(server.url, c["instance_id"], c["public_key"], c["private_key"], timeout=30) as api:
            yield server, api
    finally:
        server.stop()


def test_a_keyword_subscribes_and_unsubscribes_and_a_broadcast_reaches_the_list(demo) -> None:  # noqa: ANN001
    server, api = demo
    workspace, code = str(server.creds["instance_id"]), server.creds["code"]
    vip = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "vip")
    server.cli("admin", "list", "add", "--list", str(vip["id"]), "--number", "584145550029")  # no fields
    with open(server.home / "named.csv", "w") as handle:
        handle.write("number,name\n584145550023,Ana\n")
    named = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "named")
    server.cli("admin", "list", "import", "--list", str(named["id"]), "--csv", str(server.home / "named.csv"))
    server.cli("admin", "campaign", "add", "--workspace", workspace, "--code", code, "--name", "hello",
               "--keyword", "HELLO", "--match", "word", "--reply", "Hola {{name}} ({{from}})")
    for name, keyword, action in [("join", "JOIN", "subscribe:vip"), ("leave", "LEAVE", "unsubscribe:vip")]:
        server.cli("admin", "campaign", "add", "--workspace", workspace, "--code", code, "--name", name,
                   "--keyword", keyword, "--match", "word", "--reply", f"{name} ok", "--action", action)
    server.wait_for_catalog()
    for number in ("584145550020", "584145550021", "584145550022"):
        api.fire_message(number, "join")
    api.fire_message("584145550021", "leave")
    greeted = api.fire_message("584145550023", "hello")  # a subscriber field in a reply template
    assert api.get_message(greeted.response_message_id).text == "Hola Ana (584145550023)"
    server.cli("admin", "list", "remove", "--list", str(vip["id"]), "--number", "584145550029")
    lists = server.cli("admin", "list", "list", "--workspace", workspace)["lists"]
    assert [(entry["name"], entry["members"]) for entry in lists] == [("vip", 2), ("named", 1)]
    broadcast = server.cli("admin", "broadcast", "create", "--list", str(vip["id"]), "--code", code,
                           "--text", "VIP news for {{to}}")
    status = settled(server, broadcast["id"], timeout=30)
    assert (status["enqueued"], status["delivered"]) == (2, 2)
    assert (status["state"], status["done"]) == ("done", True)  # finished says so (was "queued")
    listed_states = {b["id"]: b["state"] for b in server.cli("admin", "broadcast", "list")["broadcasts"]}
    assert listed_states[broadcast["id"]] == "done"
    texts = server.query("SELECT recipient, text FROM messages WHERE broadcast_id = ? ORDER BY recipient",
                         broadcast["id"])
    assert texts == [("584145550020", "VIP news for 584145550020"), ("584145550022", "VIP news for 584145550022")]


def test_an_unknown_list_in_an_action_and_a_bad_csv_are_refused_and_nothing_is_written(demo, tmp_path: Path) -> None:  # noqa: ANN001, E501
    server, _ = demo
    workspace = str(server.creds["instance_id"])
    with pytest.raises(RuntimeError, match="has no list named 'nobody'"):
        server.cli("admin", "campaign", "add", "--workspace", workspace, "--code", server.creds["code"], "--name",
                   "x", "--keyword", "XJOIN", "--match", "word", "--action", "subscribe:nobody")
    listed = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "imported")
    bad = tmp_path / "bad.csv"
    bad.write_text("number,name\n584145550030,A\nnot-a-number,B\n")
    with pytest.raises(RuntimeError, match="line 3: 'not-a-number' is not a phone number"):
        server.cli("admin", "list", "import", "--list", str(listed["id"]), "--csv", str(bad))
    assert server.count("list_members", "list_id = ?", listed["id"]) == 0
    # Numbers as people write them are what docs/campaigns.md promises to take.
    good = tmp_path / "good.csv"
    good.write_text("number,name\n+58 414 555 0031,A\n+58-414-555-0032,B\n+58 (414) 555.0033,C\n")
    imported = server.cli("admin", "list", "import", "--list", str(listed["id"]), "--csv", str(good))
    assert imported["imported"] == 3
    assert [r[0] for r in server.query("SELECT subscriber FROM list_members WHERE list_id = ? ORDER BY subscriber",
                                       listed["id"])] == ["584145550031", "584145550032", "584145550033"]
    server.cli("admin", "list", "remove", "--list", str(listed["id"]), "--number", "+58 414 555 0031")
    server.cli("admin", "list", "remove", "--list", str(listed["id"]), "--number", "+58-414-555-0032")
    server.cli("admin", "list", "remove", "--list", str(listed["id"]), "--number", "584145550033")
    assert server.count("list_members", "list_id = ?", listed["id"]) == 0
    bad.write_text("number,name\n584145550030,A,extra\n")
    with pytest.raises(RuntimeError, match="line 2: more cells than the header has columns"):
        server.cli("admin", "list", "import", "--list", str(listed["id"]), "--csv", str(bad))


def test_a_scheduled_broadcast_waits_and_a_cancelled_one_sends_nothing(demo) -> None:  # noqa: ANN001
    server, _ = demo
    workspace, code = str(server.creds["instance_id"]), server.creds["code"]
    listed = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "later")
    server.cli("admin", "list", "add", "--list", str(listed["id"]), "--number", "584145550040")
    broadcast = server.cli("admin", "broadcast", "create", "--list", str(listed["id"]), "--code", code,
                           "--text", "tomorrow", "--at", "2099-01-01T09:00")
    # One due now, to the same list, queued and delivered: the broadcaster has looked since, and passed
    # the scheduled one by.
    now = server.cli("admin", "broadcast", "create", "--list", str(listed["id"]), "--code", code, "--text", "today")
    assert settled(server, now["id"], timeout=30)["delivered"] == 1
    assert server.count("messages", "broadcast_id = ?", broadcast["id"]) == 0
    assert server.cli("admin", "broadcast", "cancel", "--id", str(broadcast["id"]))["state"] == "cancelled"
    status = server.cli("admin", "broadcast", "status", "--id", str(broadcast["id"]))
    assert (status["state"], status["done"], status["enqueued"]) == ("cancelled", True, 0)


def test_a_broadcast_over_smpp_reaches_each_member_once_within_the_carriers_rate(tmp_path: Path) -> None:
    from tests.support.smsc import smsc_sim

    smpp_tps = 150
    (tmp_path / "smsc").mkdir()
    with smsc_sim(tmp_path / "smsc", receipt_delay_ms=20) as sim:
        server = make_server(tmp_path / "mecm")
        workspace = str(server.creds["instance_id"])
        server.cli("admin", "carrier", "add", "--name", "movil", "--connector", "smpp", "--host", sim.host,
                   "--port", str(sim.port), "--system-id", sim.system_id, "--password", sim.password,
                   "--prefix", "58414", "--tps", str(smpp_tps), "--window", "20")
        listed = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "smpp")
        members = [f"58414{2_000_000 + i:07d}" for i in range(900)]
        csv_path = tmp_path / "members.csv"
        csv_path.write_text("number\n" + "".join(f"{n}\n" for n in members))
        server.cli("admin", "list", "import", "--list", str(listed["id"]), "--csv", str(csv_path))
        server.start()
        try:
            broadcast = server.cli("admin", "broadcast", "create", "--list", str(listed["id"]), "--code",
                                   server.creds["code"], "--text", "Aviso para {{to}}")
            status = settled(server, broadcast["id"], timeout=60)
        finally:
            server.stop()
        stats = sim.stats()
    assert (status["delivered"], status["failed"]) == (900, 0), status
    assert stats["duplicates"] == 0 and stats["submits"] == 900, stats
    per_second = {int(second): n for second, n in stats["per_second"].items()}
    # The simulator counts a submit_sm when its own event loop reads it. On a loaded host (CI runs two
    # suites on two cores) that loop can stall for longer than the 50 ms mecm keeps in hand for
    # jitter, and read sends of two seconds in one: the busiest second gets 5 % of allowance, and the
    # rate over the seconds in between (the first and last are partial) must be within the limit.
    busiest = max(per_second.values())
    assert busiest <= smpp_tps * 1.05, f"{busiest} submit_sm in one second (carrier tps {smpp_tps})"
    inner = [n for second, n in per_second.items() if min(per_second) < second < max(per_second)]
    assert inner and sum(inner) / len(inner) <= smpp_tps, per_second


def test_a_member_whose_fields_make_the_text_too_long_is_left_out_and_counted(demo, tmp_path: Path) -> None:  # noqa: ANN001, E501
    server, _ = demo
    workspace, code = str(server.creds["instance_id"]), server.creds["code"]
    listed = server.cli("admin", "list", "create", "--workspace", workspace, "--name", "long")
    members = tmp_path / "long.csv"
    members.write_text("number,name\n584145550050,Ana\n584145550051," + "x" * 1700 + "\n")
    server.cli("admin", "list", "import", "--list", str(listed["id"]), "--csv", str(members))
    broadcast = server.cli("admin", "broadcast", "create", "--list", str(listed["id"]), "--code", code,
                           "--text", "Hi {{name}}")
    status = settled(server, broadcast["id"], timeout=30)
    assert (status["enqueued"], status["unsendable"], status["skipped_opted_out"], status["delivered"]) == (1, 1, 0, 1)


def test_a_paused_broadcast_stops_over_smpp_stays_paused_across_a_restart_and_resumed_sends_each_member_once(
        tmp_path: Path) -> None:
    """Paused through the admin API (the server's API process) while the worker process sends it over
    SMPP: the submits stop once those in flight are answered, and stay stopped while another broadcast
    goes out and the server restarts; resumed, it carries on: every member gets it once."""

    from tests.support.smsc import smsc_sim

    (tmp_path / "smsc").mkdir()
    with smsc_sim(tmp_path / "smsc", receipt_delay_ms=20) as sim:
        server = make_server(tmp_path / "mecm")
        workspace = str(server.creds["instance_id"])
        server.cli("admin", "carrier", "add", "--name", "movil", "--connector", "smpp", "--host", sim.host,
                   "--port", str(sim.port), "--system-id", sim.system_id, "--password", sim.password,
                   "--prefix", "58414", "--tps", "100", "--window", "10")
        members = [f"58414{3_000_000 + i:07d}" for i in range(1_200)]  # more than two pages of the broadcaster
        others = [f"58414{4_000_000 + i:07d}" for i in range(20)]
        lists = {}
        for name, numbers_ in (("paused", members), ("others", others)):
            lists[name] = server.cli("admin", "list", "create", "--workspace", workspace, "--name", name)["id"]
            csv_path = tmp_path / f"{name}.csv"
            csv_path.write_text("number\n" + "".join(f"{n}\n" for n in numbers_))
            server.cli("admin", "list", "import", "--list", str(lists[name]), "--csv", str(csv_path))
        server.start()
        try:
            with server.admin_api() as http:
                broadcast = http.post(f"/lists/{lists['paused']}/broadcasts", json={
                    "code": server.creds["code"], "text": "Aviso para {{to}}"}).json()["id"]
                wait_until(lambda: sim.stats()["submits"] >= 100, timeout=60)
                paused = http.post(f"/broadcasts/{broadcast}/pause")
                assert paused.status_code == 200, paused.text

                def handed_on() -> int:
                    """Its messages a carrier took (or refused): past PENDING and SENDING."""
                    return server.count("messages", "broadcast_id = ? AND status NOT IN ('PENDING', 'SENDING')",
                                        broadcast)

                # the submits in flight when it was paused are answered; then nothing more goes
                wait_until(lambda: server.count("messages", "broadcast_id = ? AND status = 'SENDING'",
                                                broadcast) == 0, timeout=30)
                stopped_at, submits = handed_on(), sim.stats()["submits"]
                assert stopped_at == submits < len(members)
                # those the worker had claimed wait with the others, held
                held = server.count("messages", "broadcast_id = ? AND status = 'PENDING'", broadcast)
                assert held > 0 and server.count("messages", "broadcast_id = ? AND status_detail = ?", broadcast,
                                                 "Broadcast paused") > 0
                assert http.get(f"/broadcasts/{broadcast}").json()["state"] == "paused"

                server.stop()
                server.start()
                # another broadcast goes out whole meanwhile: the worker runs, the paused one does not move
                other = server.cli("admin", "broadcast", "create", "--list", str(lists["others"]), "--code",
                                   server.creds["code"], "--text", "Otro aviso")
                assert settled(server, other["id"], timeout=60)["delivered"] == len(others)
                assert (handed_on(), sim.stats()["submits"]) == (stopped_at, submits + len(others))
                status = http.get(f"/broadcasts/{broadcast}").json()
                assert (status["state"], status["done"]) == ("paused", False)
                assert status["enqueued"] < len(members)  # members were still to be queued

                resumed = server.cli("admin", "broadcast", "resume", "--id", str(broadcast))
                assert resumed["state"] == "sending" and resumed["released"] == held
                status = settled(server, broadcast, timeout=90)
        finally:
            server.stop()
        stats = sim.stats()
    assert (status["state"], status["enqueued"], status["delivered"], status["failed"]) == \
        ("done", len(members), len(members), 0), status
    recipients = [r for (r,) in server.query("SELECT recipient FROM messages WHERE broadcast_id = ?", broadcast)]
    assert Counter(recipients) == Counter(members)  # one message each: none twice, none left out
    assert stats["duplicates"] == 0 and stats["submits"] == len(members) + len(others), stats
