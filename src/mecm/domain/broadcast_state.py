"""What a broadcast's state is called where people and scripts read it (CLI, admin API, console).

The worker stores how far it got: ``scheduled`` (nothing queued yet), ``sending`` (queueing its
members a page at a time), ``queued`` (every member queued) or ``cancelled``. "Queued" is the
worker's word: once every member is queued, its messages still go out at the carriers' pace, and
when the last has been handed to a carrier the broadcast is finished. So the state shown comes
from the stored one and the number of its messages still waiting (PENDING or SENDING):

| shown | when |
|---|---|
| scheduled | its start has not come (or the worker has not reached it yet): nothing queued |
| sending | members are being queued, or queued messages wait for their carrier |
| done | every member queued and every message handed to a carrier (receipts may still come) |
| cancelled | cancelled: nothing more is queued, waiting messages were withdrawn |

``done`` (the boolean scripts already read) is true exactly when the state shown is ``done``, or
``cancelled`` with nothing left waiting.
"""

from __future__ import annotations

SHOWN_STATES = ("scheduled", "sending", "done", "cancelled")


def shown_state(stored: str, waiting: int) -> str:
    """The state to show for a broadcast stored as ``stored`` with ``waiting`` messages not yet
    handed to a carrier."""
    if stored == "queued":
        return "sending" if waiting else "done"
    return stored


def is_done(stored: str, waiting: int) -> bool:
    """Nothing more will be queued or handed to a carrier."""
    return stored in ("queued", "cancelled") and waiting == 0
