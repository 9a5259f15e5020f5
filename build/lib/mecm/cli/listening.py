"""The API's listening socket, bound before uvicorn starts, so ``mecm serve`` and ``mecm api`` can
say where they listen (uvicorn's own line is silenced with its INFO logs), and a port already taken
is a clear error rather than a log line from a library."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from mecm.errors import ConfigError

BACKLOG = 2048  # uvicorn's default


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0: any free port) and listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error} (is another server on that "
                          "port? choose another with --port or MECM_PORT)") from None
    sock.set_inheritable(True)  # the processes of `mecm api --workers N` accept on it too
    return sock


def address_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce(command: str, sock: socket.socket, details: str, log_format: str = "text") -> None:
    """Where the server listens (the real port when 0 was asked): one line on standard output, or,
    when the logs are JSON, one log record, so that a collector reading them finds only JSON."""
    line = f"mecm {command}: listening on {address_of(sock)} ({details})"
    if log_format == "json":
        logging.getLogger(f"mecm.{command}").info(line)
        return
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run_uvicorn(app: Any, sock: socket.socket, options: dict[str, Any], *, workers: int = 1,
                factory: bool = False) -> None:
    """uvicorn on an already listening socket: one server here, or ``workers`` processes sharing it."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, factory=factory, workers=workers, **options)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if workers == 1 and not server.started:
        sys.exit(3)  # as uvicorn.run: the application failed to start
