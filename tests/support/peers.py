"""Real peers for integration tests: an HTTP server that receives webhooks, an SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port
from tests.support.waiting import wait_until


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers each path as ``routes[path]`` says: a list of (status, content type, body) used in
    turn (the last one repeats). Every request is kept, answered or not; ``connections`` counts the
    TCP connections accepted, requests or not."""

    routes: dict[str, list[tuple[int, str, str]]]
    received: list[Received] = field(default_factory=list)
    port: int = 0
    connections: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        try:
            return wait_until(predicate, timeout)
        except AssertionError:
            raise AssertionError(f"not received in time; got {[(r.path, r.body[:80]) for r in self.received]}") \
                from None


@contextlib.contextmanager
def webhook_receiver(routes: dict[str, list[tuple[int, str, str]]]) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(routes)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                seen = len(receiver.on(self.path))
                receiver.received.append(Received(self.path, dict(self.headers), body))
                answers = receiver.routes.get(self.path, [(404, "text/plain", "")])
                status, content_type, text = answers[min(seen, len(answers) - 1)]
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def verify_request(self, request: Any, client_address: Any) -> bool:  # once per connection accepted
            with lock:
                receiver.connections += 1
            return True

    server = Server(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server (aiosmtpd) on a free port; yields (port, received e-mail messages)."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox.messages
    finally:
        controller.stop()
