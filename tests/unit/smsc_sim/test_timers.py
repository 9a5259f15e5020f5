"""Deadlines: the simulator's delayed calls (receipts, latencies, deliver_sm timeouts) on one timer."""

from __future__ import annotations

import asyncio

from mecm.smsc_sim.timers import Deadlines


async def test_calls_run_in_deadline_order_then_in_the_order_made() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    ran: list[str] = []
    for name, delay in (("c", 0.06), ("a", 0.02), ("b1", 0.04), ("b2", 0.04)):
        deadlines.call_later(delay, ran.append, name)
    await asyncio.sleep(0.03)
    assert ran == ["a"]
    await asyncio.sleep(0.1)
    assert ran == ["a", "b1", "b2", "c"]
    assert len(deadlines) == 0


async def test_a_later_call_made_while_running_does_not_hold_back_an_earlier_one() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    ran: list[str] = []
    deadlines.call_later(0.05, ran.append, "earlier")
    # runs first and schedules a call due after "earlier": "earlier" must still come on time
    deadlines.call_later(0.0, lambda: deadlines.call_later(0.5, ran.append, "later"))
    await asyncio.sleep(0.15)
    assert ran == ["earlier"]
    deadlines.clear()
    await asyncio.sleep(0.5)
    assert ran == ["earlier"]
