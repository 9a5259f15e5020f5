"""The SMPP connector's pure decisions: the status table, addressing, validity, ids, pacing, settings.

No sockets here (tests/integration/test_smpp_connector.py drives the connector against a real
SMSC simulator); the pacing classes run on a fake clock.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from mecm.delivery.connectors.base import OutcomeKind
from mecm.delivery.smpp import outcomes as O
from mecm.delivery.smpp.config import SmppSettings
from mecm.delivery.smpp.inbound import Inbound
from mecm.delivery.smpp.rate import (
    RateMeter,
    TokenBucket,
    Window,
    reconnect_delay,
    slow_down_delay,
)
from mecm.domain.status import Status
from mecm.errors import InvalidParameter
from mecm.services.admin import carriers as admin_carriers
from mecm.services.catalog import load_catalog
from mecm.smpp import pdu as P
from mecm.store import admin as store_admin
from mecm.store import engine as store_engine
from mecm.store.crypto import Vault
from mecm.store.tables import carriers


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


# -- the status table --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [P.ESME_RTHROTTLED, P.ESME_RMSGQFUL])
def test_throttling_is_a_retry_that_costs_no_attempt(status: int) -> None:
    outcome = O.submit_outcome(status, slow_down_s=4.0)
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.counts_as_attempt is False
    assert outcome.retry_after_s == 4.0
    assert not outcome.in_doubt


@pytest.mark.parametrize(
    ("status", "final"),
    [
        (P.ESME_RINVDSTADR, "BAD_TO"),
        (P.ESME_RINVSRCADR, "BAD_FROM"),
        (0x50, "BAD_TO"),  # ESME_RINVDSTTON
        (0x48, "BAD_FROM"),  # ESME_RINVSRCTON
        (P.ESME_RINVESMCLASS, "NOT_SENT"),
        (0xFE, "UNREACHABLE"),
    ],
)
def test_refusals_map_to_final_statuses(status: int, final: str) -> None:
    outcome = O.submit_outcome(status, 1.0)
    assert (outcome.kind, outcome.status) == (OutcomeKind.FAILED, final)
    assert f"0x{status:02X}" in (outcome.detail or "")


def test_passing_smsc_trouble_is_a_counted_retry() -> None:
    outcome = O.submit_outcome(P.ESME_RSYSERR, 1.0)
    assert outcome.kind is OutcomeKind.RETRY and outcome.counts_as_attempt


def test_a_vendor_status_not_in_the_table_fails_with_its_code_shown() -> None:
    outcome = O.submit_outcome(0x401, 1.0)
    assert (outcome.kind, outcome.status) == (OutcomeKind.FAILED, "NOT_SENT")
    assert "0x00000401" in (outcome.detail or "")


def test_every_row_of_the_table_is_a_known_decision_and_spec_name() -> None:
    finals = {s.value for s in Status}
    for status, (name, decision) in O.SUBMIT_STATUS.items():
        assert decision in finals | {O.RETRY, O.SLOW_DOWN}, name
        if status in P.STATUS_NAMES:
            assert P.STATUS_NAMES[status] == name


def test_a_lost_answer_is_in_doubt() -> None:
    outcome = O.in_doubt("bind lost")
    assert outcome.kind is OutcomeKind.RETRY and outcome.in_doubt and outcome.counts_as_attempt
    assert outcome.detail == "outcome unknown: bind lost"


# -- addressing, validity, data coding -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("OGANGI", (5, 0, "OGANGI")),
        ("Info24", (5, 0, "Info24")),
        ("1234", (3, 0, "1234")),
        ("12345678", (3, 0, "12345678")),
        ("123456789", (1, 1, "123456789")),
        ("+584141234567", (1, 1, "584141234567")),
    ],
)
def test_source_ton_npi_follows_the_kind_of_sender(sender: str, expected: tuple[int, int, str]) -> None:
    assert O.source_address(sender) == expected


def test_destination_is_international_isdn() -> None:
    assert O.destination_address("+13056708084") == (1, 1, "13056708084")


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (1, "000000000100000R"),
        (90, "000000013000000R"),
        (1440, "000001000000000R"),
        (2 * 1440 + 61, "000002010100000R"),
        (99 * 1440, "000099000000000R"),
        (150 * 1440, "000500000000000R"),  # beyond 99 days: 30-day months
        (525_600, "010000000000000R"),  # the longest validity= allows: one year
    ],
)
def test_validity_is_smpp_relative_time(minutes: int, expected: str) -> None:
    assert O.relative_validity(minutes) == expected


def test_every_validity_fits_the_16_character_field() -> None:
    for minutes in range(1, 525_601, 997):
        value = O.relative_validity(minutes)
        assert len(value) == 16 and value.endswith("000R") and value[:12].isdigit()


def test_flash_sets_message_class_0_keeping_the_alphabet() -> None:
    assert O.flash_coding(0) == 0x10
    assert O.flash_coding(8) == 0x18


# -- ids -----------------------------------------------------------------------------------------


def test_as_is_ids_are_untouched() -> None:
    assert O.normalise_id("0A1b", "as-is", from_response=True) == "0A1b"


def test_decimal_format_makes_hex_response_ids_meet_decimal_receipts() -> None:
    # The common pairing (e.g. Nexmo): submit_sm_resp in hex, receipt text in decimal.
    assert O.normalise_id("1A2B", "decimal", from_response=True) == "6699"
    assert O.normalise_id("6699", "decimal", from_response=False) == "6699"
    assert O.normalise_id("1234", "decimal", from_response=True) == "4660"  # all-digit hex too
    assert O.normalise_id("0004660", "decimal", from_response=False) == "4660"
    assert O.normalise_id("1a2b", "decimal", from_response=False) == "6699"  # a receipt echoing hex


def test_hex_format_makes_decimal_response_ids_meet_hex_receipts() -> None:
    assert O.normalise_id("4660", "hex", from_response=True) == "1234"
    assert O.normalise_id("1234", "hex", from_response=False) == "1234"
    assert O.normalise_id("00FF", "hex", from_response=False) == "ff"


def test_ids_that_are_not_numbers_are_kept() -> None:
    assert O.normalise_id("abc-123", "decimal", from_response=True) == "abc-123"


def test_denormalise_gives_back_the_smsc_form_for_query_sm() -> None:
    assert O.denormalise_id("6699", "decimal") == "1A2B"
    assert O.denormalise_id("1234", "hex") == "4660"
    assert O.denormalise_id("x-1", "as-is") == "x-1"


# -- pacing --------------------------------------------------------------------------------------


async def test_the_bucket_never_allows_more_than_tps_in_any_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    for _ in range(500):
        await bucket.take()
        sent.append(clock.now)
    for i, start in enumerate(sent):
        # Not even in a second stretched by 50 ms of jitter on the way to the carrier.
        in_window = sum(1 for t in sent[i:] if t < start + 1.05 - 1e-9)  # float drift is not a burst
        assert in_window <= 50
    assert 499 / (sent[-1] - sent[0]) >= 0.94 * 50  # and at most 6 % slower than tps


async def test_the_bucket_stays_strict_when_a_waiter_wakes_late() -> None:
    clock = FakeClock()

    async def late_sleep(seconds: float) -> None:  # every other wake-up is 30 ms late
        clock.now += seconds + (0.03 if int(clock.now * 1000) % 2 else 0.0)

    bucket = TokenBucket(20, clock=clock, sleep=late_sleep)
    sent = []
    for _ in range(200):
        await bucket.take()
        sent.append(clock.now)
    assert all(sent[i + 20] - sent[i] > 1.0 for i in range(len(sent) - 20))


async def test_the_bucket_reserves_slots_so_late_wakers_do_not_slow_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    delays = [bucket.reserve() for _ in range(5)]  # five callers at once
    assert delays == pytest.approx([0.0, 0.101, 0.202, 0.303, 0.404])


def test_no_limit_means_no_wait_and_pause_still_holds_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0, clock=clock)
    assert [bucket.reserve() for _ in range(100)] == [0.0] * 100
    bucket.pause(2.0)
    assert bucket.reserve() == pytest.approx(2.0)


async def test_the_window_holds_the_next_submit_until_a_response_frees_a_slot() -> None:
    window = Window(2)
    entered: list[int] = []
    release = asyncio.Event()

    async def submit(n: int) -> None:
        async with window:
            entered.append(n)
            await release.wait()

    tasks = [asyncio.create_task(submit(n)) for n in range(3)]
    await asyncio.sleep(0.01)
    assert entered == [0, 1] and window.in_use == 2
    release.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2] and window.in_use == 0


def test_the_rate_meter_reports_recent_submits_per_second() -> None:
    clock = FakeClock(100.0)
    meter = RateMeter(span_s=5, clock=clock)
    for second in range(10):
        clock.now = 100.0 + second
        meter.record(20)
    assert meter.rate() == 20.0
    clock.now += 60
    assert meter.rate() == 0.0


def test_reconnect_backoff_grows_is_capped_and_jittered() -> None:
    low = [reconnect_delay(n, 1.0, 60.0, rand=lambda: 0.0) for n in range(10)]
    high = [reconnect_delay(n, 1.0, 60.0, rand=lambda: 1.0) for n in range(10)]
    assert high[:4] == [1.0, 2.0, 4.0, 8.0] and max(high) == 60.0
    assert low == [h / 2 for h in high]
    assert slow_down_delay(1) == 1.0 and slow_down_delay(3) == 4.0 and slow_down_delay(50) == 30.0


# -- settings and their storage ------------------------------------------------------------------

GOOD = {"host": "smsc.example", "port": 2775, "system_id": "mecm", "password": "s3cr3t!"}


@pytest.mark.parametrize(
    ("change", "option"),
    [
        ({"window": 0}, "window"),
        ({"window": "ten"}, "window"),
        ({"tps": -1}, "tps"),
        ({"bind": "both"}, "bind"),
        ({"concat": "zip"}, "concat"),
        ({"on_unknown": "guess"}, "on-unknown"),
        ({"enquire_link_s": 0}, "enquire-link-s"),
        ({"id_format": "octal"}, "id-format"),
        ({"port": 70000}, "port"),
        ({"password": "longer-than-8"}, "password"),
        ({"host": ""}, "host"),
        ({"system_id": None}, "system-id"),
    ],
)
def test_bad_settings_are_refused_naming_the_option(change: dict, option: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        SmppSettings.parse({**GOOD, **change})
    assert refused.value.name == option


def test_settings_defaults_and_no_password_in_repr_or_public_view() -> None:
    settings = SmppSettings.parse(GOOD)
    assert (settings.bind, settings.window, settings.tps, settings.concat, settings.enquire_link_s) == (
        "transceiver", 10, 0.0, "udh", 30.0)
    assert "s3cr3t!" not in repr(settings)
    assert "password" not in settings.public()


def test_an_smpp_carrier_is_stored_with_its_password_encrypted(tmp_path: Path) -> None:
    engine = store_engine.make_engine(f"sqlite:///{tmp_path / 'a.db'}", create=True)
    store_engine.upgrade(engine, create=True)
    vault = Vault(Fernet.generate_key())
    with engine.begin() as connection:
        row = admin_carriers.add_carrier(connection, "movil", "smpp", ["58414"], {**GOOD, "tps": 100}, vault,
                                         actor="cli:test")
        with pytest.raises(InvalidParameter) as refused:
            admin_carriers.add_carrier(connection, "other", "smpp", [], {**GOOD, "window": 0}, vault, actor="cli:test")
        assert refused.value.name == "window"
        stored = connection.execute(select(carriers.c.settings).where(carriers.c.name == "movil")).scalar_one()
        listed = store_admin.list_carriers(connection)
        catalog = load_catalog(connection, vault)
    engine.dispose()
    assert "s3cr3t!" not in json.dumps(row) and "s3cr3t!" not in stored and "s3cr3t!" not in json.dumps(listed)
    assert listed[0]["settings"]["password"] == "(encrypted)"
    loaded = catalog.carriers["movil"].settings
    assert loaded["password"] == "s3cr3t!" and "password_enc" not in loaded
    assert "s3cr3t!" not in repr(catalog.carriers["movil"])
    assert SmppSettings.parse(loaded).tps == 100


# -- deliver_sm, without a socket ----------------------------------------------------------------


def _deliver(esm_class: int = 0, short_message: bytes = b"", tlvs: dict | None = None, **fields: object) -> P.Pdu:
    body = P.default_fields(P.DELIVER_SM)
    body.update(esm_class=esm_class, short_message=short_message, source_addr="584141234567",
                destination_addr="1234", **fields)
    return P.Pdu(P.DELIVER_SM, fields=body, tlvs=tlvs or {})


async def test_receipts_are_read_from_tlvs_then_text_and_non_final_ones_ignored() -> None:
    stored: list[tuple] = []

    async def sink(carrier: str, receipts: list) -> None:
        stored.extend((carrier, *r) for r in receipts)

    config = SmppSettings.parse({**GOOD, "id_format": "decimal"})
    inbound = Inbound("movil", config, sink, None)
    tlvs = {P.RECEIPTED_MESSAGE_ID: P.cstring_tlv("1a2b"), P.MESSAGE_STATE: P.int_tlv(P.DELIVERED)}
    assert await inbound.handle(_deliver(P.ESM_CLASS_RECEIPT, b"id:6699 stat:DELIVRD", tlvs)) == P.ESME_ROK
    text = b"id:6700 sub:001 dlvrd:000 submit date:2401010000 done date:2401010001 stat:UNDELIV err:034 text:hi"
    await inbound.handle(_deliver(P.ESM_CLASS_RECEIPT, text))
    await inbound.handle(_deliver(P.ESM_CLASS_RECEIPT, b"id:6701 stat:ENROUTE err:000"))
    assert stored == [
        ("movil", "6699", "DELIVERED_TO_DEVICE", None),
        ("movil", "6700", "UNDELIVERED", "stat:UNDELIV err:034"),
    ]


def test_carrier_status_lists_every_connector_without_secrets() -> None:
    from mecm.delivery.connectors import statuses
    from mecm.delivery.connectors.smpp import SmppConnector

    smpp = SmppConnector("movil", {**GOOD, "window": 20, "tps": 100})
    rows = statuses({"movil": smpp, "demo": object()})
    assert rows[0] == {"carrier": "demo", "connector": "object", "state": "running"}
    status = rows[1]
    assert status["sessions"] == {"trx": "down"} and (status["window"], status["tps"]) == (20, 100.0)
    assert status["window_in_use"] == 0 and status["submits"] == 0
    assert "s3cr3t!" not in json.dumps(rows)


def test_a_tls_ca_file_that_is_not_pem_certificates_is_refused(tmp_path) -> None:  # noqa: ANN001
    from mecm.delivery.smpp.config import SmppSettings
    from mecm.errors import InvalidParameter

    (tmp_path / "junk.pem").write_text("not a certificate")
    base = {"host": "127.0.0.1", "port": 2775, "system_id": "x", "tls": True}
    for path in (tmp_path / "junk.pem", tmp_path / "missing.pem"):
        with pytest.raises(InvalidParameter) as refused:
            SmppSettings.parse({**base, "tls_ca": str(path)})
        assert refused.value.name == "tls-ca"
