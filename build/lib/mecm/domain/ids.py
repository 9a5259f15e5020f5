"""64-bit message ids, unique across a deployment, generated without a database round trip.

Layout (like Twitter's snowflake): 41 bits of milliseconds since 2024-01-01, 10 bits of node id,
12 bits of sequence. Ids grow with time, so ordering by id is ordering by arrival. When a node
issues more than 4096 ids in one millisecond it borrows the next millisecond rather than wait.
"""

from __future__ import annotations

import threading
import time

from mecm.errors import Unavailable

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_SEQUENCE_BITS = 12
_NODE_BITS = 10


class IdGenerator:
    def __init__(self, node_id: int = 0) -> None:
        _check(node_id)
        self._node: int | None = node_id
        self.node = node_id
        self._retired_because = ""
        self._last_ms = 0
        self._sequence = 0
        self._lock = threading.Lock()

    def retire(self, reason: str) -> None:
        """Make no more ids until ``resume``: the node id may be another process's now
        (services/node_lease.py). ``next_id`` raises ``Unavailable`` with the reason."""
        with self._lock:
            self._node = None
            self._retired_because = reason

    def resume(self, node_id: int) -> None:
        """Make ids again, with ``node_id`` (a node id this process holds)."""
        _check(node_id)
        with self._lock:
            self._node = node_id
            self.node = node_id

    def next_id(self) -> int:
        with self._lock:
            if self._node is None:
                raise Unavailable(self._retired_because)
            now = int(time.time() * 1000)
            if now > self._last_ms:
                self._last_ms = now
                self._sequence = 0
            else:
                self._sequence += 1
                if self._sequence >= (1 << _SEQUENCE_BITS):
                    self._last_ms += 1
                    self._sequence = 0
            return (
                ((self._last_ms - EPOCH_MS) << (_NODE_BITS + _SEQUENCE_BITS))
                | (self._node << _SEQUENCE_BITS)
                | self._sequence
            )


def _check(node_id: int) -> None:
    if not 0 <= node_id < (1 << _NODE_BITS):
        raise ValueError("node_id must be 0 to 1023")


def id_to_epoch_ms(message_id: int) -> int:
    return (message_id >> (_NODE_BITS + _SEQUENCE_BITS)) + EPOCH_MS


def first_id_at(epoch_ms: int) -> int:
    """The smallest id generated at or after ``epoch_ms``: ids from a time on are ``id >= first_id_at``."""
    return max(0, epoch_ms - EPOCH_MS) << (_NODE_BITS + _SEQUENCE_BITS)
