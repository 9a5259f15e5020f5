"""The smpp connector against a real ``mecm smsc-sim`` process, over real sockets.

Each test drives the connector itself (start / submit / query / stop) and checks what the SMSC
received (its PDU log) and what came back to the sinks. Nothing of ours is mocked. Every test also
checks that the bind password never reached a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mecm.delivery.connectors.base import MOPart, Outcome, OutcomeKind
from mecm.delivery.connectors.smpp import SmppConnector
from mecm.smpp import pdu as P
from mecm.smpp.parts import decode_short_message, join_parts, parse_udh
from mecm.store.queue import Claimed
from tests.support.databases import no_database
from tests.support.smsc import SmscSim, smsc_sim
from tests.support.tls import Certificates, make_certificates
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.integration, no_database]

PASSWORD = "Pw7!xQ2z"
GSM_TEXT = "Hello from mecm: 100 € {ok} @£$"
UCS2_TEXT = "مرحبا بك في ميكم 😀"
LONG_GSM = " ".join(f"word{i:03d}" for i in range(50))  # 399 septets: 3 parts
LONG_UCS2 = "مرحبا " * 15 + "😀😀"  # 94 UTF-16 units: 2 parts


class Sinks:
    def __init__(self) -> None:
        self.receipts: list[tuple[str, str, str | None]] = []
        self.mos: list[tuple[str, str, str, str]] = []
        self.mo_parts: list[MOPart] = []

    async def receipt(self, carrier: str, receipts: Any) -> None:
        assert carrier == "movil"
        self.receipts.extend(receipts)

    async def mo(self, carrier: str, source: str, destination: str, text: str) -> None:
        self.mos.append((carrier, source, destination, text))

    async def mo_part(self, part: MOPart) -> None:
        self.mo_parts.append(part)

    def joined_parts(self) -> list[tuple[str, str, str, str]]:
        """The parts received, grouped by message and joined in order (what the runtime stores)."""
        groups: dict[tuple, dict[int, str]] = {}
        for p in self.mo_parts:
            groups.setdefault((p.carrier, p.source, p.destination, p.reference, p.total), {})[p.seq] = p.text
        return [(*key[:3], join_parts([parts[i] for i in sorted(parts)])) for key, parts in groups.items()
                if len(parts) == key[4]]


def message(n: int, text: str, *, sender: str = "OGANGI", flags: str = "") -> Claimed:
    return Claimed(n, "movil", sender, "584141234567", text, flags, "", 1, 1, 0, None)


@pytest.fixture()
def sim() -> Iterator[SmscSim]:
    with smsc_sim(password=PASSWORD, receipt_delay_ms=20) as started:
        yield started


@pytest.fixture(autouse=True)
def no_password_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert PASSWORD not in caplog.text


@pytest.fixture()
async def connect(sim: SmscSim) -> AsyncIterator[Callable[..., Any]]:
    started: list[SmppConnector] = []

    async def make(**settings: Any) -> tuple[SmppConnector, Sinks]:
        base = {"host": sim.host, "port": sim.port, "system_id": sim.system_id, "password": PASSWORD,
                "enquire_link_s": 2.0, "reconnect_base_s": 0.1, "reconnect_max_s": 0.5}
        connector = SmppConnector("movil", {**base, **settings})
        sinks = Sinks()
        await connector.start(sinks.receipt, mo=sinks.mo, mo_part=sinks.mo_part)
        started.append(connector)
        return connector, sinks

    yield make
    for connector in started:
        await connector.stop()


def submits(sim: SmscSim) -> list[dict[str, Any]]:
    return [entry["pdu"] for entry in sim.pdus(name="submit_sm")]


def short_message(pdu: dict[str, Any]) -> bytes:
    return bytes.fromhex(pdu["fields"]["short_message"])


def tlv(pdu: dict[str, Any], tag: int) -> bytes | None:
    value = pdu["tlvs"].get(f"0x{tag:04x}")
    return None if value is None else bytes.fromhex(value)


def assert_accepted(outcome: Outcome, parts: int) -> None:
    assert outcome.kind is OutcomeKind.ACCEPTED, outcome
    assert len(outcome.part_ids) == parts and len(set(outcome.part_ids)) == parts
    assert outcome.carrier_message_id == outcome.part_ids[0]


# -- what reaches the SMSC ------------------------------------------------------------------------


async def test_gsm_and_ucs2_arrive_with_their_coding_and_receipts_come_back(sim: SmscSim, connect) -> None:
    connector, sinks = await connect()
    gsm = await connector.submit(message(1, GSM_TEXT))
    ucs2 = await connector.submit(message(2, UCS2_TEXT, sender="1234"))
    assert_accepted(gsm, 1)
    assert_accepted(ucs2, 1)

    first, second = submits(sim)
    assert first["fields"]["data_coding"] == 0 and second["fields"]["data_coding"] == 8
    assert decode_short_message(short_message(first), 0) == GSM_TEXT
    assert decode_short_message(short_message(second), 8) == UCS2_TEXT
    assert (first["fields"]["source_addr_ton"], first["fields"]["source_addr_npi"]) == (5, 0)
    assert (second["fields"]["source_addr_ton"], second["fields"]["source_addr_npi"]) == (3, 0)
    assert first["fields"]["destination_addr"] == "584141234567"
    assert first["fields"]["registered_delivery"] == 1

    await wait_until_async(lambda: len(sinks.receipts) == 2)
    assert sorted(sinks.receipts) == sorted(
        [(gsm.carrier_message_id, "DELIVERED_TO_DEVICE", None), (ucs2.carrier_message_id, "DELIVERED_TO_DEVICE", None)]
    )


@pytest.mark.parametrize("concat", ["udh", "sar"])
async def test_long_messages_arrive_whole_and_in_order(sim: SmscSim, connect, concat: str) -> None:
    connector, sinks = await connect(concat=concat)
    gsm = await connector.submit(message(300, LONG_GSM))
    ucs2 = await connector.submit(message(301, LONG_UCS2))
    assert_accepted(gsm, 3)
    assert_accepted(ucs2, 2)

    received = submits(sim)
    assert len(received) == 5
    for pdus, text, coding in ((received[:3], LONG_GSM, 0), (received[3:], LONG_UCS2, 8)):
        pieces, refs = [], set()
        for seq, pdu in enumerate(pdus, 1):
            assert pdu["fields"]["data_coding"] == coding
            if concat == "udh":
                assert pdu["fields"]["esm_class"] & 0x40
                ref, total, part_seq, payload = parse_udh(short_message(pdu))
            else:
                ref = P.tlv_int(tlv(pdu, P.SAR_MSG_REF_NUM))
                total = P.tlv_int(tlv(pdu, P.SAR_TOTAL_SEGMENTS))
                part_seq = P.tlv_int(tlv(pdu, P.SAR_SEGMENT_SEQNUM))
                payload = short_message(pdu)
            assert (total, part_seq) == (len(pdus), seq)
            refs.add(ref)
            pieces.append(payload)
        assert len(refs) == 1
        joined = b"".join(pieces)
        assert decode_short_message(joined, coding) == text

    every_part = set(gsm.part_ids) | set(ucs2.part_ids)
    await wait_until_async(lambda: {r[0] for r in sinks.receipts} == every_part)


async def test_payload_concat_sends_the_whole_text_in_one_submit(sim: SmscSim, connect) -> None:
    connector, _ = await connect(concat="payload")
    outcome = await connector.submit(message(5, LONG_GSM))
    assert_accepted(outcome, 1)
    (pdu,) = submits(sim)
    assert short_message(pdu) == b""
    assert decode_short_message(tlv(pdu, P.MESSAGE_PAYLOAD), 0) == LONG_GSM


async def test_flags_reach_the_submit(sim: SmscSim, connect) -> None:
    connector, _ = await connect()
    await connector.submit(message(1, "no receipt please", flags="nodlr"))
    await connector.submit(message(2, "flash!", flags="flash"))
    await connector.submit(message(3, "flash ع", flags="FLASH,validity=90"))
    nodlr, flash, flash_ucs2 = submits(sim)
    assert nodlr["fields"]["registered_delivery"] == 0
    assert flash["fields"]["data_coding"] == 0x10
    assert flash_ucs2["fields"]["data_coding"] == 0x18
    assert flash_ucs2["fields"]["validity_period"] == "000000013000000R"


# -- receipts -------------------------------------------------------------------------------------


async def test_a_receipt_sent_before_the_response_still_reaches_the_sink(sim: SmscSim, connect) -> None:
    sim.configure(receipt_before_response=True)
    connector, sinks = await connect()
    outcome = await connector.submit(message(7, "quick"))
    assert_accepted(outcome, 1)
    await wait_until_async(lambda: sinks.receipts)
    assert sinks.receipts == [(outcome.carrier_message_id, "DELIVERED_TO_DEVICE", None)]


async def test_hex_response_ids_meet_decimal_receipt_ids(connect) -> None:
    with smsc_sim(password=PASSWORD, receipt_delay_ms=20, message_id_format="hex",
                  receipt_id_format="decimal", receipt_failure_share=1.0) as sim:
        connector = SmppConnector("movil", {"host": sim.host, "port": sim.port, "system_id": sim.system_id,
                                            "password": PASSWORD, "id_format": "decimal"})
        sinks = Sinks()
        await connector.start(sinks.receipt)
        try:
            outcome = await connector.submit(message(8, "ids"))
            await wait_until_async(lambda: sinks.receipts)
        finally:
            await connector.stop()
    assert outcome.carrier_message_id.isdigit()
    ((carrier_id, status, detail),) = sinks.receipts
    assert (carrier_id, status) == (outcome.carrier_message_id, "UNDELIVERED")
    assert detail and "UNDELIV" in detail


# -- pacing ---------------------------------------------------------------------------------------


def record_sends(connector: SmppConnector) -> list[float]:
    """The times the connector sends its submit_sm, as it sends them: its token bucket hands a token
    right before each write (no await in between), so the time a token is handed is the send's."""
    sent: list[float] = []
    take = connector._bucket.take

    async def taken() -> None:
        await take()
        sent.append(time.monotonic())

    connector._bucket.take = taken  # type: ignore[method-assign]
    return sent


