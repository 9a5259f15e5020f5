"""An API process's node id on PostgreSQL, kept through a database outage.

Message ids carry the node id of the process that made them (domain/ids.py), and on PostgreSQL each
process leases its node id as an advisory lock of one database session (store/leases.py). When that
session ends (PostgreSQL restarted or away, the connection cut) another process may take the same
node id, so this process must stop making ids at once.

A delivery worker then stops, for its supervisor to start it afresh (delivery/supervisor.py
``watch_leases``): its bind slots and singletons were leases too. An API process instead stays up
and says it is not ready: its ids are retired (a send is answered ERROR, HTTP 503, and nothing is
written), ``/readyz`` answers 503 with the reason, and every second it tries to lease a node id
again. The first lease taken gives it ids again and readiness back. An API process that exited
instead would leave a load balancer nothing to ask, and its restarts would fail for as long as the
database is away (issue 16).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine

from mecm.domain.ids import IdGenerator
from mecm.store.leases import API_NODES, Leases

log = logging.getLogger(__name__)

LOST = "the database session holding this process's node id has ended"


class ApiNodeLease:
    def __init__(self, engine: Engine, ids: IdGenerator, check_s: float = 1.0) -> None:
        self._engine = engine
        self._ids = ids
        self._check_s = check_s
        self._leases: Leases | None = None
        self.unavailable: str | None = None  # why no ids are made now (None: they are)

    async def start(self) -> int:
        """Lease a node id (the first one free) and make ids with it."""
        node = await asyncio.to_thread(self._lease)
        self._ids.resume(node)
        return node

    def _lease(self) -> int:
        leases = Leases(self._engine)
        try:
            node = leases.take_node(API_NODES)
        except BaseException:
            leases.close()
            raise
        self._leases = leases
        return node

    async def run(self) -> None:
        """Watch the lease; when it is lost, retire the ids until a new one is taken."""
        while True:
            await asyncio.sleep(self._check_s)
            leases = self._leases
            if leases is not None and await asyncio.to_thread(leases.alive):
                continue
            if self.unavailable is None:
                self._ids.retire(LOST)
                self.unavailable = LOST
                log.error("%s: sends are refused until a node id is leased again", LOST)
                self._leases = None
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(leases.close)
            try:
                node = await self.start()
            except Exception as error:  # noqa: BLE001 - the database is still away: try again
                log.debug("leasing a node id again failed: %s", error)
                continue
            self.unavailable = None
            log.warning("node id %d leased again: sends are taken again", node)

    def close(self) -> None:
        if self._leases is not None:
            self._leases.close()
            self._leases = None
