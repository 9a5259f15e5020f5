"""What a broadcast's state is called where people and scripts read it (CLI, admin API, console),
and what pausing and resuming one may do.

The worker stores how far it got: ``scheduled`` (nothing queued yet), ``sending`` (queueing its
members a page at a time), ``queued`` (every member queued), ``paused`` (an admin paused it) or
``cancelled``. "Queued" is the worker's word: once every member is queued, its messages still go out
at the carriers' pace, and when the last has been handed to a carrier the broadcast is finished. So
the state shown comes from the stored one and the number of its messages still waiting (PENDING or
SENDING):

| shown | when |
|---|---|
| scheduled | its start has not come (or the worker has not reached it yet): nothing queued |
| sending | members are being queued, or queued messages wait for their carrier |
| paused | paused: nothing more is queued, its waiting messages are held until it is resumed |
| done | every member queued and every message handed to a carrier (receipts may still come) |
| cancelled | cancelled: nothing more is queued, waiting messages were withdrawn |

``done`` (the boolean scripts already read) is true exactly when the state shown is ``done``, or
``cancelled`` with nothing left waiting.

Pausing holds the broadcast's waiting messages where the dispatcher never looks: ``HELD_MS`` is
added to their ``next_attempt_at_ms`` (and to ``expires_at_ms``, so that no validity runs out while
they are held). Every claim asks for messages due by now, so a held message is never claimed, and
an idle worker's "anything due?" stays no. Resuming makes them due at once with the validity they
had left. The hold is in the database, so every process (API, workers) and every restart honours it.
"""

from __future__ import annotations

SHOWN_STATES = ("scheduled", "sending", "paused", "done", "cancelled")
# Stored states of a broadcast that will still queue members (or resume doing so): its list, code and
# carrier are in use.
UNFINISHED_STATES = ("scheduled", "sending", "paused")
# Stored states a pause may come from (``queued`` only while messages still wait: see pause_refusal).
PAUSABLE_STATES = ("scheduled", "sending", "queued")
# Added to a held message's times: far beyond any real time (about 31,700 years of milliseconds),
# far below the 64-bit columns' limit.
HELD_MS = 10**15


def shown_state(stored: str, waiting: int) -> str:
    """The state to show for a broadcast stored as ``stored`` with ``waiting`` messages not yet
    handed to a carrier."""
    if stored == "queued":
        return "sending" if waiting else "done"
    return stored


def is_done(stored: str, waiting: int) -> bool:
    """Nothing more will be queued or handed to a carrier."""
    return stored in ("queued", "cancelled") and waiting == 0


def pause_refusal(stored: str, waiting: int) -> str | None:
    """Why a broadcast in this state cannot be paused (None: it can)."""
    shown = shown_state(stored, waiting)
    if shown == "paused":
        return "is already paused"
    if shown in ("done", "cancelled"):
        return f"is {shown}: there is nothing left to pause"
    return None


def resume_refusal(stored: str, waiting: int) -> str | None:
    """Why a broadcast in this state cannot be resumed (None: it can)."""
    shown = shown_state(stored, waiting)
    if shown == "paused":
        return None
    if shown in ("done", "cancelled"):
        return f"is {shown}: there is nothing left to resume"
    return f"is {shown}, not paused"


def resumed_state(cursor: str, finished_at_ms: int | None) -> str:
    """The stored state a paused broadcast goes back to: queued when every member was queued before
    the pause, sending when some were, scheduled when none were (the worker starts it when due)."""
    if finished_at_ms is not None:
        return "queued"
    return "sending" if cursor else "scheduled"
