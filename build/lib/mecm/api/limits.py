"""The limits of an API call (SPEC sections 4 and 9), in the order the SPEC gives: after the
parameters, rate limits (services/ratelimits.py) and, for a PIN send, the SMS-pumping defence
(services/pin_sends.py). Each function is what a method hands the service that stores its work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mecm.services.sending import Admit, InTransaction

if TYPE_CHECKING:
    from mecm.api.methods import Call


async def take(call: Call, limit_class: str) -> None:
    """One request of ``limit_class`` by the call's key (RateLimited when a bucket is empty)."""
    await call.runtime.limits.admit(call.workspace.id, call.key.public_key, limit_class)


def for_class(call: Call, limit_class: str) -> Callable[[], Awaitable[None]]:
    async def admit() -> None:
        await take(call, limit_class)

    return admit


def for_send(call: Call) -> Admit:
    async def admit(_row: dict[str, Any]) -> InTransaction | None:
        await take(call, "sends")
        return None

    return admit


def for_pin_send(call: Call) -> Admit:
    """The country first (a refusal that costs no token), then the rate, then, where the PIN is
    stored, the counts per number and per block."""
    async def admit(row: dict[str, Any]) -> InTransaction | None:
        guard = call.runtime.pin_sends
        policy = guard.check_country(call.workspace.id, row["recipient"])
        await take(call, "pins")
        return guard.in_transaction(call.workspace.id, row["recipient"], policy)

    return admit
