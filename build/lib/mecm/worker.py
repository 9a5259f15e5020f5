"""The delivery worker as a process: its main (``mecm worker``), and how ``mecm serve`` runs it.

``mecm serve`` accepts on its own process and starts one worker beside it (``WorkerProcess``): the
worker runs the dispatcher, the carrier connectors and their receipts and MOs (runtime role
``worker``). serve restarts a worker that dies, and stops it, gracefully, before it stops itself.
A worker started by serve dies with it (Linux's parent-death signal, armed in parent_death.py): a
serve killed with SIGKILL leaves no worker behind to race the next one, which in any case waits for
the database's worker lock (store/locks.py).

Message ids stay unique across the two processes: a worker generates its ids (MOs from carriers and
their replies) under node id ``node_id + 512``, whether serve started it or it was started apart
beside ``mecm serve --delivery none`` with the same settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time

from mecm import collector
from mecm.config import Settings
from mecm.errors import ConfigError
from mecm.parent_death import started_by_me
from mecm.runtime import Runtime

log = logging.getLogger(__name__)

WORKER_NODE_OFFSET = 512
_RESTART_BACKOFF_S = (1, 2, 5, 10, 30)
_STABLE_S = 60.0  # a worker that ran this long before dying restarts at the first backoff again
_WATCH_S = 0.2
_STOP_TIMEOUT_S = 30.0


# -- the worker's side --------------------------------------------------------------------------

async def run(settings: Settings) -> None:
    """Deliver until SIGTERM or SIGINT, then stop gracefully (in-flight submits answered, unbound)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runtime = Runtime(worker_settings(settings), role="worker")
    await runtime.start()
    collector.settle_after_start()
    log.info("delivery worker %d running", os.getpid())
    try:
        await stop.wait()
    finally:
        await runtime.stop()
        log.info("delivery worker %d stopped", os.getpid())


def worker_settings(settings: Settings) -> Settings:
    """The settings of a worker: its own node id, apart from the API process's."""
    if settings.node_id >= WORKER_NODE_OFFSET:
        raise ConfigError(f"setting node_id: must be below {WORKER_NODE_OFFSET} (a delivery worker takes "
                          f"node_id + {WORKER_NODE_OFFSET})")
    return dataclasses.replace(settings, node_id=settings.node_id + WORKER_NODE_OFFSET)


# -- serve's side -------------------------------------------------------------------------------

class WorkerProcess:
    """Runs ``mecm worker`` beside this API process, restarts it when it dies, stops it at the end.

    Spawned from the event loop's thread, which lives as long as the process: the parent-death
    signal follows the thread that started the child.
    """

    def __init__(self) -> None:
        self._env = {**os.environ, **started_by_me()}
        self._process: subprocess.Popen[bytes] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._spawn()
        self._watch = asyncio.create_task(self._watch_over(), name="worker-watch")

    def _spawn(self) -> None:
        # Its own session: a terminal's Ctrl-C (or a service manager's signal to the group) reaches
        # serve alone, which stops the worker in order, rather than the worker exiting first and
        # being restarted during serve's shutdown.
        self._process = subprocess.Popen([sys.executable, "-m", "mecm", "worker"], env=self._env,
                                         start_new_session=True)
        self._started_at = time.monotonic()

    async def _watch_over(self) -> None:
        failures = 0
        while not self._stopping:
            await asyncio.sleep(_WATCH_S)
            assert self._process is not None
            code = self._process.poll()
            if code is None or self._stopping:
                continue
            if time.monotonic() - self._started_at > _STABLE_S:
                failures = 0
            delay = _RESTART_BACKOFF_S[min(failures, len(_RESTART_BACKOFF_S) - 1)]
            failures += 1
            log.error("delivery worker exited with %s; restarting in %s s", code, delay)
            await asyncio.sleep(delay)
            if not self._stopping:
                self._spawn()

    async def stop(self) -> None:
        """SIGTERM, and wait for the worker to finish what it has in flight (SIGKILL after 30 s)."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if process.poll() is None:
            log.error("delivery worker did not stop within %.0f s; killing it", _STOP_TIMEOUT_S)
            process.kill()
            process.wait()
