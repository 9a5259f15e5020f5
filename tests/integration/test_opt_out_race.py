"""Issue 13, the opt-out race: a send made right after a STOP's (or START's) answer is decided on it.

``mecm serve`` (API process and delivery worker) delivers over SMPP to ``mecm smsc-sim``. Each
subscriber's STOP or START goes through fireMessage, and the send follows the moment its answer
is back: the send's own answer must already say NOT_SENT (after STOP), and after START the message
must reach the carrier. Before issue 13 the API's view of opt-outs was refreshed by a task
fireMessage did not wait for: such sends were often answered PENDING after a STOP, and stored
NOT_SENT for good after a START.

A STOP from the carrier is stored by the worker, another process: once the worker has acknowledged
its deliver_sm, a send to the API is refused all the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_opt_out import FINAL, world
from tests.support.smsc import SmscSim
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SUBSCRIBERS = [f"5841420000{i:02d}" for i in range(50)]


def submitted(sim: SmscSim) -> list[tuple[str, str]]:
    """(number, text) of every submit_sm the SMSC received."""
    return [(p["pdu"]["fields"]["destination_addr"], p["pdu"]["text"]) for p in sim.pdus(name="submit_sm")]


def test_a_send_right_after_stop_or_start_is_decided_on_it(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        code = server.creds["code"]

        answered_after_stop = {}
        for number in SUBSCRIBERS:
            assert api.fire_message(number, "STOP").keyword == "STOP"
            message = api.send_sms(number, f"after STOP {number}", from_=code)
            answered_after_stop[number] = message
        pending = [n for n, m in answered_after_stop.items() if m.status != "NOT_SENT"]
        assert pending == [], f"{len(pending)} of 50 sends right after STOP were not answered NOT_SENT"
        assert {m.status_description for m in answered_after_stop.values()} == {"Subscriber opted out"}

        answered_after_start = {}
        for number in SUBSCRIBERS:
            assert api.fire_message(number, "START").keyword == "START"
            answered_after_start[number] = api.send_sms(number, f"after START {number}", from_=code)
        refused = [n for n, m in answered_after_start.items() if m.status != "PENDING"]
        assert refused == [], f"{len(refused)} of 50 sends right after START were refused"

        for message in answered_after_start.values():
            assert wait_until(lambda m=message: (s := api.get_message(m.id).status) in FINAL and s,
                              timeout=60) == "DELIVERED_TO_DEVICE"
        reached = submitted(sim)
        assert sorted(n for n, t in reached if t == f"after START {n}") == SUBSCRIBERS
        assert not [t for _, t in reached if t.startswith("after STOP")]


def test_a_send_after_the_worker_acknowledged_a_carrier_stop_is_refused(tmp_path: Path) -> None:
    with world(tmp_path) as (sim, server, api):
        code = server.creds["code"]
        for number in SUBSCRIBERS[:10]:
            before = sim.stats()["mo_sent"]
            sim.inject_mo(number, code, "STOP")
            # The worker answers the deliver_sm once the STOP is stored (and made known to the API).
            wait_until(lambda b=before: all_acknowledged(sim, mo_sent_above=b))
            message = api.send_sms(number, f"after STOP {number}", from_=code)
            assert (message.status, message.status_description) == ("NOT_SENT", "Subscriber opted out"), number


def all_acknowledged(sim: SmscSim, mo_sent_above: int) -> bool:
    """The SMSC sent an MO after ``mo_sent_above`` ones, and every deliver_sm it sent (MOs and the
    confirmations' receipts) has its deliver_sm_resp."""
    stats = sim.stats()
    sent = stats["mo_sent"] + stats["receipts_sent"] + stats["deliver_sm_redelivered"]
    return stats["mo_sent"] > mo_sent_above and stats["deliver_sm_acked"] >= sent
