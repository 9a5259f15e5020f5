"""Everything a running mecm holds, started and stopped in the right order.

    settings ─> engine (migrated) ─> writer ─> catalog (refreshed) ─> services
                                            └> receipts <─ connectors <─ dispatcher

A runtime plays one of three roles:

- ``api``: accepts and stores; after each accepted send it wakes the delivery worker of the same
  database, a separate process (delivery/worker_link.py). ``mecm serve`` runs this role and starts
  the worker beside it (mecm/worker.py).
- ``worker``: the dispatcher, the carrier connectors and their receipts and MOs (``mecm worker``).
  One per database at a time: it holds the database's worker lock while it runs.
- ``all``: both in one process (``mecm serve --delivery inline``).

Why two processes by default: one Python process runs Python code on one core at a time, and
delivery (claim, submit, record, receipt) cost as much CPU again as accepting. Split, the API keeps
its core and delivery takes the other (make bench's core scenario, minutes apart: 4,200-5,000
accepted/s in one process, 7,100-7,600 split).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection

from mecm.config import Settings
from mecm.delivery import worker_link
from mecm.delivery.connectors import Connector, build_connector, statuses
from mecm.delivery.broadcaster import Broadcaster
from mecm.delivery.dispatcher import Dispatcher
from mecm.delivery.outbox import Outbox
from mecm.delivery.receipts import Receipts
from mecm.domain.ids import IdGenerator
from mecm.files import private_dir
from mecm.services.catalog import Carrier, Catalog, load_catalog
from mecm.services.catalog_readings import CatalogReadings
from mecm.services.dashboard_keeper import DashboardKeeper
from mecm.services.idempotency import Sweeper
from mecm.errors import InvalidParameter
from mecm.services.inbound import InboundMO, InboundService
from mecm.services.key_use import KeyUse
from mecm.services.mo_parts import AlreadyHandedOn, MOParts
from mecm.services.number_indexer import NumberIndexer
from mecm.services.optouts import PG_CATCH_UP_INTERVAL_S, OptOutView
from mecm.services.pin_sends import PinSendGuard
from mecm.services.pins import PinVerifier
from mecm.services.ratelimits import RateLimiter
from mecm.services.sending import SendingService
from mecm.store import engine as store_engine
from mecm.store.crypto import Vault, load_master_key
from mecm.store.database_file import DatabaseFile
from mecm.store.leases import API_NODES, WORKER_NODES, Leases
from mecm.store.shared_buckets import SharedBuckets
from mecm.store.locks import FileLock, worker_lock_path, write_lock_path
from mecm.store.optout_signal import OptOutSignal
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

_MIN_MISS_RELOAD_S = 0.2
_SINGLETON_RETRY_S = 5.0
_LEASES_CHECK_S = 1.0
ROLES = ("api", "worker", "all")


class Runtime:
    def __init__(self, settings: Settings, *, role: str = "all") -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.settings = settings
        self.role = role
        self.deliver = role in ("worker", "all")
        self.database = store_engine.sqlite_path(settings.database_url)  # None: PostgreSQL
        self._link_key = worker_link.link_key(settings.database_url)
        # Never creates a database: a missing one is refused (mecm init creates it).
        self.engine = store_engine.make_engine(settings.database_url, settings.sqlite_synchronous)
        private_dir(settings.var_path)
        # SQLite: the file opened, watched for deletion or replacement (set once opened, in start).
        self.database_file: DatabaseFile | None = None
        self.vault = Vault(load_master_key(settings))
        self.ids = IdGenerator(settings.node_id)
        self._catalog = CatalogReadings(self._read_catalog, min_gap_s=_MIN_MISS_RELOAD_S)
        self.writer: GroupCommitWriter | None = None
        self.sending: SendingService
        self.pins: PinVerifier  # verifyPin
        self.limits: RateLimiter  # the API's rate limits; on PostgreSQL shared through the database
        self.pin_sends: PinSendGuard  # the SMS-pumping defence of PIN sends
        self._shared_buckets: SharedBuckets | None = None
        self.inbound: InboundService
        self.dispatcher: Dispatcher | None = None
        self.outbox: Outbox | None = None  # webhooks and e-mails; where the dispatcher runs
        self.connectors: dict[str, Connector] = {}
        self._built_from: dict[str, Carrier] = {}  # the carrier (and settings) each connector was built for
        self._tasks: list[asyncio.Task[None]] = []
        self._worker_lock: FileLock | None = None
        self._wake_sender: worker_link.WakeSender | None = None
        self._jobs_sender: worker_link.WakeSender | None = None
        self._jobs_listener: worker_link.WakeListener | None = None
        self._wake_listener: worker_link.WakeListener | None = None
        # SQLite: the file by which this machine's processes announce opt-outs they stored
        # (store/optout_signal.py); set in start. PostgreSQL: none, sends read the database.
        self._opt_out_signal: OptOutSignal | None = None
        # Who is opted out, for the answers to sends (services/optouts.py); API roles only.
        self.opt_outs: OptOutView | None = None
        self.key_use = KeyUse()  # keys' expiry per request and their last use (API roles)
        self._opt_out_sender: worker_link.WakeSender | None = None
        self._opt_out_listener: worker_link.WakeListener | None = None
        self._status_server: worker_link.StatusServer | None = None
        # Catalog refreshes completed by this process (catalog, opt-outs, connectors), on /metrics: a
        # refresh begun after a change in the database has seen it (tests wait for that, not a time).
        self.catalog_refreshes = 0
        self._refreshes_server: worker_link.StatusServer | None = None
        # PostgreSQL: this process's node id, bind slots and singletons (store/leases.py).
        self.leases: Leases | None = None
        self._no_slot_logged: set[str] = set()

    async def start(self) -> None:
        if self.deliver:  # one dispatcher per database, whether in a worker or inline
            await self._take_worker_lock()
        await asyncio.to_thread(store_engine.upgrade, self.engine)
        if self.database is not None:  # the file just opened, watched from now on (store/database_file.py)
            self.database_file = DatabaseFile(self.database)
        else:  # PostgreSQL: node ids are leased, so processes may come and go
            self.leases = await asyncio.to_thread(Leases, self.engine)
            node = await asyncio.to_thread(self.leases.take_node, WORKER_NODES if self.deliver else API_NODES)
            self.ids = IdGenerator(node)
            log.info("node id %d", node)
            self._tasks.append(asyncio.create_task(self._watch_leases(), name="leases-watch"))
        # The worker's claims and outcome records wait for no client: gathered for a few ms, they
        # take the database's write lock, which the API's commits share, far less often.
        self.writer = self._new_writer(self.settings.worker_commit_gather_ms / 1000 if self.role == "worker" else 0.0)
        await self.reload_catalog()
        if self.database is not None:
            self._opt_out_signal = OptOutSignal(self.database)
        if self.role != "worker":
            self.opt_outs = OptOutView(self._opt_out_signal, min_interval_s=0.0 if self.database is not None
                                       else PG_CATCH_UP_INTERVAL_S)
            await self.opt_outs.refresh(self.writer)
        self.sending = SendingService(self.settings, self.writer, self.ids, self.vault.pin_key, self.opt_outs,
                                      seal=self.vault.encrypt)
        self.pins = PinVerifier(self.writer, self.vault.pin_key, self.settings.pin_max_attempts)
        self.inbound = InboundService(self.writer, self.ids, self.sending)
        if self.database is None and self.role != "worker":
            self._shared_buckets = SharedBuckets(self.engine)
        self.limits = RateLimiter(self.settings, lambda: self.catalog, shared=self._shared_buckets)
        self.pin_sends = PinSendGuard(self.settings, lambda: self.catalog)
        self._link_opt_outs()
        if self.role == "api":
            self._wake_sender = worker_link.WakeSender(self._address("wake"))
            self.sending.on_accepted.append(self._wake_sender.wake)
            # Outbox jobs (a webhook of an MO fired here) wake the worker's outbox on a socket of
            # their own: waking it with every accepted send would cost it a read each time.
            self._jobs_sender = worker_link.WakeSender(self._address("jobs"))
            self.inbound.on_jobs_queued.append(self._jobs_sender.wake)
        if self.deliver:
            # Receipts get a writer of their own: an SMSC keeps few deliver_sm unacknowledged, and
            # each waits for its receipt's commit, which must not queue behind the dispatcher's
            # gathered claims and outcome records (under load: 14 ms a write shared, 4 ms apart).
            # Both writers take turns through the write lock.
            self.receipt_writer = self._new_writer(0.0) if self.role == "worker" else self.writer
            receipts = Receipts(self.receipt_writer)
            self.mo_parts = MOParts(self.writer, self.receive_mo)
            self.receipts = receipts
            self.dispatcher = Dispatcher(self.settings, self.writer, self.connectors,
                                         node=self.ids.node, leases=self.leases, unseal=self.vault.open_sealed)
            self.outbox = Outbox(self.settings, self.writer, lambda: self.catalog, self.sending)
            self.inbound.on_jobs_queued.append(self.outbox.wake)
            await self._start_new_connectors()
            self.sending.on_accepted.append(self.dispatcher.wake)
            if self.role == "worker":
                await self._listen_as_worker()
            self._tasks.append(asyncio.create_task(self._keep_running("dispatcher", self.dispatcher.run),
                                                   name="dispatcher"))
            self._tasks.append(asyncio.create_task(self.mo_parts.sweep(), name="mo-parts-sweep"))
            self._tasks.append(asyncio.create_task(self._keep_running("outbox", self.outbox.run), name="outbox"))
            broadcaster = Broadcaster(self.writer, lambda: self.catalog, self.sending)
            self._tasks.append(asyncio.create_task(self._as_singleton("broadcaster", broadcaster.run),
                                                   name="broadcaster"))
            # Idempotency keys past their window: one process of the deployment deletes them.
            sweeper = Sweeper(self.writer, self.settings.idempotency_window_s)
            self._tasks.append(asyncio.create_task(self._as_singleton("idempotency-sweep", sweeper.run),
                                                   name="idempotency-sweep"))
            # The index of messages by number (store/number_index.py), kept up apart from sends.
            indexer = NumberIndexer(self.writer)
            self._tasks.append(asyncio.create_task(self._as_singleton("number-index", indexer.run),
                                                   name="number-index"))
            # The console dashboard's hours, counted before anyone opens it (services/dashboard_keeper.py).
            keeper = DashboardKeeper(self.writer)
            self._tasks.append(asyncio.create_task(self._as_singleton("dashboard-keeper", keeper.run),
                                                   name="dashboard-keeper"))
        self._tasks.append(asyncio.create_task(self._refresh_catalog(), name="catalog-refresh"))
        if self.role != "worker":
            self._tasks.append(asyncio.create_task(self._flush_key_use(), name="key-use-flush"))

    async def _listen_as_worker(self) -> None:
        """Wake-ups and status requests from the API processes of this machine. On PostgreSQL a
        second worker here finds the sockets taken: it polls, and the first answers for status."""
        try:
            self._wake_listener = worker_link.WakeListener(self._address("wake"), self.dispatcher.wake)
            self._wake_listener.start()
            self._jobs_listener = worker_link.WakeListener(self._address("jobs"), self.outbox.wake)
            self._jobs_listener.start()
            self._status_server = worker_link.StatusServer(self._address("status"), self.carrier_status)
            await self._status_server.start()
            self._refreshes_server = worker_link.StatusServer(self._address("refreshes"),
                                                              lambda: self.catalog_refreshes)
            await self._refreshes_server.start()
        except OSError as error:
            log.info("another worker on this machine listens for wake-ups; this one polls (%s)", error)

    def _address(self, purpose: str) -> str:
        return worker_link.address(self._link_key, purpose, self.settings.var_path)

    def _link_opt_outs(self) -> None:
        """An opt-out or opt-in stored here reaches the API's view before it is answered: directly
        in an API process; from a worker (a STOP from a carrier), through the signal file on SQLite
        (read by the next send) and a datagram that has the API refresh at once."""
        if self.opt_outs is not None:
            self.inbound.on_opt_out_change.append(self._opt_outs_changed_here)
            if self.role == "api":
                self._opt_out_listener = worker_link.WakeListener(
                    self._address("optouts"), self._refresh_opt_outs_soon)
                try:
                    self._opt_out_listener.start()
                except OSError as error:  # another API process listens: this one polls
                    log.info("opt-out changes are polled here (%s)", error)
                    self._opt_out_listener = None
        else:
            if self._opt_out_signal is not None:
                self.inbound.on_opt_out_change.append(self._opt_out_signal.announce)
            self._opt_out_sender = worker_link.WakeSender(self._address("optouts"))
            self.inbound.on_opt_out_change.append(self._opt_out_sender.wake)

    async def _opt_outs_changed_here(self) -> None:
        """Awaited before fireMessage answers (or the deliver_sm is acknowledged, all-in-one). A
        failed read is logged, not raised: the MO is stored, and the next send catches up itself."""
        if self.opt_outs is None or self.writer is None:
            return
        try:
            await self.opt_outs.changed_here(self.writer)
        except Exception:  # noqa: BLE001
            log.exception("reading opt-out changes failed")

    async def opt_outs_changed_by_admin(self) -> None:
        """An admin opt-out or opt-in committed by this process (the admin API): its view catches up,
        and the other processes of this machine are told, before the change is answered."""
        await self._opt_outs_changed_here()

    def wake_outbox(self) -> None:
        """Jobs of the outbox were made due (an admin replay): the worker's outbox looks at once."""
        for callback in self.inbound.on_jobs_queued:
            callback()

    def _refresh_opt_outs_soon(self) -> None:
        task = asyncio.create_task(self._refresh_opt_outs(), name="opt-outs-refresh")
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _refresh_opt_outs(self) -> None:
        if self.opt_outs is None or self.writer is None:
            return
        try:
            await self.opt_outs.refresh(self.writer)
        except Exception:  # noqa: BLE001 - the periodic refresh tries again
            log.exception("reading opt-out changes failed")

    def _new_writer(self, gather_s: float) -> GroupCommitWriter:
        """A group-commit writer; on SQLite it takes turns with the other writers (this process's
        and the other process's) through the database's write lock, each with its own handle."""
        lock = FileLock(write_lock_path(self.database)) if self.database is not None else None
        return GroupCommitWriter(self.engine, self.settings.commit_batch_max, lock, gather_s, self.database_file)

    async def _take_worker_lock(self) -> None:
        """One worker per database: wait for a previous one (still exiting after a crash) to go."""
        if self.database is None:
            return
        self._worker_lock = FileLock(worker_lock_path(self.database))
        if not self._worker_lock.acquire(blocking=False):
            log.info("another delivery worker holds %s; waiting for it to exit", self._worker_lock.path)
            await asyncio.to_thread(self._worker_lock.acquire)

    def carrier_status(self) -> list[dict[str, object]]:
        """What each running connector reports about itself (worker and all-in-one roles)."""
        return statuses(self.connectors)

    async def read_carrier_status(self) -> list[dict[str, object]] | None:
        """The connectors' status wherever they run: here, or in the worker (None: no worker)."""
        if self.deliver:
            return self.carrier_status()
        return await worker_link.read_status(self._address("status"))

    async def read_catalog_refreshes(self) -> dict[str, int]:
        """Catalog refreshes completed, by process: this one (by its role), and its worker's if one answers."""
        counts = {self.role: self.catalog_refreshes}
        if not self.deliver and (worker := await worker_link.read_status(self._address("refreshes"))) is not None:
            counts["worker"] = worker
        return counts

    async def stop(self) -> None:
        for connector in self.connectors.values():
            connector.stop_submitting()  # so the batches in flight end without draining a backlog
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush_key_use_once()
        for connector in self.connectors.values():
            await connector.stop()
        if self._wake_listener is not None:
            self._wake_listener.close()
        for server in (self._status_server, self._refreshes_server):
            if server is not None:
                await server.close()
        for link in (self._wake_sender, self._jobs_sender, self._jobs_listener):
            if link is not None:
                link.close()
        if self._opt_out_listener is not None:
            self._opt_out_listener.close()
        if self._opt_out_sender is not None:
            self._opt_out_sender.close()
        if self._opt_out_signal is not None:
            self._opt_out_signal.close()
        writers = {"writer": self.writer, "receipt writer": getattr(self, "receipt_writer", None)}
        for name, writer in writers.items():
            if writer is None or (name != "writer" and writer is self.writer):
                continue
            await asyncio.to_thread(writer.close)
            log.info("%s %s: %d writes in %d commits; %.2f s waiting for the write lock, %.2f s holding it",
                     self.role, name, writer.writes, writer.commits, writer.lock_wait_s, writer.lock_held_s)
        if self.leases is not None:
            await asyncio.to_thread(self.leases.close)
        if self._shared_buckets is not None:
            await asyncio.to_thread(self._shared_buckets.close)
        self.engine.dispose()
        if self._worker_lock is not None:
            self._worker_lock.close()

    async def receive_mo(self, carrier: str, source: str, code: str, text: str,
                         also: Callable[[Connection], Any] | None = None) -> None:
        """An MO from a carrier: the same inbound path as fireMessage (store, campaigns, reply).

        Returns once it is stored, so the connector acknowledges it only then. ``also`` runs in the
        transaction that stores it (a multi-part MO's parts are deleted there). An MO that cannot be
        stored anywhere (a code no workspace owns, a sender that is not a number) is logged and
        dropped: refusing it would only make the carrier send it again forever.
        """
        owner = self.catalog.code_owner.get(code)
        if owner is None:
            await self.reload_on_miss()
            owner = self.catalog.code_owner.get(code)
        workspace = self.catalog.workspaces.get(owner) if owner is not None else None
        if workspace is None:
            log.warning("MO from carrier %s to code %s dropped: no workspace owns that code", carrier, code)
            await self._drop(also)
            return
        try:
            await self.inbound.receive(InboundMO(workspace, source, code, text, carrier=carrier), self.catalog,
                                       number_param="source_addr", also=also)
        except InvalidParameter as error:
            log.warning("MO from carrier %s to code %s dropped: %s", carrier, code, error.description)
            await self._drop(also)

    async def _drop(self, also: Callable[[Connection], Any] | None) -> None:
        """An MO is dropped: what it would have written alongside (deleting its parts) is written alone."""
        if also is not None:
            assert self.writer is not None
            with contextlib.suppress(AlreadyHandedOn):
                await self.writer.write(also)

    @property
    def catalog(self) -> Catalog:
        return self._catalog.catalog

    async def _read_catalog(self) -> Catalog:
        assert self.writer is not None
        return await self.writer.read_control(lambda c: load_catalog(c, self.vault))

    async def reload_catalog(self) -> None:
        await self._catalog.reload()

    async def reload_on_miss(self) -> None:
        """A request named something unknown: wait for a reading of the catalog begun after now
        (services/catalog_readings.py)."""
        await self._catalog.after_miss()

    async def _watch_leases(self) -> None:
        """Stop this process (gracefully, SIGTERM) if the PostgreSQL session holding its leases ends:
        its node id and bind slots may then be taken by another process, and two processes with one
        node id would make the same message ids. Its supervisor (serve, systemd) starts it afresh."""
        assert self.leases is not None
        while True:
            await asyncio.sleep(_LEASES_CHECK_S)
            if not await asyncio.to_thread(self.leases.alive):
                log.critical("the database session holding node id %d and this process's binds has ended; "
                             "stopping", self.ids.node)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    async def _refresh_catalog(self) -> None:
        while True:
            await asyncio.sleep(self.settings.catalog_refresh_s)
            try:
                await self.reload_catalog()
                await self._refresh_opt_outs()
                await self._start_new_connectors()
            except Exception:  # noqa: BLE001 - keep serving with the last good snapshot
                log.exception("catalog refresh failed")
            else:
                self.catalog_refreshes += 1

    async def _flush_key_use(self) -> None:
        while True:
            await asyncio.sleep(self.settings.key_last_used_flush_s)
            await self._flush_key_use_once()

    async def _flush_key_use_once(self) -> None:
        if self.writer is None:
            return
        try:
            await self.key_use.flush(self.writer)
        except Exception:  # noqa: BLE001 - the uses are kept for the next flush
            log.exception("writing the keys' last-used times failed")

    async def _start_new_connectors(self) -> None:
        """Start a connector for each carrier that has none (at start, and when carriers are added).

        A carrier whose connector cannot be built (a setting that became invalid: a CA file gone) is
        logged and left out, so the others deliver; its messages wait (dispatcher.unavailable), and
        it is tried again at every catalog refresh."""
        if self.dispatcher is None:
            return
        await self._retire_changed_connectors()
        for carrier in self.catalog.carriers.values():
            if carrier.name in self.connectors or not await self._bind_slot(carrier):
                continue
            try:
                connector = build_connector(carrier, self.settings.var_path)
                await connector.start(self.receipts.deliver, mo=self.receive_mo, mo_part=self.mo_parts.receive)
            except Exception as error:  # noqa: BLE001 - one bad carrier must not stop the others
                reason = f"{error.__class__.__name__}: {error}"
                if self.dispatcher.unavailable.get(carrier.name) != reason:
                    log.error("carrier %s cannot be started (%s); its messages wait", carrier.name, reason)
                self.dispatcher.unavailable[carrier.name] = reason
                if self.leases is not None:
                    await asyncio.to_thread(self.leases.let_go_bind_slot, carrier.name)
                continue
            self.dispatcher.unavailable.pop(carrier.name, None)
            self.connectors[carrier.name] = connector
            self._built_from[carrier.name] = carrier
            log.info("carrier %s connected", carrier.name)

    async def _retire_changed_connectors(self) -> None:
        """Stop the connectors of carriers disabled, deleted or edited since they were built (an
        edited one starts again with its new settings, in _start_new_connectors). A disabled
        carrier's messages wait: the dispatcher keeps them PENDING, attempts unspent, until it is
        enabled again (services/admin/carriers.py)."""
        assert self.dispatcher is not None
        catalog = self.catalog
        for name in catalog.disabled_carriers:
            self.dispatcher.unavailable[name] = "the carrier is disabled"
        for name in [n for n in self.dispatcher.unavailable if n not in catalog.carriers
                     and n not in catalog.disabled_carriers]:
            del self.dispatcher.unavailable[name]  # deleted: nothing waits for it (deletion refuses then)
        for name, connector in list(self.connectors.items()):
            if catalog.carriers.get(name) == self._built_from.get(name):
                continue
            # Its messages wait while it is away: a batch claimed now finds a reason, not a carrier
            # missing (which would fail them for good). _start_new_connectors clears it.
            self.dispatcher.unavailable.setdefault(name, "reconnecting with its new settings")
            del self.connectors[name]
            self._built_from.pop(name, None)
            connector.stop_submitting()
            try:
                await connector.stop()
            except Exception:  # noqa: BLE001 - it is gone either way
                log.exception("stopping the connector of carrier %s failed", name)
            if self.leases is not None:
                await asyncio.to_thread(self.leases.let_go_bind_slot, name)
            log.info("carrier %s %s", name, "reconnecting with its new settings" if name in catalog.carriers
                     else "disconnected: disabled or deleted")

    async def _as_singleton(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run ``run`` (kept running) in one process of the deployment at a time: on PostgreSQL,
        the one holding the ``name`` lease; the others wait to take it over."""
        while self.leases is not None and not await asyncio.to_thread(self.leases.singleton, name):
            await asyncio.sleep(_SINGLETON_RETRY_S)
        await self._keep_running(name, run)

    async def _bind_slot(self, carrier: Carrier) -> bool:
        """May this process connect to ``carrier``? Always on SQLite (one worker); on PostgreSQL when
        it holds one of the carrier's ``max_binds`` slots (default 1), so that all workers together
        never open more connections to it than that."""
        if self.leases is None:
            return True
        max_binds = int(carrier.settings.get("max_binds", 1))
        slot = await asyncio.to_thread(self.leases.take_bind_slot, carrier.name, max_binds)
        if slot is None:
            if carrier.name not in self._no_slot_logged:
                self._no_slot_logged.add(carrier.name)
                log.info("carrier %s: its %d binds are held by other workers; this one stands by",
                         carrier.name, max_binds)
            return False
        self._no_slot_logged.discard(carrier.name)
        return True

    @staticmethod
    async def _keep_running(name: str, run: Callable[[], Awaitable[None]]) -> None:
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
