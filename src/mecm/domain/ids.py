"""64-bit message ids, unique across a deployment, generated without a database round trip.

Layout (like Twitter's snowflake): 41 bits of milliseconds since 2024-01-01, 10 bits of node id,
12 bits of sequence. Ids grow with time, so ordering by id is ordering by arrival. When a node
issues more than 4096 ids in one millisecond it borrows the next millisecond rather than wait.
"""

from __future__ import annotations

import threading
import time

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_SEQUENCE_BITS = 12
_NODE_BITS = 10


class IdGenerator:
    def __init__(self, node_id: int = 0) -> None:
        if not 0 <= node_id < (1 << _NODE_BITS):
            raise ValueError("node_id must be 0 to 1023")
        self._node = node_id
        self.node = node_id
        self._last_ms = 0
        self._sequence = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
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


def id_to_epoch_ms(message_id: int) -> int:
    return (message_id >> (_NODE_BITS + _SEQUENCE_BITS)) + EPOCH_MS


def first_id_at(epoch_ms: int) -> int:
    """The smallest id generated at or after ``epoch_ms``: ids from a time on are ``id >= first_id_at``."""
    return max(0, epoch_ms - EPOCH_MS) << (_NODE_BITS + _SEQUENCE_BITS)
