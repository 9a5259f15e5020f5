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

This module only wires: it builds the parts in order, links them, and starts and stops them. The
catalog served from memory and its refreshes are services/catalog_cache.py; the carrier connectors,
the loops kept running, the singletons and the leases, delivery/supervisor.py. A part tells the
others what happened through a notification it owns (services/notification.py: a send accepted, an
opt-out changed, outbox jobs queued, the catalog refreshed), and this module subscribes them.

Why two processes by default: one Python process runs Python code on one core at a time, and
delivery (claim, submit, record, receipt) cost as much CPU again as accepting. Split, the API keeps
its core and delivery takes the other (make bench's core scenario, minutes apart: 4,200-5,000
accepted/s in one process, 7,100-7,600 split).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from mecm.config import Settings
from mecm.delivery import worker_link
from mecm.delivery.connectors import Connector, statuses
from mecm.delivery.broadcaster import Broadcaster
from mecm.delivery.dispatcher import Dispatcher
from mecm.delivery.outbox import Outbox
from mecm.delivery.receipts import Receipts
from mecm.delivery.supervisor import ConnectorSupervisor, as_singleton, keep_running, watch_leases
from mecm.domain.ids import IdGenerator
from mecm.files import private_dir
from mecm.services.catalog import Catalog
from mecm.services.catalog_cache import CatalogCache
from mecm.services.dashboard_keeper import DashboardKeeper
from mecm.services.idempotency import Sweeper
from mecm.errors import InvalidParameter
from mecm.services.inbound import InboundMO, InboundService
from mecm.services.key_use import KeyUse
from mecm.services.mo_parts import AlreadyHandedOn, MOParts
from mecm.services.node_lease import ApiNodeLease
from mecm.services.number_indexer import NumberIndexer
from mecm.services.optouts import PG_CATCH_UP_INTERVAL_S, OptOutView
from mecm.services.pin_sends import PinSendGuard
from mecm.services.pins import PinVerifier
from mecm.services.ratelimits import RateLimiter
from mecm.services.sending import SendingService
from mecm.store import engine as store_engine
from mecm.store.crypto import Vault, load_master_key
from mecm.store.database_file import DatabaseFile
from mecm.store.driver_errors import database_away, one_line
from mecm.store.leases import WORKER_NODES, Leases
from mecm.store.shared_buckets import SharedBuckets
from mecm.store.locks import FileLock, worker_lock_path, write_lock_path
from mecm.store.optout_signal import OptOutSignal
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

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
        self._catalog: CatalogCache  # read through the writer: set in start
        self.writer: GroupCommitWriter | None = None
        self.sending: SendingService
        self.pins: PinVerifier  # verifyPin
        self.limits: RateLimiter  # the API's rate limits; on PostgreSQL shared through the database
        self.pin_sends: PinSendGuard  # the SMS-pumping defence of PIN sends
        self._shared_buckets: SharedBuckets | None = None
        self.inbound: InboundService
        self.dispatcher: Dispatcher | None = None
        self.outbox: Outbox | None = None  # webhooks and e-mails; where the dispatcher runs
        # The carrier connectors running here, by carrier name: the supervisor starts and stops them
        # (delivery/supervisor.py), the dispatcher submits through them. Delivering roles only.
        self.connectors: dict[str, Connector] = {}
        self._supervisor: ConnectorSupervisor | None = None
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
        self._refreshes_server: worker_link.StatusServer | None = None
        # PostgreSQL: this process's node id, bind slots and singletons (store/leases.py).
        self.leases: Leases | None = None
        # PostgreSQL, API role: its node id, kept through an outage (services/node_lease.py).
        self.node_lease: ApiNodeLease | None = None

    async def start(self) -> None:
        if self.deliver:  # one dispatcher per database, whether in a worker or inline
            await self._take_worker_lock()
        await asyncio.to_thread(store_engine.upgrade, self.engine)
        if self.database is not None:  # the file just opened, watched from now on (store/database_file.py)
            self.database_file = DatabaseFile(self.database)
        elif self.deliver:  # PostgreSQL: node ids are leased, so processes may come and go
            self.leases = await asyncio.to_thread(Leases, self.engine)
            node = await asyncio.to_thread(self.leases.take_node, WORKER_NODES)
            self.ids = IdGenerator(node)
            log.info("node id %d", node)
            self._tasks.append(asyncio.create_task(watch_leases(self.leases, node), name="leases-watch"))
        else:  # an API process keeps its node id through an outage (services/node_lease.py)
            self.node_lease = ApiNodeLease(self.engine, self.ids)
            log.info("node id %d", await self.node_lease.start())
            self._tasks.append(asyncio.create_task(self.node_lease.run(), name="node-lease"))
        # The worker's claims and outcome records wait for no client: gathered for a few ms, they
        # take the database's write lock, which the API's commits share, far less often.
        self.writer = self._new_writer(self.settings.worker_commit_gather_ms / 1000 if self.role == "worker" else 0.0)
        self._catalog = CatalogCache(self.writer, self.vault, refresh_s=self.settings.catalog_refresh_s)
        await self.reload_catalog()
        # Each periodic reading of the catalog refreshes what follows it: the API's view of opt-outs,
        # then (delivering roles, subscribed below) the connectors of carriers added or changed.
        self._catalog.refreshed.subscribe(self._refresh_opt_outs)
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
        self.inbound.jobs_queued.subscribe(self.wake_outbox)
        if self.database is None and self.role != "worker":
            self._shared_buckets = SharedBuckets(self.engine)
        self.limits = RateLimiter(self.settings, lambda: self.catalog, shared=self._shared_buckets)
        self.pin_sends = PinSendGuard(self.settings, lambda: self.catalog)
        self._link_opt_outs()
        if self.role == "api":
            self._wake_sender = worker_link.WakeSender(self._address("wake"))
            self.sending.accepted.subscribe(self._wake_sender.wake)
            # Outbox jobs (a webhook of an MO fired here) wake the worker's outbox on a socket of
            # their own (wake_outbox): waking it with every accepted send would cost it a read each time.
            self._jobs_sender = worker_link.WakeSender(self._address("jobs"))
        if self.deliver:
            # Receipts get a writer of their own: an SMSC keeps few deliver_sm unacknowledged, and
            # each waits for its receipt's commit, which must not queue behind the dispatcher's
            # gathered claims and outcome records (under load: 14 ms a write shared, 4 ms apart).
            # Both writers take turns through the write lock.
            self.receipt_writer = self._new_writer(0.0) if self.role == "worker" else self.writer
            receipts = Receipts(self.receipt_writer)
            self.mo_parts = MOParts(self.writer, self.receive_mo)
            self.receipts = receipts
            # Submit outcomes too: an SMPP message keeps its place in the carrier's window until its
            # outcome is committed (delivery/connectors/base.py, ``unrecorded``), so that commit must
            # not queue behind a claim of 500 rows. Measured on make bench's scale-out scenario
            # (PostgreSQL): 3,783-3,968 delivered/s with a writer of their own, 3,150-3,536 sharing.
            self.outcome_writer = self._new_writer(0.0) if self.role == "worker" else self.writer
            self.dispatcher = Dispatcher(self.settings, self.writer, self.connectors,
                                         node=self.ids.node, leases=self.leases, unseal=self.vault.open_sealed,
                                         outcome_writer=self.outcome_writer)
            self.outbox = Outbox(self.settings, self.writer, lambda: self.catalog, self.sending)
            self._supervisor = ConnectorSupervisor(
                self.connectors, self.dispatcher.unavailable, lambda: self.catalog, self.leases,
                self.settings.var_path, receipts=receipts.deliver, mo=self.receive_mo, mo_part=self.mo_parts.receive)
            await self._supervisor.start_new_connectors()
            self._catalog.refreshed.subscribe(self._supervisor.start_new_connectors)
            self.sending.accepted.subscribe(self.dispatcher.wake)
            if self.role == "worker":
                await self._listen_as_worker()
            self._tasks.append(asyncio.create_task(keep_running("dispatcher", self.dispatcher.run),
                                                   name="dispatcher"))
            self._tasks.append(asyncio.create_task(self.mo_parts.sweep(), name="mo-parts-sweep"))
            self._tasks.append(asyncio.create_task(keep_running("outbox", self.outbox.run), name="outbox"))
            broadcaster = Broadcaster(self.writer, lambda: self.catalog, self.sending)
            self._tasks.append(asyncio.create_task(as_singleton(self.leases, "broadcaster", broadcaster.run),
                                                   name="broadcaster"))
            # Idempotency keys past their window: one process of the deployment deletes them.
            sweeper = Sweeper(self.writer, self.settings.idempotency_window_s)
            self._tasks.append(asyncio.create_task(as_singleton(self.leases, "idempotency-sweep", sweeper.run),
                                                   name="idempotency-sweep"))
            # The index of messages by number (store/number_index.py), kept up apart from sends.
            indexer = NumberIndexer(self.writer)
            self._tasks.append(asyncio.create_task(as_singleton(self.leases, "number-index", indexer.run),
                                                   name="number-index"))
            # The console dashboard's hours, counted before anyone opens it (services/dashboard_keeper.py).
            keeper = DashboardKeeper(self.writer)
            self._tasks.append(asyncio.create_task(as_singleton(self.leases, "dashboard-keeper", keeper.run),
                                                   name="dashboard-keeper"))
        self._tasks.append(asyncio.create_task(self._catalog.keep_fresh(), name="catalog-refresh"))
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
            self.inbound.opt_outs_changed.subscribe(self._opt_outs_changed_here)
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
                self.inbound.opt_outs_changed.subscribe(self._opt_out_signal.announce)
            self._opt_out_sender = worker_link.WakeSender(self._address("optouts"))
            self.inbound.opt_outs_changed.subscribe(self._opt_out_sender.wake)

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
        """Jobs of the outbox were queued (an MO's webhook) or made due (an admin replay): the outbox
        looks at once, here or in the worker."""
        if self._jobs_sender is not None:
            self._jobs_sender.wake()
        if self.outbox is not None:
            self.outbox.wake()

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
        if self._supervisor is not None:
            self._supervisor.stop_submitting()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush_key_use_once()
        if self._supervisor is not None:
            await self._supervisor.stop()
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
        writers = {"writer": self.writer, "receipt writer": getattr(self, "receipt_writer", None),
                   "outcome writer": getattr(self, "outcome_writer", None)}
        for name, writer in writers.items():
            if writer is None or (name != "writer" and writer is self.writer):
                continue
            await asyncio.to_thread(writer.close)
            if self.database is None:  # PostgreSQL: no write lock shared between processes
                log.info("%s %s: %d writes in %d commits", self.role, name, writer.writes, writer.commits)
            else:
                log.info("%s %s: %d writes in %d commits; %.2f s waiting for the write lock, %.2f s holding it",
                         self.role, name, writer.writes, writer.commits, writer.lock_wait_s, writer.lock_held_s)
        if self.leases is not None:
            await asyncio.to_thread(self.leases.close)
        if self.node_lease is not None:
            await asyncio.to_thread(self.node_lease.close)
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

    @property
    def catalog_refreshes(self) -> int:
        """Periodic catalog refreshes this process completed (services/catalog_cache.py)."""
        return self._catalog.refreshes

    async def reload_catalog(self) -> None:
        await self._catalog.reload()

    async def reload_on_miss(self) -> None:
        """A request named something unknown: wait for a reading of the catalog begun after now
        (services/catalog_readings.py)."""
        await self._catalog.reload_on_miss()

    async def _flush_key_use(self) -> None:
        while True:
            await asyncio.sleep(self.settings.key_last_used_flush_s)
            await self._flush_key_use_once()

    async def _flush_key_use_once(self) -> None:
        if self.writer is None:
            return
        try:
            await self.key_use.flush(self.writer)
        except Exception as error:  # noqa: BLE001 - the uses are kept for the next flush
            if database_away(error):
                log.warning("writing the keys' last-used times failed, kept for the next try: %s", one_line(error))
            else:
                log.exception("writing the keys' last-used times failed")
