"""A log line per request answered with a failure, and per sampled request that succeeded.

Every line written while a request is handled already carries its id (mecm/logs.py), but a request
that wrote no line of its own left no trace: an operator following a proxy's ``X-Request-Id`` found
nothing at INFO (issue 16). So each request answered with a failure (an OGANGI status other than OK,
an HTTP status of 400 or above) gets one line at INFO, and so does one in ``every`` of those that
succeed (``request_log_every``, 100 by default; 0: none), so that the log shows the traffic's shape
without a line per message at thousands a second.

The line names what was asked (the OGANGI method, or the HTTP method and path elsewhere), never an
OGANGI URL: its segments are the message, the number and the key's signature. It is written while
the request's id is current, so it carries that id.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("mecm.requests")


class RequestLog:
    def __init__(self, every: int) -> None:
        self._every = every
        self._succeeded = 0

    def answered(self, what: str, outcome: str, failed: bool, started: float, scope: dict) -> None:
        """``what`` was answered ``outcome``; ``started``: its ``time.perf_counter()`` on arrival;
        ``scope``: the request's ASGI scope, read only when a line is written (every request passes
        here)."""
        if not failed:
            if not self._every:
                return
            self._succeeded += 1
            if self._succeeded % self._every:
                return
        log.info("%s %s in %.1f ms from %s", what, outcome, (time.perf_counter() - started) * 1000,
                 _client_of(scope))


def _client_of(scope: dict) -> str:
    """The client's address (the proxy's X-Forwarded-For, where uvicorn trusts the proxy)."""
    client = scope.get("client")
    return client[0] if client else "unknown"
