"""A notification: the callbacks one object tells when something happened to it, in the order subscribed.

The object that owns a notification is the only one that sends it; the others subscribe. Two ways to
send it: ``notify`` calls each callback and drops what it returns (a wake-up), ``notify_awaiting``
awaits each result that is awaitable before calling the next (the sender goes on only once they all
caught up). Either way an exception from a callback reaches the sender, and the callbacks after it
are not called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Notification(Generic[P]):
    def __init__(self) -> None:
        self._callbacks: list[Callable[P, object]] = []

    def subscribe(self, callback: Callable[P, object]) -> None:
        self._callbacks.append(callback)

    def notify(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in self._callbacks:
            callback(*args, **kwargs)

    async def notify_awaiting(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in self._callbacks:
            if inspect.isawaitable(outcome := callback(*args, **kwargs)):
                await outcome