async def test_throttling_is_a_retry_and_the_rate_never_exceeds_tps(sim: SmscSim, connect) -> None:
    connector, _ = await connect(tps=15)
    # The pacing is measured where the connector sends, not where the SMSC stamps arrivals: a stall
    # of the SMSC process (or of ours between the token and the write) would bunch arrivals into one
    # of its seconds, or stretch them, whatever the connector did.
    sent = record_sends(connector)
    sim.configure(throttle_share=1.0)
    throttled = await connector.submit(message(1, "slow down"))
    assert throttled.kind is OutcomeKind.RETRY and not throttled.counts_as_attempt
    assert throttled.retry_after_s and throttled.retry_after_s > 0
    assert connector.status()["throttled"] == 1

    sim.configure(throttle_share=0.0)
    # Sent at once, not after the pause the answer asked for: they wait for its end in the connector.
    outcomes = await asyncio.gather(*(connector.submit(message(n, f"m{n}")) for n in range(100, 145)))
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)
    assert len(submits(sim)) == 46 and len(sent) == 46  # every submit took a token
    # The pause was kept: it began when the throttle came back, after the throttled send. (Without
    # it, the next send follows within milliseconds: the throttle's answer and one control request.)
    assert sent[1] - sent[0] >= throttled.retry_after_s - 0.01
    # Never more than 15 in a second: any 16 sends in a row span more than a second.
    spans = [sent[i + 15] - sent[i] for i in range(len(sent) - 15)]
    assert min(spans) > 1.0, min(spans)
    # ... and not much slower either: 45 submits at 15 per second take about 3 s (a stall of this
    # process delays the sends after it, so the bound leaves room for seconds of stalls).
    assert sent[-1] - sent[1] < 44 / 15 * 2


