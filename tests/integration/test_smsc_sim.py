"""`mecm smsc-sim` as a process, spoken to over a real socket by a small ESME built on our codec;
what it recorded is re-decoded by a second library (smpplib) so that our encoder and our simulator
cannot share one misunderstanding of SMPP."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
import smpplib.smpp

from mecm.smpp import pdu as p
from mecm.smpp.parts import (
    decode_short_message,
    join_parts,
    parse_udh,
    split_for_submit,
)
from mecm.smpp.pdu import Pdu
from mecm.smpp.receipt import parse_receipt_text
from tests.support.databases import no_database
from tests.support.smsc import Esme, SmscSim, smsc_sim

pytestmark = [pytest.mark.integration, no_database]
DEST = "584141234567"
LONG_GSM = "Estimado cliente, su pedido {4711} fue despachado. " * 8  # extension characters included
LONG_UCS2 = "Olá 😀 " * 15  # 105 UTF-16 units: 2 parts


@pytest.fixture(scope="module")
def module_sim(tmp_path_factory: pytest.TempPathFactory) -> SmscSim:
    with smsc_sim(tmp_path_factory.mktemp("smsc"), receipt_delay_ms=50) as sim:
        yield sim


@pytest.fixture
def sim(module_sim: SmscSim) -> SmscSim:
    module_sim.reset()
    return module_sim


@pytest.fixture
async def esme(sim: SmscSim) -> Esme:
    client = await Esme.connect(sim.host, sim.port)
    assert (await client.bind(sim.system_id, sim.password)).command_status == p.ESME_ROK
    yield client
    await client.close()


async def submit_parts(esme: Esme, text: str, concat: str, reference: int) -> list[Pdu]:
    responses = []
    for part in split_for_submit(text, concat=concat, reference=reference):
        responses.append(await esme.submit(
            source_addr="MECM", destination_addr=DEST, esm_class=part.esm_class, data_coding=part.data_coding,
            short_message=part.short_message, registered_delivery=1, tlvs=part.tlvs))
    return responses


async def receipts(esme: Esme, count: int) -> dict[str, Pdu]:
    """`count` receipts, by receipted_message_id."""
    found = {}
    for _ in range(count):
        deliver = await esme.next_deliver()
        assert deliver.fields["esm_class"] == p.ESM_CLASS_RECEIPT
        found[p.tlv_cstring(deliver.tlvs[p.RECEIPTED_MESSAGE_ID])] = deliver
    return found


async def test_bind_checks_credentials(sim: SmscSim) -> None:
    client = await Esme.connect(sim.host, sim.port)
    try:
        refused = await client.bind(sim.system_id, "wrong")
        assert refused.command_status == p.ESME_RINVPASWD
        assert (await client.bind("nobody", sim.password)).command_status == p.ESME_RINVSYSID
        assert (await client.submit(destination_addr=DEST)).command_status == p.ESME_RINVBNDSTS
        accepted = await client.bind(sim.system_id, sim.password, p.BIND_TRANSMITTER)
        assert (accepted.command_status, accepted.fields["system_id"]) == (p.ESME_ROK, "smsc-sim")
        assert (await client.bind(sim.system_id, sim.password)).command_status == p.ESME_RALYBND
    finally:
        await client.close()
    stats = sim.stats()
    assert (stats["binds"], stats["bind_failures"]) == (1, 2)


async def test_gsm_submit_gets_an_id_a_receipt_and_a_query_answer(sim: SmscSim, esme: Esme) -> None:
    [resp] = await submit_parts(esme, "Su código es 1234", "udh", 1)
    message_id = resp.fields["message_id"]
    assert resp.command_status == p.ESME_ROK and int(message_id, 16) > 0
    receipt = (await receipts(esme, 1))[message_id]
    assert receipt.fields["source_addr"] == DEST and receipt.fields["destination_addr"] == "MECM"
    assert p.tlv_int(receipt.tlvs[p.MESSAGE_STATE]) == p.DELIVERED
    parsed = parse_receipt_text(receipt.fields["short_message"].decode("ascii"))
    assert (parsed.message_id, parsed.stat) == (message_id, "DELIVRD")
    answer = await esme.request(Pdu(p.QUERY_SM, fields={"message_id": message_id, "source_addr": "MECM"}))
    assert (answer.command_status, answer.fields["message_state"]) == (p.ESME_ROK, p.DELIVERED)
    assert len(answer.fields["final_date"]) == 16
    unknown = await esme.request(Pdu(p.QUERY_SM, fields={"message_id": "ffffffff"}))
    assert unknown.command_status == p.ESME_RQUERYFAIL


async def test_long_messages_get_one_receipt_per_part(sim: SmscSim, esme: Esme) -> None:
    udh = await submit_parts(esme, LONG_GSM, "udh", 0x42)
    sar = await submit_parts(esme, LONG_UCS2, "sar", 0x1234)
    assert (len(udh), len(sar)) == (3, 2)
    ids = [r.fields["message_id"] for r in udh + sar]
    assert len(set(ids)) == 5
    assert set(await receipts(esme, 5)) == set(ids)
    texts = [e["pdu"]["text"] for e in sim.pdus(name="submit_sm")]  # the sim decodes each part
    assert ("".join(texts[:3]), "".join(texts[3:])) == (LONG_GSM, LONG_UCS2)
    stats = sim.stats()
    assert (stats["submits"], stats["duplicates"], stats["receipts_sent"]) == (5, 0, 5)


async def test_resent_part_counts_as_a_duplicate(sim: SmscSim, esme: Esme) -> None:
    await submit_parts(esme, LONG_GSM, "udh", 9)
    await submit_parts(esme, LONG_GSM, "udh", 9)  # the same three parts again
    await submit_parts(esme, LONG_GSM, "udh", 10)  # another message with the same text
    stats = sim.stats()
    assert (stats["submits"], stats["duplicates"]) == (9, 3)
    assert sum(stats["per_second"].values()) == 9


async def test_submits_sent_together_share_commits(sim: SmscSim, esme: Esme) -> None:
    """A window of submits is committed in a few transactions, not one each, and every one is
    answered with its own id."""
    before = sim.stats()["commits"]
    answers = await asyncio.gather(*(esme.submit(destination_addr=DEST, short_message=f"window {i}".encode())
                                     for i in range(50)))
    assert [a.command_status for a in answers] == [p.ESME_ROK] * 50
    assert len({a.fields["message_id"] for a in answers}) == 50
    stats = sim.stats()
    assert stats["submits"] == 50
    assert stats["commits"] - before < 25


async def test_injected_mos_arrive_whole(sim: SmscSim, esme: Esme) -> None:
    sim.inject_mo("584149999999", "12345", "ALTA")
    single = await esme.next_deliver()
    assert (single.fields["source_addr"], single.fields["destination_addr"]) == ("584149999999", "12345")
    assert decode_short_message(single.fields["short_message"], single.fields["data_coding"]) == "ALTA"

    text = "Quiero información del plan 😀 " * 5
    sim.inject_mo("584149999999", "12345", text, parts=3, concat="udh", data_coding=8, reverse=True)
    sim.inject_mo("584148888888", "12345", "parte uno y parte dos", parts=2, concat="sar", data_coding=3)
    groups: dict[tuple[str, int], dict[int, str]] = {}
    for _ in range(5):
        deliver = await esme.next_deliver()
        source, coding = deliver.fields["source_addr"], deliver.fields["data_coding"]
        if deliver.fields["esm_class"] & p.ESM_CLASS_UDHI:
            ref, total, seq, data = parse_udh(deliver.fields["short_message"])
        else:
            ref, total, seq = (p.tlv_int(deliver.tlvs[t]) for t in
                               (p.SAR_MSG_REF_NUM, p.SAR_TOTAL_SEGMENTS, p.SAR_SEGMENT_SEQNUM))
            data = deliver.fields["short_message"]
        groups.setdefault((source, ref), {})[seq] = decode_short_message(data, coding)
    whole = [join_parts([parts[i] for i in sorted(parts)]) for parts in groups.values()]
    assert sorted(whole) == sorted([text, "parte uno y parte dos"])
    assert sim.stats()["mo_sent"] == 6


async def test_mo_waits_for_a_receiver(sim: SmscSim) -> None:
    transmitter = await Esme.connect(sim.host, sim.port)
    await transmitter.bind(sim.system_id, sim.password, p.BIND_TRANSMITTER)
    assert sim.inject_mo("58414", "12345", "hola")["receivers"] == 0
    receiver = await Esme.connect(sim.host, sim.port)
    try:
        await receiver.bind(sim.system_id, sim.password, p.BIND_RECEIVER)
        assert (await receiver.next_deliver()).fields["short_message"] == b"hola"
        assert transmitter.delivers.empty()
    finally:
        await transmitter.close()
        await receiver.close()


async def test_refused_deliveries_are_delivered_again(sim: SmscSim, esme: Esme) -> None:
    sim.configure(deliver_retry_s=0.2)
    esme.ack_status = p.ESME_RX_T_APPN
    sim.inject_mo("58414", "12345", "again")
    first = await esme.next_deliver()
    esme.ack_status = p.ESME_ROK
    second = await esme.next_deliver(timeout=15)
    assert first.fields["short_message"] == second.fields["short_message"] == b"again"
    stats = sim.wait_for(lambda: (s := sim.stats())["deliver_sm_acked"] and s)
    assert (stats["deliver_sm_refused"], stats["deliver_sm_redelivered"]) == (1, 1)


async def test_unanswered_deliveries_are_taken_back(sim: SmscSim, esme: Esme) -> None:
    sim.configure(deliver_timeout_s=0.3)
    esme.ack_status = None  # play an ESME that never answers deliver_sm
    sim.inject_mo("58414", "12345", "are you there")
    first = await esme.next_deliver()
    second = await esme.next_deliver(timeout=15)
    assert first.fields["short_message"] == second.fields["short_message"] == b"are you there"
    assert second.sequence != first.sequence


async def test_submit_taken_but_answer_lost(sim: SmscSim, esme: Esme) -> None:
    """The in-doubt case: the SMSC stored the submit, the connection died before its response."""
    sim.configure(submit_latency_ms=300)
    esme.send(Pdu(p.SUBMIT_SM, sequence=1, fields={"destination_addr": DEST, "short_message": b"lost"}))
    await esme.writer.drain()
    sim.wait_for(lambda: sim.pdus(name="submit_sm"))
    await esme.close()
    # A later submit on another session, answered after the same latency: its answer comes after the
    # time the lost one's was due (a positive signal, not a time waited).
    later = await Esme.connect(sim.host, sim.port)
    try:
        assert (await later.bind(sim.system_id, sim.password)).command_status == p.ESME_ROK
        assert (await later.submit(destination_addr=DEST, short_message=b"later")).command_status == p.ESME_ROK
    finally:
        await later.close()
    assert sim.stats()["submits"] == 2
    answered = sim.pdus(direction="out", name="submit_sm_resp")
    first_session = sim.pdus(name="submit_sm")[0]["session"]
    assert [r for r in answered if r["session"] == first_session] == []
    assert len(answered) == 1


async def test_enquire_link_unknown_commands_and_unbind(sim: SmscSim, esme: Esme) -> None:
    assert (await esme.request(Pdu(p.ENQUIRE_LINK))).command_id == p.ENQUIRE_LINK_RESP
    nack = await esme.request_raw(struct.pack(">IIII", 16, 0x21, 0, 99), 99)  # submit_multi: not simulated
    assert (nack.command_id, nack.command_status) == (p.GENERIC_NACK, p.ESME_RINVCMDID)
    assert (await esme.request(Pdu(p.UNBIND))).command_id == p.UNBIND_RESP


async def test_throttling_and_errors_at_run_time(sim: SmscSim, esme: Esme) -> None:
    sim.configure(throttle_share=1.0)
    assert (await esme.submit(destination_addr=DEST, short_message=b"x")).command_status == p.ESME_RTHROTTLED
    sim.configure(throttle_share=0.0, error_share=1.0, error_status=p.ESME_RMSGQFUL)
    assert (await esme.submit(destination_addr=DEST, short_message=b"x")).command_status == p.ESME_RMSGQFUL
    sim.configure(error_share=0.0)
    assert (await esme.submit(destination_addr=DEST, short_message=b"x")).command_status == p.ESME_ROK
    stats = sim.stats()
    assert (stats["throttled"], stats["errors_injected"], stats["submits"]) == (1, 1, 1)
    with pytest.raises(RuntimeError, match="throttle_share"):
        sim.configure(throttle_share=2)


async def test_half_dead_peer_answers_nothing_until_revived(sim: SmscSim, esme: Esme) -> None:
    sim.configure(answer_enquire_link=False)
    answers_before = len(sim.pdus(direction="out", name="enquire_link_resp"))
    links_before = sim.stats()["enquire_links"]
    esme.send(Pdu(p.ENQUIRE_LINK, sequence=esme.next_sequence()))
    # Taken and handled (counted), yet no answer written: no time waited for one that never comes.
    sim.wait_for(lambda: sim.stats()["enquire_links"] == links_before + 1)
    assert len(sim.pdus(direction="out", name="enquire_link_resp")) == answers_before
    assert not [r for r in esme.received if r.command_id == p.ENQUIRE_LINK_RESP]
    sim.inject_mo("58414", "12345", "held back")
    assert sim.stats()["queued"] == 1  # held back at once (the injection queues and sends in one step)
    assert esme.delivers.empty()
    sim.configure(answer_enquire_link=True)
    assert (await esme.next_deliver()).fields["short_message"] == b"held back"
    assert (await esme.request(Pdu(p.ENQUIRE_LINK))).command_id == p.ENQUIRE_LINK_RESP


async def test_receipt_before_response_in_the_other_id_format(sim: SmscSim, esme: Esme) -> None:
    sim.configure(receipt_before_response=True, receipt_id_format="decimal", submit_latency_ms=100,
                  receipt_failure_share=1.0)
    resp = await esme.submit(destination_addr=DEST, short_message=b"race", registered_delivery=1)
    kinds = [pdu.command_id for pdu in esme.received]
    assert kinds.index(p.DELIVER_SM) < kinds.index(p.SUBMIT_SM_RESP)
    receipt = await esme.next_deliver()
    receipted = p.tlv_cstring(receipt.tlvs[p.RECEIPTED_MESSAGE_ID])
    assert receipted == str(int(resp.fields["message_id"], 16))
    assert parse_receipt_text(receipt.fields["short_message"].decode()).stat == "UNDELIV"
    assert p.tlv_int(receipt.tlvs[p.MESSAGE_STATE]) == p.UNDELIVERABLE


async def test_recorded_pdus_read_the_same_with_smpplib(sim: SmscSim, esme: Esme) -> None:
    """The same bytes, parsed by a second implementation, say what we meant."""
    udh = split_for_submit(LONG_GSM, concat="udh", reference=0x42)
    sar = split_for_submit(LONG_UCS2, concat="sar", reference=0x1234)
    await submit_parts(esme, LONG_GSM, "udh", 0x42)
    await submit_parts(esme, LONG_UCS2, "sar", 0x1234)
    await receipts(esme, 5)
    sim.inject_mo("584149999999", "12345", "hola 😀", data_coding=8)
    await esme.next_deliver()

    submits = [smpplib.smpp.parse_pdu(bytes.fromhex(e["hex"]), need_sequence=False) for e in sim.pdus(name="submit_sm")]
    assert [s.destination_addr for s in submits] == [DEST.encode()] * 5
    assert [s.short_message for s in submits] == [part.short_message for part in udh + sar]
    assert [s.data_coding for s in submits] == [0, 0, 0, 8, 8]
    assert [s.esm_class for s in submits] == [0x40, 0x40, 0x40, 0, 0]
    assert [(s.sar_msg_ref_num, s.sar_total_segments, s.sar_segment_seqnum) for s in submits[3:]] == [
        (0x1234, 2, 1), (0x1234, 2, 2)]
    assert submits[0].short_message[:6] == bytes([5, 0, 3, 0x42, 3, 1])

    sent = sim.pdus(direction="out", name="deliver_sm")
    delivers = [smpplib.smpp.parse_pdu(bytes.fromhex(e["hex"]), need_sequence=False) for e in sent]
    receipts_seen = [d for d in delivers if d.esm_class == p.ESM_CLASS_RECEIPT]
    assert len(receipts_seen) == 5
    for d in receipts_seen:
        assert d.receipted_message_id.rstrip(b"\0").decode() in d.short_message.decode()
        assert d.message_state == p.DELIVERED
    [mo] = [d for d in delivers if d.esm_class != p.ESM_CLASS_RECEIPT]
    assert (mo.data_coding, mo.short_message.decode("utf-16-be")) == (8, "hola 😀")

    # the JSON-lines record holds the same bytes
    lines = [json.loads(line) for line in sim.record_path.read_text().splitlines()]
    assert {e["hex"] for e in sim.pdus(name="submit_sm")} <= {e["hex"] for e in lines}


def test_record_survives_a_restart(tmp_path) -> None:
    with smsc_sim(tmp_path, receipt_delay_ms=60_000) as sim:  # receipts not due before the kill
        async def submit_twice() -> str:
            client = await Esme.connect(sim.host, sim.port)
            await client.bind(sim.system_id, sim.password)
            resp = await client.submit(destination_addr=DEST, short_message=b"once", registered_delivery=1)
            await client.close()
            return resp.fields["message_id"]

        first = asyncio.run(submit_twice())
        sim.restart()
        second = asyncio.run(submit_twice())
        assert first != second
        stats = sim.stats()
        assert (stats["submits"], stats["duplicates"]) == (2, 1)

        async def query(message_id: str) -> Pdu:
            client = await Esme.connect(sim.host, sim.port)
            await client.bind(sim.system_id, sim.password)
            try:
                return await client.request(Pdu(p.QUERY_SM, fields={"message_id": message_id}))
            finally:
                await client.close()

        answer = asyncio.run(query(first))
        assert (answer.command_status, answer.fields["message_state"]) == (p.ESME_ROK, p.ENROUTE)


def test_every_answered_submit_survives_a_kill(tmp_path) -> None:
    """A submit is answered only once committed: SIGKILL right after the answers loses none."""
    with smsc_sim(tmp_path, receipt_delay_ms=60_000) as sim:
        async def submit_window() -> list[str]:
            client = await Esme.connect(sim.host, sim.port)
            await client.bind(sim.system_id, sim.password)
            answers = await asyncio.gather(*(client.submit(destination_addr=DEST, short_message=f"kill {i}".encode())
                                             for i in range(30)))
            await client.close()
            return [a.fields["message_id"] for a in answers]

        ids = asyncio.run(submit_window())
        sim.restart()  # SIGKILL, then start on the same database

        async def query_all() -> list[int]:
            client = await Esme.connect(sim.host, sim.port)
            await client.bind(sim.system_id, sim.password)
            try:
                return [(await client.request(Pdu(p.QUERY_SM, fields={"message_id": i}))).command_status for i in ids]
            finally:
                await client.close()

        assert asyncio.run(query_all()) == [p.ESME_ROK] * 30
        assert (sim.stats()["submits"], sim.stats()["duplicates"]) == (30, 0)
