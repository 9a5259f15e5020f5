"""Client reads (getMOMessages, getMessage) that no workspace can use to starve the others.

Three bounds, each against one way a tenant stalled everyone (issue 12, Fix 2):

- a **fair share**: one workspace holds at most ``reads_per_workspace`` of the reader threads at a
  time; its further reads wait for its own slots, not for everyone's;
- a **time budget** (``read_budget_s``) over the wait for a slot and the read itself, enforced inside
  the database call (store/budget.py); a search over budget is INVALID_PARAMETER, asking the client
  to narrow it;
- **stop when the client leaves**: while a read runs, the request's ``receive`` is watched, and a
  disconnect stops the read in the database at once.

The catalog (keys, revocations) and the opt-out view are read on a thread of their own
(``GroupCommitWriter.read_control``), so they never queue behind any of this.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from mecm.errors import InvalidParameter
from mecm.store.budget import ReadBudget, ReadStopped
from mecm.store.writer import GroupCommitWriter

T = TypeVar("T")


class ReadShare:
    """Per-workspace slots on the reader threads."""

    def __init__(self, per_workspace: int) -> None:
        self._per_workspace = per_workspace
        self._slots: dict[int, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def slot(self, workspace_id: int, budget: ReadBudget) -> AsyncIterator[None]:
        slots = self._slots.get(workspace_id)
        if slots is None:
            slots = self._slots[workspace_id] = asyncio.Semaphore(self._per_workspace)
        try:
            await asyncio.wait_for(slots.acquire(), budget.remaining_s())
        except TimeoutError:
            raise ReadStopped(timed_out=True) from None
        try:
            yield
        finally:
            slots.release()


async def client_read(writer: GroupCommitWriter, share: ReadShare, workspace_id: int, budget_s: float,
                      receive: Any, fn: Callable[[Connection], T]) -> T:
    """``fn`` run on a reader thread within the workspace's share and budget, stopped if the client
    leaves (then ReadStopped reaches the endpoint, which has no one to answer)."""
    budget = ReadBudget(budget_s)
    try:
        async with share.slot(workspace_id, budget):
            return await _unless_client_leaves(receive, writer.read(fn, budget), budget.stop)
    except ReadStopped as stopped:
        if not stopped.timed_out:
            raise
        raise InvalidParameter("parameters", f"the search took over {budget_s:g} s; narrow it with from, to, "
                               "since or until") from None


async def _unless_client_leaves(receive: Any, work: Awaitable[T], on_leave: Callable[[], None]) -> T:
    task = asyncio.ensure_future(work)
    if receive is None:
        return await task
    watcher = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            on_leave()  # the read ends in the database; the thread is free again at once
        return await task
    finally:
        watcher.cancel()


async def _disconnect(receive: Any) -> None:
    """Returns when the client has gone (ASGI: receive() answers http.disconnect once it has)."""
    while (await receive())["type"] != "http.disconnect":
        pass
