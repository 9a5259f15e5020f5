"""Start ``mecm smsc-sim`` as a real process, drive its control API, and talk SMPP to it.

    with smsc_sim(throttle_share=0.1) as sim:     # any SimConfig option, as keyword arguments
        sim.host, sim.port, sim.control_url, sim.system_id, sim.password
        sim.stats()            GET /stats: binds, submits, duplicates, throttled, receipts_sent, per_second...
        sim.pdus(name="submit_sm")                 recorded PDUs received (direction="out"/"all" for more)
        sim.inject_mo("584141234567", "12345", "hello", parts=3)
        sim.configure(answer_enquire_link=False)   POST /config
        sim.reset(); sim.disconnect()
        sim.kill(); sim.restart()                  SIGKILL, then the same ports, database and record file
        sim.wait_for(lambda: sim.stats()["receipts_sent"] >= 3)

    esme = await Esme.connect(sim.host, sim.port)  # a minimal ESME built on mecm.smpp.pdu
    await esme.bind()                              # transceiver, with the sim's credentials
    resp = await esme.submit(destination_addr="5841...", short_message=b"hi", registered_delivery=1)
    receipt = await esme.next_deliver()           # deliver_sm, already acknowledged

By default the sim keeps its SQLite record and its PDU file in a temporary directory, so restart()
keeps query_sm working; pass db_path=None to keep the record in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from mecm.smpp.pdu import (
    BIND_TRANSCEIVER,
    DELIVER_SM,
    ENQUIRE_LINK,
    SUBMIT_SM,
    Pdu,
    encode,
    read_pdu,
    response,
)
from tests.support.server import kill_process, stop_process
from tests.support.waiting import wait_until

T = TypeVar("T")
_LISTENING = re.compile(r"smpp=(?P<host>[^:\s]+):(?P<port>\d+) control=http://[^:\s]+:(?P<control>\d+)")


class SmscSim:
    """One ``mecm smsc-sim`` process and its control API."""

    def __init__(self, home: Path, options: dict[str, Any]) -> None:
        self.home = home
        self.options = {"db_path": str(home / "smsc.db"), "record_path": str(home / "pdus.jsonl"), **options}
        self.system_id = self.options.get("system_id", "mecm")
        self.password = self.options.get("password", "secret")
        self.host = self.options.get("host", "127.0.0.1")
        self.port = int(self.options.pop("port", 0))
        self.control_port = int(self.options.pop("control_port", 0))
        self.process: subprocess.Popen | None = None
        self._http = httpx.Client(timeout=10)

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.control_port}"

    @property
    def record_path(self) -> Path | None:
        path = self.options.get("record_path")
        return Path(path) if path else None

    def _command(self) -> list[str]:
        args = [sys.executable, "-m", "mecm", "smsc-sim", "--port", str(self.port),
                "--control-port", str(self.control_port)]
        for name, value in self.options.items():
            flag = "--" + name.replace("_", "-")
            if value is None:
                continue
            if isinstance(value, bool):
                args.append(flag if value else "--no-" + name.replace("_", "-"))
            else:
                args += [flag, str(value)]
        return args

    def start(self, timeout: float = 60.0) -> None:
        """Start the process; the first start takes free ports, later ones reuse them."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_SIM_")}
        with open(self.home / "smsc-sim.log", "ab") as log:
            self.process = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=log, env=env)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().decode() if ready else ""
        found = _LISTENING.search(line)
        if not found:
            self.kill()
            raise RuntimeError(f"smsc-sim did not start: {line!r} {(self.home / 'smsc-sim.log').read_text()[-2000:]}")
        self.port, self.control_port = int(found["port"]), int(found["control"])

    def kill(self) -> None:
        """SIGKILL: no goodbye to the sessions, like a crash."""
        kill_process(self.process)

    def stop(self) -> None:
        stop_process(self.process, timeout_s=10)

    def restart(self) -> None:
        """Kill and start again on the same ports, database and record file."""
        self.kill()
        self.start()

    def close(self) -> None:
        self.stop()
        self._http.close()

    # --- control API ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._http.request(method, self.control_url + path, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def pdus(self, direction: str = "in", name: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params = {"direction": direction, "since": since, **({"name": name} if name else {})}
        return self._call("GET", "/pdus", params=params)

    def inject_mo(self, source: str, destination: str, text: str, **options: Any) -> dict[str, Any]:
        """options: parts, concat ("udh", "sar", "payload"), data_coding (0, 3, 8), system_id, reverse,
        only (part numbers to send), reference (the concatenation reference to use)."""
        return self._call("POST", "/mo", json={"source": source, "destination": destination, "text": text, **options})

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "/config", json=changes)

    def reset(self) -> None:
        self._call("POST", "/reset")

    def disconnect(self) -> int:
        return self._call("POST", "/disconnect")["disconnected"]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05) -> T:
        """The first truthy value of predicate() within timeout; AssertionError otherwise."""
        return wait_until(predicate, timeout, interval)


