"""``GET /admin/carriers/status``: what each running connector reports about itself, as JSON.

Read by ``mecm admin carrier status``. An SMPP connector reports its binds, window, rate and counters
(``SmppConnector.status``); a connector without ``status()`` is listed as running. The connectors run
in the delivery worker, which this API process asks (``Runtime.read_carrier_status``); with no worker
running the answer is 503. Nothing secret is in it, but like every admin route it belongs on an
address only operators reach.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


async def carrier_status(request: Request) -> JSONResponse:
    """Mount as ``Route("/admin/carriers/status", carrier_status)``; needs ``app.state.runtime``."""
    carriers = await request.app.state.runtime.read_carrier_status()
    if carriers is None:
        return JSONResponse({"error": "no delivery worker is running"}, status_code=503)
    return JSONResponse({"carriers": carriers})
