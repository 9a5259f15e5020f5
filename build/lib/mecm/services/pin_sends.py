"""The SMS-pumping defence on sendSMSPinMobileNumberConfirm: PIN sends per number and per block of
numbers over a window, and the countries a workspace's PINs may go to (domain/pin_sends.py).

The country is checked with the rate limits, before anything is written. The counts are taken in
the transaction that stores the PIN (store/pin_sends.py), so that two PINs sent at once to the same
number cannot both pass on the same count; a refusal there writes nothing. Each refusal is
RATE_LIMITED with a description naming the limit. PIN sends are few: one counting query each is
affordable, and nothing here touches the other methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from mecm.config import Settings
from mecm.domain.ids import id_to_epoch_ms
from mecm.domain.pin_sends import PinSendPolicy, block_of, country_refusal, window_retry_after_s
from mecm.errors import RateLimited
from mecm.services.catalog import Catalog
from mecm.store import pin_sends as store

InTransaction = Callable[[Connection], RateLimited | None]


class PinSendGuard:
    def __init__(self, settings: Settings, catalog: Callable[[], Catalog], *,
                 clock: Callable[[], float] = time.time) -> None:
        """``clock``: epoch seconds, the clock message ids are made from."""
        self._settings = settings
        self._catalog = catalog
        self._clock = clock

    def policy(self, workspace_id: int) -> PinSendPolicy:
        """The workspace's own limits where it has them, else the settings'."""
        own = self._catalog().pin_send_overrides.get(workspace_id)
        settings = self._settings
        if own is None:
            return PinSendPolicy(settings.pin_sends_per_number, settings.pin_sends_per_block)
        return PinSendPolicy(
            settings.pin_sends_per_number if own.per_number is None else own.per_number,
            settings.pin_sends_per_block if own.per_block is None else own.per_block,
            own.countries or frozenset(),
        )

    def check_country(self, workspace_id: int, recipient: str) -> PinSendPolicy:
        """Raise RateLimited if PINs may not go to the number's country; the policy otherwise."""
        policy = self.policy(workspace_id)
        refusal = country_refusal(recipient, policy)
        if refusal is not None:
            # Not a matter of time: the Retry-After (which SPEC section 9 requires) is the window.
            raise RateLimited(self._settings.pin_send_window_s, refusal)
        return policy

    def in_transaction(self, workspace_id: int, recipient: str, policy: PinSendPolicy) -> InTransaction | None:
        """The count to run where the PIN is stored; it returns the refusal (nothing is then written)."""
        if not policy.per_number and not policy.per_block:
            return None
        window_s = self._settings.pin_send_window_s
        block = block_of(recipient)

        def check(connection: Connection) -> RateLimited | None:
            store.lock_block(connection, workspace_id, block)
            now_ms = int(self._clock() * 1000)
            since_ms = now_ms - window_s * 1000
            if policy.per_number:
                count, oldest = store.recent_to_number(connection, workspace_id, recipient, since_ms)
                if count >= policy.per_number:
                    return self._refusal(oldest, now_ms,
                                         f"PIN sends to this number ({policy.per_number} in {window_s} s)")
            if policy.per_block:
                count, oldest = store.recent_to_block(connection, workspace_id, block, since_ms)
                if count >= policy.per_block:
                    return self._refusal(oldest, now_ms,
                                         f"PIN sends to numbers starting {block} ({policy.per_block} in {window_s} s)")
            return None

        return check

    def _refusal(self, oldest_id: int | None, now_ms: int, which: str) -> RateLimited:
        window_s = self._settings.pin_send_window_s
        oldest_ms = id_to_epoch_ms(oldest_id) if oldest_id is not None else now_ms
        return RateLimited(window_retry_after_s(oldest_ms, window_s, now_ms), which)


def effective_policy(row: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A workspace's stored PIN-send settings (store/rate_limits.py pin_send_policy) with the
    settings' defaults where it has none: what its PIN sends are held to."""
    return {
        "instance_id": row["instance_id"],
        "per_number": settings.pin_sends_per_number if row["per_number"] is None else row["per_number"],
        "per_block": settings.pin_sends_per_block if row["per_block"] is None else row["per_block"],
        "window_s": settings.pin_send_window_s,
        "countries": row["countries"] or [],
    }
