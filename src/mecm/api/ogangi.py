"""The OGANGI-compatible endpoint: ``/rest/api/[tools/]{method}/{p1}/.../{pN}/{publicKey}/{signature}``.

A bare ASGI callable rather than a Starlette route: it must split the *raw* path (a percent-encoded
``/`` inside a Base64 segment must not split it), and it is the hot path, so it skips the framework's
request and response objects.

Checks run in the SPEC's order: route (NOT_FOUND), authentication (BAD_SIGNATURE), parameters
(INVALID_PARAMETER), then limits (RATE_LIMITED, with a Retry-After header: api/limits.py). Anything unexpected answers ERROR and is logged with a request id; since every
write is one transaction, nothing half-done is kept.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from mecm.api import dry_run
from mecm.api.methods import METHODS, Call
from mecm.api.metrics import request_counts
from mecm.api.reads import ReadShare
from mecm.api.request_log import RequestLog
from mecm.api.render import render_json, render_xml
from mecm.domain.idempotency import HEADER as IDEMPOTENCY_KEY
from mecm.domain.signature import verify
from mecm.errors import ApiError, BadSignature, NotFound, RateLimited
from mecm.logs import REQUEST_ID
from mecm.runtime import Runtime
from mecm.store.budget import ReadStopped
from mecm.store.driver_errors import database_away, one_line

log = logging.getLogger(__name__)

PREFIX = "/rest/api/"
_MAX_BODY = 64 * 1024
_NO_ONES_KEY = secrets.token_hex(16)  # made afresh in every process, never stored or shown


class OgangiApi:
    def __init__(self, runtime: Runtime, requests: RequestLog | None = None) -> None:
        self.runtime = runtime
        self.reads = ReadShare(runtime.settings.reads_per_workspace)
        self.requests = requests or RequestLog(runtime.settings.request_log_every)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        wants_json = _accepts_json(scope)
        method_name = "unknown"
        counted_as = "unknown"  # the /metrics label: a known method's name, never whatever a path said
        extra_headers: list[tuple[bytes, bytes]] = []
        try:
            raw_path = scope.get("raw_path") or scope["path"].encode()
            path = raw_path.decode("latin-1").split("?", 1)[0]
            segments = path[len(PREFIX):].rstrip("/").split("/")
            if segments and segments[0] == "tools":
                segments = segments[1:]
            method_name = segments[0] if segments else ""
            handler = METHODS.get((scope["method"], method_name, len(segments) - 3))
            if handler is None or len(segments) < 4:
                raise NotFound(path)
            counted_as = method_name
            raw_params = segments[1:-2]
            body = await _read_body(receive) if scope["method"] == "POST" else b""
            call = await self._authenticate(raw_params, unquote(segments[-2]), segments[-1], body, receive)
            if dry_run.asked_for(scope):
                call = replace(call, dry_run=True)  # only the sending methods look at it
            idempotency_key = _header(scope, IDEMPOTENCY_KEY)
            if idempotency_key is not None:
                call = replace(call, idempotency_key=idempotency_key)
            result = await handler(call)
            status, description = "OK", "Completed"
        except ReadStopped:
            log.info("%s stopped: the client went away", method_name)
            request_counts[(counted_as, "CLIENT_GONE")] += 1
            return  # no one to answer
        except ApiError as error:
            result, status, description = [], error.status, error.description
            http_status = error.http_status
            if isinstance(error, RateLimited):  # SPEC section 9: the same whole seconds as the description
                extra_headers.append((b"retry-after", str(error.retry_after_s).encode()))
        except Exception as error:  # noqa: BLE001 - answer ERROR, never a stack trace
            result, status = [], "ERROR"
            if database_away(error):  # not this call's fault: one line, and 503 for a retry elsewhere
                log.error("%s failed: the database cannot be used: %s", method_name, one_line(error))
                description, http_status = "Service unavailable: the database cannot be used now", 503
            else:
                log.exception("%s failed", method_name)  # with the request's id (mecm/logs.py)
                description, http_status = "Internal error", 500
        else:
            http_status = 200
        request_counts[(counted_as, status)] += 1
        render = render_json if wants_json else render_xml
        body_out = render(method_name, status, description, result)
        if not self.runtime.settings.http_error_codes:
            http_status = 200
        self.requests.answered(counted_as, status, status != "OK", started, scope)
        content_type = b"application/json" if wants_json else b"application/xml; charset=utf-8"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body_out)).encode()),
            (b"x-mecm-status", status.encode()),
            (b"x-request-id", (REQUEST_ID.get() or "").encode()),
            *extra_headers,
        ]
        headers.extend(getattr(result, "headers", ()))  # a replayed answer's (api/idempotency.py)
        await send({"type": "http.response.start", "status": http_status, "headers": headers})
        await send({"type": "http.response.body", "body": body_out})

    async def _authenticate(self, raw_params: list[str], public_key: str, signature: str, body: bytes,
                            receive: Any = None) -> Call:
        """SPEC section 2: every failure is the same BAD_SIGNATURE, whatever part was wrong."""
        runtime = self.runtime
        instance = raw_params[0]
        if not (instance.isascii() and instance.isdigit()) or len(instance) > 9:
            raise BadSignature()
        found = runtime.catalog.workspace_key(int(instance), public_key)
        if found is None:  # a key made a moment ago, by another process perhaps
            await runtime.reload_on_miss()
            found = runtime.catalog.workspace_key(int(instance), public_key)
        # An unknown key is checked against a key no one holds, so that it costs the same work as a
        # known key with a wrong signature. (The wait for a fresh reading of the catalog above does
        # tell an unknown key from a known one; public keys travel in every URL and are no secret.)
        private_key = found[1].private_key if found is not None else _NO_ONES_KEY
        params = [unquote(p) for p in raw_params]
        if not verify(private_key, "/".join(raw_params), signature) and not (
            _decoded_form_allowed(params, raw_params) and verify(private_key, "/".join(params), signature)
        ):
            raise BadSignature()
        # found None: only reached if someone signed with _NO_ONES_KEY, which is not a key.
        if found is None or not runtime.key_use.admit(found[1]):  # an expired key (services/key_use.py)
            raise BadSignature()
        workspace, key = found
        return Call(runtime, workspace, key, params, raw_params, body, self.reads, receive)


def _decoded_form_allowed(params: list[str], raw_params: list[str]) -> bool:
    """SPEC section 2: the signature over the percent-decoded segments is tried only when decoding
    changed something and put no "/" into a segment. A decoded "/" would make the signed string
    read as other segments than the URL has (one reading per signature)."""
    return params != raw_params and not any("/" in p for p in params)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for header, value in scope.get("headers", ()):
        if header == name:
            return value.decode("latin-1")
    return None


def _accepts_json(scope: dict[str, Any]) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"application/json" in value
    return False


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            from mecm.errors import InvalidParameter

            raise InvalidParameter("body", f"larger than {_MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
