"""Everything a running mecm holds, started and stopped in the right order.

    settings ─> engine (migrated) ─> writer ─> catalog (refreshed) ─> services
                                            └> receipts <─ connectors <─ dispatcher
"""

from __future__ import annotations

import asyncio
import logging
import time

from mecm.config import Settings
from mecm.delivery.connectors import Connector, build_connector
from mecm.delivery.dispatcher import Dispatcher
from mecm.delivery.receipts import Receipts
from mecm.domain.ids import IdGenerator
from mecm.services.catalog import Catalog, load_catalog
from mecm.errors import InvalidParameter
from mecm.services.inbound import InboundMO, InboundService
from mecm.services.sending import SendingService
from mecm.store import engine as store_engine
from mecm.store.crypto import Vault, load_master_key
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

_MIN_MISS_RELOAD_S = 0.2


class Runtime:
    def __init__(self, settings: Settings, *, deliver: bool = True) -> None:
        self.settings = settings
        self.deliver = deliver
        self.engine = store_engine.make_engine(settings.database_url, settings.sqlite_synchronous)
        self.vault = Vault(load_master_key(settings))
        self.ids = IdGenerator(settings.node_id)
        self.catalog = Catalog()
        self.writer: GroupCommitWriter | None = None
        self.sending: SendingService
        self.inbound: InboundService
        self.dispatcher: Dispatcher | None = None
        self.connectors: dict[str, Connector] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last_reload = 0.0

    async def start(self) -> None:
        await asyncio.to_thread(store_engine.upgrade, self.engine)
        self.writer = GroupCommitWriter(self.engine, self.settings.commit_batch_max)
        await self.reload_catalog()
        self.sending = SendingService(self.settings, self.writer, self.ids, self.vault.pin_key)
        self.inbound = InboundService(self.writer, self.ids, self.sending)
        if self.deliver:
            receipts = Receipts(self.writer)
            for carrier in self.catalog.carriers.values():
                connector = build_connector(carrier, self.settings.var_path)
                await connector.start(receipts.deliver, mo=self.receive_mo)
                self.connectors[carrier.name] = connector
            self.receipts = receipts
            self.dispatcher = Dispatcher(self.settings, self.writer, self.connectors)
            self.sending.on_accepted.append(self.dispatcher.wake)
            self._tasks.append(asyncio.create_task(self._run_dispatcher(), name="dispatcher"))
        self._tasks.append(asyncio.create_task(self._refresh_catalog(), name="catalog-refresh"))

    async def stop(self) -> None:
        for connector in self.connectors.values():
            connector.stop_submitting()  # so the batches in flight end without draining a backlog
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for connector in self.connectors.values():
            await connector.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)
            log.info("writer: %d writes in %d commits", self.writer.writes, self.writer.commits)
        self.engine.dispose()

    async def receive_mo(self, carrier: str, source: str, code: str, text: str) -> None:
        """An MO from a carrier: the same inbound path as fireMessage (store, campaigns, reply).

        Returns once it is stored, so the connector acknowledges it only then. An MO that cannot be
        stored anywhere (a code no workspace owns, a sender that is not a number) is logged and
        dropped: refusing it would only make the carrier send it again forever.
        """
        owner = self.catalog.code_owner.get(code)
        if owner is None and await self.reload_on_miss():
            owner = self.catalog.code_owner.get(code)
        workspace = self.catalog.workspaces.get(owner) if owner is not None else None
        if workspace is None:
            log.warning("MO from carrier %s to code %s dropped: no workspace owns that code", carrier, code)
            return
        try:
            await self.inbound.receive(InboundMO(workspace, source, code, text, carrier=carrier), self.catalog,
                                       number_param="source_addr")
        except InvalidParameter as error:
            log.warning("MO from carrier %s to code %s dropped: %s", carrier, code, error.description)

    async def reload_catalog(self) -> None:
        assert self.writer is not None
        self._last_reload = time.monotonic()
        self.catalog = await self.writer.read(lambda c: load_catalog(c, self.vault))

    async def reload_on_miss(self) -> bool:
        """A request named something unknown: re-read now, unless that was done a moment ago."""
        if time.monotonic() - self._last_reload < _MIN_MISS_RELOAD_S:
            return False
        await self.reload_catalog()
        return True

    async def _refresh_catalog(self) -> None:
        while True:
            await asyncio.sleep(self.settings.catalog_refresh_s)
            try:
                await self.reload_catalog()
                await self._start_new_connectors()
            except Exception:  # noqa: BLE001 - keep serving with the last good snapshot
                log.exception("catalog refresh failed")

    async def _start_new_connectors(self) -> None:
        if self.dispatcher is None:
            return
        for carrier in self.catalog.carriers.values():
            if carrier.name not in self.connectors:
                connector = build_connector(carrier, self.settings.var_path)
                await connector.start(self.receipts.deliver, mo=self.receive_mo)
                self.connectors[carrier.name] = connector
                log.info("carrier %s connected", carrier.name)

    async def _run_dispatcher(self) -> None:
        assert self.dispatcher is not None
        while True:
            try:
                await self.dispatcher.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a dispatcher that dies silently is a hung queue
                log.exception("dispatcher failed; restarting in 1 s")
                await asyncio.sleep(1)