async def test_the_window_bounds_submits_awaiting_a_response(sim: SmscSim, connect) -> None:
    sim.configure(submit_latency_ms=300)
    connector, _ = await connect(window=3)
    batch = asyncio.gather(*(connector.submit(message(n, f"w{n}")) for n in range(9)))
    # the window full, and only its 3 submits at the SMSC (the first answers come after 300 ms)
    await wait_until_async(lambda: connector.status()["window_in_use"] == 3 and len(submits(sim)) == 3)
    outcomes = await batch
    assert all(o.kind is OutcomeKind.ACCEPTED for o in outcomes)


# -- the link -------------------------------------------------------------------------------------


async def test_an_idle_bind_is_kept_up_by_enquire_link(sim: SmscSim, connect) -> None:
    connector, _ = await connect(enquire_link_s=0.3)
    stats = await wait_until_async(lambda: (s := sim.stats())["enquire_links"] >= 4 and s)
    assert stats["binds"] == 1
    assert connector.status()["sessions"] == {"trx": "bound"}
    assert (await connector.submit(message(1, "still here"))).kind is OutcomeKind.ACCEPTED


async def test_a_peer_that_stops_answering_is_found_within_two_intervals_and_rebound(sim: SmscSim, connect) -> None:
    # Found at most two intervals after the peer went silent (an enquire_link sent within one, its
    # answer awaited for one); here it is two, less the moments from the bind's enquire_link to the
    # silence. The room of 1.8 s is for this process stalling past the moment its timer was due; a
    # peer found a whole interval late (after a second unanswered enquire_link, say), or never,
    # still fails.
    interval = 2.0
    connector, _ = await connect(enquire_link_s=interval)
    await wait_until_async(lambda: connector.status()["sessions"]["trx"] == "bound")
    sim.configure(answer_enquire_link=False)
    silent_at = time.monotonic()
    in_flight = asyncio.create_task(connector.submit(message(1, "into the void")))
    await wait_until_async(lambda: connector.status()["sessions"]["trx"] != "bound", timeout=30)
    assert time.monotonic() - silent_at <= 2 * interval + 1.8
    outcome = await in_flight
    assert outcome.kind is OutcomeKind.RETRY and outcome.in_doubt

    sim.configure(answer_enquire_link=True)
    await wait_until_async(lambda: connector.status()["sessions"]["trx"] == "bound")
    assert connector.status()["reconnects"] >= 1
    assert (await connector.submit(message(2, "back"))).kind is OutcomeKind.ACCEPTED


