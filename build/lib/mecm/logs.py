"""Logging: plain text for a terminal, or one JSON object per line (``log_format = "json"``) for a log
collector; either way each line written while a request is handled carries that request's id.

The id is the client's ``X-Request-Id`` header when it sends a sane one (a proxy's id, so one request
can be followed through both logs), otherwise one made here; every response carries it back in
``X-Request-Id``. A private key or PIN is never a log argument anywhere in mecm, so no formatter
needs to scrub one.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("mecm_request_id", default=None)
FORMATS = ("text", "json")
QUIET_LIBRARIES = ("alembic", "httpx", "httpcore")

_PREFIX = os.urandom(3).hex()  # ids made by different processes do not collide
_counter = itertools.count(1)
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's id: a sane ``X-Request-Id`` it came with, or a new one."""
    for name, value in headers:
        if name == b"x-request-id" and _SANE.fullmatch(value):
            return value.decode()
    return f"{_PREFIX}-{next(_counter)}"


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, process id, the
    request id when there is one, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return line if request_id is None else f"{line} [request {request_id}]"


def configure(level: str, log_format: str = "text") -> None:
    """Send mecm's logs to standard error in ``log_format`` ("text" or "json")."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' own INFO lines are noise to an operator: alembic's per-migration chatter (mecm logs
    # one line when it upgrades the schema) and httpx's line per webhook and status callback. At
    # DEBUG they come back.
    quiet = logging.WARNING if root.getEffectiveLevel() > logging.DEBUG else logging.NOTSET
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
