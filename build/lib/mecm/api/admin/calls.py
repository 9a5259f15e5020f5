"""How an admin route runs a use case: a read, or a write through the group-commit writer followed by
a catalog reload, and who is asking (the actor written to the audit log). Every admin route module
uses these; none keeps a copy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection
from starlette.requests import Request


if TYPE_CHECKING:
    from mecm.runtime import Runtime
    from mecm.services.admin.access import Principal

log = logging.getLogger(__name__)
T = TypeVar("T")


async def read(runtime: Runtime, fn: Callable[[Connection], T]) -> T:
    assert runtime.writer is not None
    return await runtime.writer.read(fn)


async def write(runtime: Runtime, fn: Callable[[Connection], T]) -> T:
    """One transaction through the group-commit writer (it takes its turn with the other process);
    a refusal raised inside rolls it back, so nothing is half-written. The catalog follows at once,
    so the change takes effect for the API's next request."""
    assert runtime.writer is not None
    result = await runtime.writer.write(fn)
    try:
        await runtime.reload_catalog()
    except Exception:  # noqa: BLE001 - the write is committed: answer it; the periodic refresh follows
        log.exception("catalog reload after an admin write failed")
    return result


def actor_of(request: Request) -> str:
    """The principal the route's guard found (a user's e-mail, or the deployment's admin token)."""
    principal: Principal = request.state.principal
    return principal.actor