async def test_an_smsc_crash_mid_submit_is_in_doubt_and_the_bind_comes_back(sim: SmscSim, connect) -> None:
    sim.configure(submit_latency_ms=1500)
    connector, _ = await connect()
    in_flight = asyncio.create_task(connector.submit(message(1, "lost answer")))
    await wait_until_async(lambda: connector.status()["window_in_use"] == 1)
    await asyncio.to_thread(sim.restart)
    outcome = await in_flight
    assert outcome.kind is OutcomeKind.RETRY and outcome.in_doubt
    assert outcome.detail == "outcome unknown: bind lost before the submit_sm_resp"
    await wait_until_async(lambda: connector.status()["sessions"]["trx"] == "bound")
    assert (await connector.submit(message(2, "after restart"))).kind is OutcomeKind.ACCEPTED


async def test_stop_waits_for_the_answer_in_flight_then_unbinds(sim: SmscSim, connect) -> None:
    sim.configure(submit_latency_ms=400)
    connector, _ = await connect()
    in_flight = asyncio.create_task(connector.submit(message(1, "last one")))
    await wait_until_async(lambda: connector.status()["window_in_use"] == 1)
    await connector.stop()
    assert (await in_flight).kind is OutcomeKind.ACCEPTED
    await wait_until_async(lambda: sim.stats()["unbinds"] == 1)


