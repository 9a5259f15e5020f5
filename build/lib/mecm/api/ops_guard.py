"""The operators' routes (``/metrics``, ``/admin/carriers/status``) behind an optional bearer token.

They say how busy each carrier is and how deep the queue runs: nothing secret, but nothing a client
of the API should read either. When ``ops_token`` is set, each wants ``Authorization: Bearer
<ops_token>`` (Prometheus sends it with ``authorization: {credentials: ...}``); when it is empty they
stay open, for a deployment that keeps them on an address only operators reach. ``/healthz`` and
``/readyz`` are never guarded: load balancers probe them without credentials.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(endpoint: Endpoint, token: str) -> Endpoint:
    """``endpoint`` when ``token`` is empty, else ``endpoint`` answering 401 without the token."""
    if not token:
        return endpoint
    expected = f"Bearer {token}".encode()

    async def checked(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"error": "ops token missing or wrong"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return await endpoint(request)

    return checked
