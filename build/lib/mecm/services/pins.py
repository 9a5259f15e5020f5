"""verifyPin (SPEC section 9): check a guess against the newest PIN sent to a number.

The whole check is one write transaction: read the PIN, decide (domain/pin_verification.py),
compare in constant time (an HMAC of the guess against the stored one, domain/pin.py), and record
the guess with a guarded update (store/pins.py). The guess itself is never stored or logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection

from mecm.domain import pin as pin_policy
from mecm.domain import pin_verification as policy
from mecm.domain.pin_verification import Result, Verification
from mecm.store import pins
from mecm.store.writer import GroupCommitWriter


class PinVerifier:
    def __init__(self, writer: GroupCommitWriter, pin_key: bytes, max_attempts: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        self._pin_key = pin_key
        self._max_attempts = max_attempts
        self._clock = clock

    async def verify(self, workspace_id: int, recipient: str, guess: str) -> Verification:
        """``recipient`` normalised as sends store it; ``guess`` already checked as 4-10 digits."""
        now_ms = int(self._clock() * 1000)
        return await self._writer.write(lambda c: self._verify(c, workspace_id, recipient, guess, now_ms))

    def _verify(self, connection: Connection, workspace_id: int, recipient: str, guess: str,
                now_ms: int) -> Verification:
        limit = self._max_attempts
        state = pins.newest(connection, workspace_id, recipient)
        early = policy.before_guess(state, now_ms, limit)
        if early is not None:
            return early
        assert state is not None
        if pin_policy.verify_pin(guess, state.pin_hash, self._pin_key):
            if pins.approve(connection, state.message_id, now_ms, limit):
                return Verification(Result.APPROVED)
        else:
            attempts = pins.count_wrong(connection, state.message_id, now_ms, limit)
            if attempts is not None:
                return policy.wrong_guess(attempts, limit)
        # Another verification approved or locked it since the read above (PostgreSQL, another process).
        return policy.settled(pins.by_id(connection, state.message_id), now_ms, limit)