async def test_a_wrong_password_is_refused_and_not_logged(sim: SmscSim, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "Wr0ng!pw"
    connector = SmppConnector("movil", {"host": sim.host, "port": sim.port, "system_id": sim.system_id,
                                        "password": wrong, "reconnect_base_s": 0.1, "reconnect_max_s": 0.2})
    await connector.start(Sinks().receipt)
    try:
        await wait_until_async(lambda: sim.stats()["bind_failures"] >= 2)
        outcome = await connector.submit(message(1, "never"))
    finally:
        await connector.stop()
    assert outcome.kind is OutcomeKind.RETRY and not outcome.in_doubt and not outcome.counts_as_attempt
    assert "bind refused" in caplog.text
    assert wrong not in caplog.text and wrong not in repr(connector.settings) and wrong not in str(connector.status())


# -- query_sm -------------------------------------------------------------------------------------


async def test_query_knows_what_the_smsc_accepted(sim: SmscSim, connect) -> None:
    connector, _ = await connect()
    accepted = await connector.submit(message(1, "query me"))
    stored = SimpleNamespace(id=1, sender="OGANGI", carrier_message_id=accepted.carrier_message_id)
    never = SimpleNamespace(id=2, sender="OGANGI", carrier_message_id="7fffffff")
    assert (await connector.query(stored)).kind is OutcomeKind.ACCEPTED
    assert (await connector.query(never)).kind is OutcomeKind.UNKNOWN
    without_id = SimpleNamespace(id=3, sender="OGANGI", carrier_message_id=None)
    assert (await connector.query(without_id)).kind is OutcomeKind.UNKNOWN


# -- MOs and the tx-rx pair -----------------------------------------------------------------------


@pytest.mark.parametrize("concat", ["udh", "sar"])
async def test_mos_single_and_multi_part_reach_their_sinks(sim: SmscSim, connect, concat: str) -> None:
    """A single MO goes to the MO sink; each part of a long one to the part sink (the runtime stores
    and joins them), with the reference, total and sequence that put it in its place."""
    connector, sinks = await connect()
    await wait_until_async(lambda: connector.status()["sessions"]["trx"] == "bound")
    long_text = "Quiero informacion sobre el plan " * 9  # 3 parts of GSM
    sim.inject_mo("584141234567", "1234", "OGANGI hola")
    sim.inject_mo("584149876543", "1234", long_text, parts=3, concat=concat)
    sim.inject_mo("584140000000", "1234", "مرحبا 😀 " * 12, parts=2, concat=concat, data_coding=8)
    await wait_until_async(lambda: len(sinks.mos) == 1 and len(sinks.mo_parts) == 5)
    assert sinks.mos == [("movil", "584141234567", "1234", "OGANGI hola")]
    assert sorted((p.source, p.total, p.seq) for p in sinks.mo_parts) == [
        ("584140000000", 2, 1), ("584140000000", 2, 2),
        ("584149876543", 3, 1), ("584149876543", 3, 2), ("584149876543", 3, 3)]
    assert {p.wait_s for p in sinks.mo_parts} == {60.0}  # the carrier's mo_reassembly_s
    assert sorted(sinks.joined_parts()) == sorted([
        ("movil", "584149876543", "1234", long_text),
        ("movil", "584140000000", "1234", "مرحبا 😀 " * 12),
    ])
    await wait_until_async(lambda: sim.stats()["deliver_sm_acked"] >= 6)


async def test_a_transmitter_receiver_pair_sends_and_receives(sim: SmscSim, connect) -> None:
    connector, sinks = await connect(bind="tx-rx")
    await wait_until_async(lambda: connector.status()["sessions"] == {"tx": "bound", "rx": "bound"})
    outcome = await connector.submit(message(1, "over tx"))
    sim.inject_mo("584141234567", "1234", "over rx")
    await wait_until_async(lambda: sinks.receipts and sinks.mos)
    assert sinks.receipts[0][0] == outcome.carrier_message_id
    assert sinks.mos == [("movil", "584141234567", "1234", "over rx")]
    assert sim.stats()["binds"] == 2


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture()
def tls_sim(tmp_path: Path) -> Iterator[tuple[SmscSim, Certificates]]:
    certificates = make_certificates(tmp_path / "certs")
    with smsc_sim(password=PASSWORD, receipt_delay_ms=20, tls_cert=certificates.cert,
                  tls_key=certificates.key) as started:
        yield started, certificates


def failed_binds(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """Binds that failed so far, logged: (with a TLS error, with another)."""
    failures = [r.getMessage() for r in caplog.records if "cannot bind" in r.getMessage()]
    tls = sum("SSL" in m for m in failures)
    return tls, len(failures) - tls


async def test_over_tls_the_bind_checks_the_smscs_certificate_and_delivers(
        tls_sim, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    sim, certificates = tls_sim
    base = {"host": sim.host, "port": sim.port, "system_id": sim.system_id, "password": PASSWORD,
            "enquire_link_s": 2.0, "reconnect_base_s": 0.1, "reconnect_max_s": 0.5, "tls": True}
    trusting, sinks = SmppConnector("movil", {**base, "tls_ca": str(certificates.ca)}), Sinks()
    untrusting = SmppConnector("movil", base)  # the system's CAs only: this SMSC's certificate is unknown
    plain = SmppConnector("movil", {**base, "tls": False})
    for connector in (trusting, untrusting, plain):
        await connector.start(sinks.receipt, mo=sinks.mo, mo_part=sinks.mo_part)
    try:
        await wait_until_async(lambda: trusting.status()["sessions"]["trx"] == "bound")
        outcome = await trusting.submit(message(1, "over TLS"))
        assert outcome.kind is OutcomeKind.ACCEPTED
        await wait_until_async(lambda: sinks.receipts)
        assert sinks.receipts[0][:2] == (outcome.carrier_message_id, "DELIVERED_TO_DEVICE")
        assert [decode_short_message(short_message(p), 0) for p in submits(sim)] == ["over TLS"]
        # Several tries of the other two, each refused (the one not speaking TLS, and the one that does
        # not trust the certificate).
        await wait_until_async(lambda: min(failed_binds(caplog)) >= 3)
        assert untrusting.status()["sessions"]["trx"] != "bound"
        assert plain.status()["sessions"]["trx"] != "bound"
        assert sim.stats()["binds"] == 1
    finally:
        for connector in (trusting, untrusting, plain):
            await connector.stop()



# -- an SMSC that says goodbye --------------------------------------------------------------------


async def test_an_unbind_from_the_smsc_is_answered_with_what_was_queued_before_it() -> None:
    """The SMSC sends enquire_link and unbind in one write: both get their response before the
    connection closes (answers leave in one write per loop turn, and a close flushes them)."""
    received: list[P.Pdu] = []
    done = asyncio.Event()

    async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bind = await P.read_pdu(reader)
        writer.write(P.encode(P.response(bind, system_id="smsc")))
        goodbye = [P.Pdu(P.ENQUIRE_LINK), P.Pdu(P.UNBIND)]
        for sequence, pdu in enumerate(goodbye, start=100):
            pdu.sequence = sequence
        writer.write(b"".join(P.encode(pdu) for pdu in goodbye))
        try:
            while True:
                received.append(await P.read_pdu(reader))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            done.set()

    server = await asyncio.start_server(smsc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connector = SmppConnector("movil", {"host": "127.0.0.1", "port": port, "system_id": "x", "password": "pw",
                                        "enquire_link_s": 5.0, "reconnect_base_s": 5.0, "reconnect_max_s": 5.0})
    sinks = Sinks()
    await connector.start(sinks.receipt, mo=sinks.mo, mo_part=sinks.mo_part)
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await connector.stop()
        server.close()
    answers = [(pdu.command_id, pdu.sequence) for pdu in received]
    assert answers == [(P.ENQUIRE_LINK | P.RESPONSE_BIT, 100), (P.UNBIND | P.RESPONSE_BIT, 101)]
