"""The ASGI application: the OGANGI API on /rest/api/, health on /healthz, the admin API on
/admin/api/, the console on the rest (/), under one lifespan.

Requests under /rest/api/ go straight to the OGANGI endpoint (the hot path); everything else goes
through Starlette.

``delivery`` says where messages are delivered from: ``process`` (the default: a ``mecm worker``
process that this app starts, watches and stops, see mecm/worker.py), ``inline`` (the dispatcher in
this process), or ``none`` (accept and store only; a ``mecm worker`` started apart delivers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mecm import collector
from mecm.api.admin.routes import admin_api_routes
from mecm.api.carrier_status import carrier_status
from mecm.api.metrics import metrics, readyz, request_counts
from mecm.api.node_counts import of_this_node
from mecm.api.ogangi import PREFIX, OgangiApi
from mecm.api.request_log import RequestLog
from mecm.api.ops_guard import guarded
from mecm.config import Settings
from mecm.console import console_routes
from mecm.logs import REQUEST_ID, request_id_of
from mecm.runtime import Runtime
from mecm.store.crypto import load_admin_token
from mecm.worker import WorkerProcess

DELIVERY_MODES = ("process", "inline", "none")


def create_app(settings: Settings, *, delivery: str = "process") -> Any:
    if delivery not in DELIVERY_MODES:
        raise ValueError(f"delivery must be one of {DELIVERY_MODES}")
    runtime = Runtime(settings, role="all" if delivery == "inline" else "api")
    worker = WorkerProcess() if delivery == "process" else None
    requests = RequestLog(settings.request_log_every)
    ogangi = OgangiApi(runtime, requests)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    node_counts = of_this_node(request_counts)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        if worker is not None:
            worker.start()
        collector.settle_after_start()
        counting = asyncio.create_task(node_counts.keep_written()) if node_counts is not None else None
        try:
            yield
        finally:
            if counting is not None:
                counting.cancel()
                node_counts.write()
            if worker is not None:
                await worker.stop()  # first: its in-flight submits are recorded through its own writer
            await runtime.stop()

    ops_token = settings.ops_token
    routes = [Route("/healthz", healthz), Route("/readyz", readyz),
              Route("/metrics", guarded(metrics, ops_token)),
              Route("/admin/carriers/status", guarded(carrier_status, ops_token)),
              *admin_api_routes(runtime, load_admin_token(settings)),
              *console_routes(runtime)]  # the console, at / (mecm/console)
    starlette = Starlette(routes=routes, lifespan=lifespan)
    starlette.state.runtime = runtime
    starlette.state.node_counts = node_counts

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await starlette(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        token = REQUEST_ID.set(request_id)  # read by the log lines written while it is handled
        try:
            if scope["path"].startswith(PREFIX):
                await ogangi(scope, receive, send)  # adds X-Request-Id, logs it (api/request_log.py)
            else:
                started, answer = time.perf_counter(), _Answer(request_id, send)
                try:
                    await starlette(scope, receive, answer.send)
                finally:
                    requests.answered(f"{scope['method']} {scope['path']}", f"HTTP {answer.status}",
                                      answer.status >= 400, started, scope)
        finally:
            REQUEST_ID.reset(token)

    app.runtime = runtime  # type: ignore[attr-defined]
    return app


class _Answer:
    """``send`` with the request's id added to the response's headers; keeps the status it sent
    (500 until one is sent: what uvicorn answers an application that fails before it)."""

    def __init__(self, request_id: str, send: Any) -> None:
        self._header = (b"x-request-id", request_id.encode())
        self._send = send
        self.status = 500

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message = {**message, "headers": [*message.get("headers", []), self._header]}
        await self._send(message)


def api_process_app() -> Any:
    """The factory each ``mecm api`` process calls (uvicorn imports it in every worker process):
    the API alone, on the settings of the environment; delivery is ``mecm worker``'s. With
    ``--workers N`` the process dies with the ``mecm api`` that started it (mecm/parent_death.py)."""
    from mecm.config import load_settings
    from mecm.logs import configure
    from mecm.parent_death import die_with_parent

    die_with_parent()

    settings = load_settings()
    configure(settings.log_level, settings.log_format)
    return create_app(settings, delivery="none")
