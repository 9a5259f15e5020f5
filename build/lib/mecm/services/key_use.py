"""Per request: is this key still within its expiry, and note that it was used.

Authentication calls ``admit`` once its signature checked out. The expiry is compared with the
clock at that moment, not when the catalog was read, so a key stops at its expiry instant (once the
catalog knows the expiry: within ``catalog_refresh_s`` of setting it).

Last-used times stay in memory, one entry per key, and the runtime writes them in one batched
statement every ``key_last_used_flush_s`` seconds (``take`` and, if that write fails, ``put_back``).
A request costs a clock read and a dictionary store; the database sees one write per flush, of
the keys used since the last one. So a key's ``last_used_at`` is exact to the millisecond of its
last request but reaches the database up to one flush interval later (and a process killed without
a graceful stop loses at most that interval's times). Several API processes may flush the same
key: the store keeps the later time (store/keys.py), so a slow flush never moves it backwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mecm.domain.key_expiry import is_expired
from mecm.services.catalog import ApiKey
from mecm.store.keys import record_last_used
from mecm.store.writer import GroupCommitWriter


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class KeyUse:
    def __init__(self, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._clock_ms = clock_ms
        self._used: dict[str, int] = {}  # public key -> epoch ms of its latest admitted request

    def admit(self, key: ApiKey) -> bool:
        """False when ``key`` has expired (the caller answers BAD_SIGNATURE); else note its use."""
        now_ms = self._clock_ms()
        if is_expired(key.expires_at_ms, now_ms):
            return False
        self._used[key.public_key] = now_ms
        return True

    def take(self) -> dict[str, int]:
        """The uses noted since the last ``take``, handed over to be written; the buffer starts afresh."""
        used, self._used = self._used, {}
        return used

    def put_back(self, used: dict[str, int]) -> None:
        """Uses whose write failed, back in the buffer for the next flush, keeping the later time of
        each key (requests went on meanwhile)."""
        for public_key, at_ms in used.items():
            if at_ms > self._used.get(public_key, -1):
                self._used[public_key] = at_ms

    async def flush(self, writer: GroupCommitWriter) -> None:
        """Write the uses noted since the last flush, in one statement; on failure keep them."""
        used = self.take()
        if not used:
            return
        try:
            await writer.write(lambda connection: record_last_used(connection, used), can_wait=True)
        except BaseException:  # cancelled too (a stop): the next flush, or the final one, writes them
            self.put_back(used)
            raise
