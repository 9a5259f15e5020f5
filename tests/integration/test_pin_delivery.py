"""A PIN message over SMPP: the carrier (``mecm smsc-sim``, a process) receives the real PIN in the
submit_sm, while mecm's own database, getMessage and log only ever hold it masked.

The simulated SMSC records what it received, as a real carrier does: that record is the carrier's
side, not mecm's data at rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_smpp_end_to_end import client, cstr, gsm_decode, one_carrier, recorded_submits, wait_final

pytestmark = pytest.mark.integration

NUMBER = "584141234567"


def test_the_carrier_receives_the_real_pin_and_mecm_keeps_it_masked(tmp_path: Path) -> None:
    with one_carrier(tmp_path) as (sim, server):
        api = client(server)
        sent = api.send_pin(NUMBER, "Your code is {pin}, valid 10 min", from_=server.creds["code"],
                            carrier="movil", length=8)
        assert wait_final(api, sent.message_id) == "DELIVERED_TO_DEVICE"
        (submit,) = recorded_submits(sim)
        assert cstr(submit.destination_addr) == NUMBER
        assert gsm_decode(submit.short_message) == f"Your code is {sent.pin}, valid 10 min"
        assert api.get_message(sent.message_id).text == "Your code is ********, valid 10 min"
        assert server.query("SELECT text, sealed_text FROM messages WHERE id = ?", sent.message_id) == [
            ("Your code is ********, valid 10 min", None)]  # the sealed text is erased once sent
        assert api.verify_pin(NUMBER, sent.pin).approved
    assert sent.pin not in (server.home / "server.log").read_text()
