"""What keeps a process's parts running: the carrier connectors, the loops that must not die, the
singletons, and the leases under them.

- ``ConnectorSupervisor``: a connector for each carrier of the catalog, started when the carrier
  appears (within its bind slots on PostgreSQL), stopped when it is disabled, deleted or edited (an
  edited one starts again with its new settings). A carrier whose connector cannot start waits,
  with the reason, in the dispatcher's ``unavailable``.
- ``keep_running``: a loop of the worker (dispatcher, outbox, broadcaster) started again if it fails.
- ``as_singleton``: a loop that one process of the deployment runs at a time.
- ``watch_leases``: the process stops if the database session holding its leases ends.

On SQLite there is one worker per database and no leases (``leases`` is None); on PostgreSQL each
process holds its node id, bind slots and singletons as leases (store/leases.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from mecm.delivery.connectors import Connector, MOPartSink, MOSink, ReceiptSink, build_connector
from mecm.services.catalog import Carrier, Catalog
from mecm.store.leases import Leases

log = logging.getLogger(__name__)

_SINGLETON_RETRY_S = 5.0
_LEASES_CHECK_S = 1.0


class ConnectorSupervisor:
    def __init__(self, connectors: dict[str, Connector], unavailable: dict[str, str],
                 catalog: Callable[[], Catalog], leases: Leases | None, var_path: Path, *,
                 receipts: ReceiptSink, mo: MOSink, mo_part: MOPartSink) -> None:
        """``connectors``: the running connectors by carrier name, kept here and read by the dispatcher.
        ``unavailable``: the dispatcher's carriers whose messages wait, with the reason."""
        self.connectors = connectors
        self._unavailable = unavailable
        self._catalog = catalog
        self._leases = leases
        self._var_path = var_path
        self._receipts = receipts
        self._mo = mo
        self._mo_part = mo_part
        self._built_from: dict[str, Carrier] = {}  # the carrier (and settings) each connector was built for
        self._no_slot_logged: set[str] = set()

    async def start_new_connectors(self) -> None:
        """Start a connector for each carrier that has none (at start, and when carriers are added).

        A carrier whose connector cannot be built (a setting that became invalid: a CA file gone) is
        logged and left out, so the others deliver; its messages wait (dispatcher.unavailable), and
        it is tried again at every catalog refresh."""
        await self._retire_changed_connectors()
        for carrier in self._catalog().carriers.values():
            if carrier.name in self.connectors or not await self._bind_slot(carrier):
                continue
            try:
                connector = build_connector(carrier, self._var_path)
                await connector.start(self._receipts, mo=self._mo, mo_part=self._mo_part)
            except Exception as error:  # noqa: BLE001 - one bad carrier must not stop the others
                reason = f"{error.__class__.__name__}: {error}"
                if self._unavailable.get(carrier.name) != reason:
                    log.error("carrier %s cannot be started (%s); its messages wait", carrier.name, reason)
                self._unavailable[carrier.name] = reason
                if self._leases is not None:
                    await asyncio.to_thread(self._leases.let_go_bind_slot, carrier.name)
                continue
            self._unavailable.pop(carrier.name, None)
            self.connectors[carrier.name] = connector
            self._built_from[carrier.name] = carrier
            log.info("carrier %s connected", carrier.name)

    async def _retire_changed_connectors(self) -> None:
        """Stop the connectors of carriers disabled, deleted or edited since they were built (an
        edited one starts again with its new settings, in start_new_connectors). A disabled
        carrier's messages wait: the dispatcher keeps them PENDING, attempts unspent, until it is
        enabled again (services/admin/carriers.py)."""
        catalog = self._catalog()
        for name in catalog.disabled_carriers:
            self._unavailable[name] = "the carrier is disabled"
        for name in [n for n in self._unavailable if n not in catalog.carriers
                     and n not in catalog.disabled_carriers]:
            del self._unavailable[name]  # deleted: nothing waits for it (deletion refuses then)
        for name, connector in list(self.connectors.items()):
            if catalog.carriers.get(name) == self._built_from.get(name):
                continue
            # Its messages wait while it is away: a batch claimed now finds a reason, not a carrier
            # missing (which would fail them for good). start_new_connectors clears it.
            self._unavailable.setdefault(name, "reconnecting with its new settings")
            del self.connectors[name]
            self._built_from.pop(name, None)
            connector.stop_submitting()
            try:
                await connector.stop()
            except Exception:  # noqa: BLE001 - it is gone either way
                log.exception("stopping the connector of carrier %s failed", name)
            if self._leases is not None:
                await asyncio.to_thread(self._leases.let_go_bind_slot, name)
            log.info("carrier %s %s", name, "reconnecting with its new settings" if name in catalog.carriers
                     else "disconnected: disabled or deleted")

    async def _bind_slot(self, carrier: Carrier) -> bool:
        """May this process connect to ``carrier``? Always on SQLite (one worker); on PostgreSQL when
        it holds one of the carrier's ``max_binds`` slots (default 1), so that all workers together
        never open more connections to it than that."""
        if self._leases is None:
            return True
        max_binds = int(carrier.settings.get("max_binds", 1))
        slot = await asyncio.to_thread(self._leases.take_bind_slot, carrier.name, max_binds)
        if slot is None:
            if carrier.name not in self._no_slot_logged:
                self._no_slot_logged.add(carrier.name)
                log.info("carrier %s: its %d binds are held by other workers; this one stands by",
                         carrier.name, max_binds)
            return False
        self._no_slot_logged.discard(carrier.name)
        return True

    def stop_submitting(self) -> None:
        """So the batches in flight end without draining a backlog (first thing at stop)."""
        for connector in self.connectors.values():
            connector.stop_submitting()

    async def stop(self) -> None:
        for connector in self.connectors.values():
            await connector.stop()


async def keep_running(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a loop of the worker (dispatcher, outbox, broadcaster) again if it fails: one that
    died silently would leave its work undone until a restart (a database busy past its
    timeout, say)."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged, and the loop starts over
            log.exception("%s failed; restarting in 1 s", name)
            await asyncio.sleep(1)


async def as_singleton(leases: Leases | None, name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run ``run`` (kept running) in one process of the deployment at a time: on PostgreSQL,
    the one holding the ``name`` lease; the others wait to take it over."""
    while leases is not None and not await asyncio.to_thread(leases.singleton, name):
        await asyncio.sleep(_SINGLETON_RETRY_S)
    await keep_running(name, run)


async def watch_leases(leases: Leases, node: int) -> None:
    """Stop this process (gracefully, SIGTERM) if the PostgreSQL session holding its leases ends:
    its node id and bind slots may then be taken by another process, and two processes with one
    node id would make the same message ids. Its supervisor (serve, systemd) starts it afresh."""
    while True:
        await asyncio.sleep(_LEASES_CHECK_S)
        if not await asyncio.to_thread(leases.alive):
            log.critical("the database session holding node id %d and this process's binds has ended; "
                         "stopping", node)
            os.kill(os.getpid(), signal.SIGTERM)
            return
