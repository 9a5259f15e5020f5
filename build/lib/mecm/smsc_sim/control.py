"""The simulator's control interface: a deliberately tiny HTTP/1.1 JSON server on the standard
library (one request per connection), so that it runs in the SMSC's event loop and needs no
signal handling of its own.

    GET  /stats        counters, submits, duplicates, per-second accepted submits, bound sessions,
                       commits (transactions of the submit record: many submits share one)
    GET  /pdus         recorded PDUs (hex + decoded); ?direction=in|out|all (default in),
                       ?since=N (entries numbered from 0), ?name=submit_sm
    GET  /config       the current settings (password hidden)
    POST /config       {"throttle_share": 0.5, ...}: change run-time settings (all or none)
    POST /mo           {"source", "destination", "text", "parts", "concat", "data_coding",
                       "system_id", "reverse", "only", "reference"}: deliver an MO to the bound
                       receivers ("only": just these part numbers; "reference": the one to use)
    POST /disconnect   drop every ESME connection
    POST /reset        forget submits, PDUs, counters and queues; restore the start-up settings
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mecm.smsc_sim.server import Smsc

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def start_control(smsc: Smsc, host: str, port: int) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, payload = await _answer(smsc, reader)
        except HttpError as error:
            status, payload = error.status, {"error": str(error)}
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        except Exception as error:  # noqa: BLE001 a bug must show in the answer, not kill the simulator
            status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
        body = json.dumps(payload).encode()
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        writer.write(head.encode() + body)
        try:
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(serve, host, port)


async def _answer(smsc: Smsc, reader: asyncio.StreamReader) -> tuple[int, Any]:
    request_line = (await reader.readline()).decode("latin-1").split()
    if len(request_line) != 3:
        raise HttpError(400, "malformed request line")
    method, target = request_line[0], request_line[1]
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    return 200, _route(smsc, method, url.path, query, body)


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as error:
        raise HttpError(400, f"body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise HttpError(400, "body must be a JSON object")
    return data


def _route(smsc: Smsc, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
    routes = {
        "/stats": ("GET", lambda: smsc.snapshot()),
        "/pdus": ("GET", lambda: _pdus(smsc, query)),
        "/config": ("GET", lambda: smsc.config.as_dict()),
        "/mo": ("POST", lambda: _mo(smsc, _json_body(body))),
        "/disconnect": ("POST", lambda: {"disconnected": smsc.disconnect()}),
        "/reset": ("POST", lambda: (smsc.reset(), {"reset": True})[1]),
    }
    if path == "/config" and method == "POST":
        return _configure(smsc, _json_body(body))
    if path not in routes:
        raise HttpError(404, f"no such endpoint {path}")
    wanted, handler = routes[path]
    if method != wanted:
        raise HttpError(405, f"{path} takes {wanted}")
    return handler()


def _pdus(smsc: Smsc, query: dict[str, str]) -> list[dict]:
    direction = query.get("direction", "in")
    if direction not in ("in", "out", "all"):
        raise HttpError(400, "direction must be in, out or all")
    try:
        since = int(query.get("since", "0"))
    except ValueError:
        raise HttpError(400, "since must be an integer") from None
    return smsc.log.entries(direction, since, query.get("name"))


def _configure(smsc: Smsc, changes: dict[str, Any]) -> dict:
    try:
        smsc.config.update(changes)
    except ValueError as error:
        raise HttpError(400, str(error)) from None
    smsc.resume()  # answering again: deliver what waited
    return smsc.config.as_dict()


def _mo(smsc: Smsc, data: dict[str, Any]) -> dict:
    allowed = {"source", "destination", "text", "parts", "concat", "data_coding", "system_id", "reverse", "only",
               "reference"}
    unknown = set(data) - allowed
    if unknown:
        raise HttpError(400, f"unknown field {min(unknown)}")
    for name in ("source", "destination", "text"):
        if not isinstance(data.get(name), str):
            raise HttpError(400, f"{name} is required and must be a string")
    try:
        return smsc.inject_mo(data["source"], data["destination"], data["text"], parts=data.get("parts"),
                              concat=data.get("concat", "udh"), data_coding=data.get("data_coding"),
                              system_id=data.get("system_id"), reverse=bool(data.get("reverse", False)),
                              only=data.get("only"), reference=data.get("reference"))
    except (ValueError, TypeError) as error:
        raise HttpError(400, str(error)) from None
