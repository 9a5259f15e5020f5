"""``GET /admin/carriers/status``: what each running connector reports about itself, as JSON.

Read by ``mecm admin carrier status``. An SMPP connector reports its binds, window, rate and counters
(``SmppConnector.status``); a connector without ``status()`` is listed as running. Nothing secret is
in it, but like every admin route it belongs on an address only operators reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def carrier_statuses(connectors: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(connectors):
        connector = connectors[name]
        status = getattr(connector, "status", None)
        if callable(status):
            rows.append(status())
        else:
            kind = type(connector).__name__.removesuffix("Connector").lower()
            rows.append({"carrier": name, "connector": kind, "state": "running"})
    return rows


async def carrier_status(request: Request) -> JSONResponse:
    """Mount as ``Route("/admin/carriers/status", carrier_status)``; needs ``app.state.runtime``."""
    runtime = request.app.state.runtime
    return JSONResponse({"carriers": carrier_statuses(runtime.connectors)})