@contextlib.contextmanager
def smsc_sim(home: Path | None = None, **options: Any) -> Iterator[SmscSim]:
    """A started simulator, stopped on exit. `options` are SimConfig fields (port=0: a free one)."""
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smsc-sim-")))
        sim = SmscSim(home, options)
        sim.start()
        stack.callback(sim.close)
        yield sim


class Esme:
    """A minimal SMPP client for tests: one connection, requests matched to responses by sequence,
    deliver_sm acknowledged with `ack_status` (then queued for next_deliver), enquire_link answered."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ack_status: int | None = 0
        self.delivers: asyncio.Queue[Pdu] = asyncio.Queue()
        self.received: list[Pdu] = []  # every PDU, in arrival order
        self._pending: dict[int, asyncio.Future[Pdu]] = {}
        self._sequence = 0
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, host: str, port: int) -> Esme:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                pdu = await read_pdu(self.reader)
                self.received.append(pdu)
                if pdu.is_response:
                    future = self._pending.pop(pdu.sequence, None)
                    if future is not None and not future.done():
                        future.set_result(pdu)
                elif pdu.command_id == DELIVER_SM:
                    if self.ack_status is not None:  # None: never answer
                        self.send(response(pdu, self.ack_status))
                    await self.delivers.put(pdu)
                elif pdu.command_id == ENQUIRE_LINK:
                    self.send(response(pdu))
        except (asyncio.IncompleteReadError, ConnectionError):
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection closed"))

    def send(self, pdu: Pdu) -> None:
        self.writer.write(encode(pdu))

    async def request_raw(self, data: bytes, sequence: int, timeout: float = 15.0) -> Pdu:
        """Send hand-made bytes and wait for the answer carrying `sequence` (a generic_nack, say)."""
        future = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        self.writer.write(data)
        return await asyncio.wait_for(future, timeout)

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def request(self, pdu: Pdu, timeout: float = 15.0) -> Pdu:
        if not pdu.sequence:
            pdu.sequence = self.next_sequence()
        future = asyncio.get_running_loop().create_future()
        self._pending[pdu.sequence] = future
        self.send(pdu)
        return await asyncio.wait_for(future, timeout)

    async def bind(self, system_id: str = "mecm", password: str = "secret", command_id: int = BIND_TRANSCEIVER) -> Pdu:
        return await self.request(Pdu(command_id, fields={"system_id": system_id, "password": password,
                                                          "interface_version": 0x34}))

    async def submit(self, tlvs: dict[int, bytes] | None = None, **fields: Any) -> Pdu:
        return await self.request(Pdu(SUBMIT_SM, fields=fields, tlvs=tlvs or {}))

    async def next_deliver(self, timeout: float = 15.0) -> Pdu:
        return await asyncio.wait_for(self.delivers.get(), timeout)

    async def close(self) -> None:
        self._task.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()
