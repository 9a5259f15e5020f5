"""What a process holds among many, on PostgreSQL: its node id, its carrier binds, its singletons.

Each is a session advisory lock (``pg_try_advisory_lock``) held on one connection kept open for the
life of the process. PostgreSQL lets go of them the moment that session ends, however the process
ended (SIGKILL included: the kernel closes its socket), so no lease outlives its holder and none
needs a heartbeat. That makes them the leases of this deployment:

- **node id** (0-1023, the message-id generator's node bits, domain/ids.py): API processes take one
  of 0-511, delivery workers one of 512-1023. A worker marks each message it claims with its node
  id (``messages.claimed_by``); a node id whose lock is free belongs to no live worker, and another
  worker takes over its SENDING messages (store/queue.py ``take_over``) while holding that lock.
- **bind slot** (carrier, 0..max_binds-1): a worker opens a carrier's connection only while it holds
  one of its slots, so all workers together never open more than the carrier's ``max_binds``.
- **singleton** (the broadcaster): work that one worker of the deployment does at a time.

SQLite has none of this: one delivery worker per database (store/locks.py), one machine.

Keys are 64-bit: a 32-bit kind ("mecm" plus one) above a 32-bit value.
"""

from __future__ import annotations

import logging
import threading
import zlib

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

_NODE = 0x6D65636D  # "mecm"
_BIND = _NODE + 1
_SINGLETON = _NODE + 2
_RECEIPTS = _NODE + 3
API_NODES = range(0, 512)
WORKER_NODES = range(512, 1024)
_MAX_SLOTS = 256

_TRY = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
_ALIVE = text("SELECT 1")


def _key(kind: int, value: int) -> int:
    key = (kind << 32) | (value & 0xFFFFFFFF)
    return key - (1 << 64) if key >= 1 << 63 else key  # a signed bigint


def node_key(node: int) -> int:
    return _key(_NODE, node)


def bind_key(carrier: str, slot: int) -> int:
    # The carrier's name, not its row id, so that the key is the same whichever table it came from.
    return _key(_BIND, (zlib.crc32(carrier.encode()) & 0xFFFFFF) << 8 | slot)


def singleton_key(name: str) -> int:
    return _key(_SINGLETON, zlib.crc32(name.encode()))


def receipts_key() -> int:
    """The transaction lock under which receipts meet carrier ids (store/queue.py)."""
    return _key(_RECEIPTS, 0)


class Leases:
    """Advisory locks on one dedicated connection (thread-safe; each call is a short round trip)."""

    def __init__(self, engine: Engine) -> None:
        self._connection: Connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._lock = threading.Lock()
        self.node: int | None = None
        self._slots: dict[str, int] = {}
        self._singletons: set[str] = set()

    def _try(self, key: int) -> bool:
        with self._lock:
            return bool(self._connection.execute(_TRY, {"key": key}).scalar_one())

    def _unlock(self, key: int) -> None:
        with self._lock:
            self._connection.execute(_UNLOCK, {"key": key})

    def take_node(self, nodes: range) -> int:
        """The first free node id of ``nodes``, held until close()."""
        for node in nodes:
            if self._try(node_key(node)):
                self.node = node
                return node
        raise RuntimeError(f"every node id {nodes.start}-{nodes.stop - 1} is taken: too many processes")

    def holding_node(self, node: int) -> bool:
        """Take another node's lock if it is free (its process is gone); release with let_go_node."""
        return node != self.node and self._try(node_key(node))

    def let_go_node(self, node: int) -> None:
        self._unlock(node_key(node))

    def take_bind_slot(self, carrier: str, max_binds: int) -> int | None:
        """One of the carrier's ``max_binds`` slots for this process, or None when all are held."""
        if carrier in self._slots:
            return self._slots[carrier]
        for slot in range(min(max_binds, _MAX_SLOTS)):
            if self._try(bind_key(carrier, slot)):
                self._slots[carrier] = slot
                return slot
        return None

    def let_go_bind_slot(self, carrier: str) -> None:
        slot = self._slots.pop(carrier, None)
        if slot is not None:
            self._unlock(bind_key(carrier, slot))

    def singleton(self, name: str) -> bool:
        """True while this process is the one that does ``name`` (taken at the first call that finds
        it free, kept until close())."""
        if name not in self._singletons and self._try(singleton_key(name)):
            self._singletons.add(name)
        return name in self._singletons

    def execute(self, statement, params: dict) -> list:  # noqa: ANN001
        """A statement on the leases' own session (autocommit), e.g. a take-over done while a dead
        node's lock is held here."""
        with self._lock:
            return list(self._connection.execute(statement, params))

    def alive(self) -> bool:
        """Whether the session holding the leases still answers. When it has ended (PostgreSQL
        restarted, the connection cut) the leases are gone, and another process may take them."""
        with self._lock:
            try:
                self._connection.execute(_ALIVE)
                return True
            except Exception:  # noqa: BLE001 - any failure means the session cannot be trusted
                return False

    def close(self) -> None:
        """Let go of everything: the session ends, and with it every lock it holds. (Closing a pooled
        connection would only return it to the pool, the session and its locks alive.)"""
        with self._lock:
            if not self._connection.closed:
                self._connection.invalidate()
                self._connection.close()
