"""Run ``mecm`` commands for tests in processes forked from one that has imported mecm already.

A ``python -m mecm ...`` process spends ~0.6 s of CPU importing sqlalchemy, typer, pydantic and mecm
before its command runs, and the suite runs hundreds of them: on two cores that was minutes of each
``make test``. This module starts one server process per test process that imports all of it once
and then forks a child per command. The child is a process of its own, as a real CLI process is:
it gets the environment, working folder, arguments and standard input asked for, runs the same
entry point (``mecm.cli.main``) and exits; its exit status, standard output and standard error come
back as ``subprocess.run`` would return them. Only the import is shared, of the same code.

Tests of how the command itself starts (the lazy front door, finding state from a folder, ``serve``)
still start ``python -m mecm`` (``tests.support.server.MECM``).

Protocol, over a Unix socket, one connection per command: the client sends one JSON line (args, env,
cwd and the paths of the files for standard input, output and error); the child answers with its
pid on a line, then its exit status on a line when it has finished.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# -- the client (the test process) --------------------------------------------------------------------

_lock = threading.Lock()
_server: subprocess.Popen | None = None
_socket_path: str | None = None


def run(args: list[str] | tuple[str, ...], *, env: dict[str, str], cwd: str | Path | None = None,
        input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([*MECM, *args], env=env, cwd=cwd, input=input, capture_output=True, text=True,
    timeout=timeout)``, in a child of the fork server."""
    with tempfile.TemporaryDirectory(prefix="mecm-cli-") as folder:
        files = {name: os.path.join(folder, name) for name in ("stdin", "stdout", "stderr")}
        Path(files["stdin"]).write_text(input or "")
        request = {"args": list(args), "env": env, "cwd": str(cwd or os.getcwd()), **files}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(_server_socket())
            connection.sendall(json.dumps(request).encode() + b"\n")
            answer = connection.makefile("r")
            pid = int(answer.readline())
            try:
                status = answer.readline()
            except TimeoutError:
                _kill(pid)
                raise subprocess.TimeoutExpired(["mecm", *args], timeout) from None
            if not status:
                raise RuntimeError(f"mecm {' '.join(args)}: its process ended without an exit status")
        return subprocess.CompletedProcess(["mecm", *args], int(status), Path(files["stdout"]).read_text(),
                                           Path(files["stderr"]).read_text())


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _server_socket() -> str:
    """The fork server's socket, started on first use and stopped when the test process exits."""
    global _server, _socket_path
    with _lock:
        if _server is None or _server.poll() is not None:
            folder = tempfile.mkdtemp(prefix="mecm-forkserver-")
            _socket_path = os.path.join(folder, "socket")
            _server = subprocess.Popen([sys.executable, __file__, _socket_path],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
            assert _server.stdout is not None
            if _server.stdout.readline().strip() != b"ready":  # it has imported everything and listens
                raise RuntimeError("the CLI fork server did not start")
            atexit.register(_server.kill)
        assert _socket_path is not None
        return _socket_path


# -- the server ---------------------------------------------------------------------------------------

def _import_everything() -> None:
    """What a command may import, imported once: mecm's CLI, use cases, store and domain (no module
    of them reads the environment or opens anything as it is imported) and their libraries."""
    import mecm

    for package in ("cli", "client", "services", "store", "domain", "delivery"):
        try:
            module = importlib.import_module(f"mecm.{package}")
        except ImportError:
            continue
        for found in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"mecm.{package}."):
            importlib.import_module(found.name)
    import typer.main

    from mecm.cli.typer_app import app

    typer.main.get_command(app)  # imports what building the commands imports (pydantic, ...)
    for library in ("sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql.psycopg", "psycopg", "httpx",
                    "alembic.command", "argon2"):
        try:
            importlib.import_module(library)
        except ImportError:
            pass
    assert mecm


def _child(connection: socket.socket) -> None:
    """Run one command in this (forked) process, and exit."""
    status = 1
    try:
        request = json.loads(connection.makefile("r").readline())
        connection.sendall(f"{os.getpid()}\n".encode())
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, name, mode in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY), (2, "stderr", os.O_WRONLY)):
            opened = os.open(request[name], mode | (os.O_CREAT | os.O_TRUNC if fd else 0))
            os.dup2(opened, fd)
            os.close(opened)
        sys.argv = ["mecm", *request["args"]]
        status = _run_main()
    finally:
        try:
            connection.sendall(f"{status}\n".encode())
        finally:
            os._exit(status)


def _run_main() -> int:
    """``python -m mecm``'s exit status: SystemExit's code, 1 and a traceback for an uncaught error."""
    import logging
    import traceback

    from mecm.cli import main

    try:
        main()
        status = 0
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            status = code or 0
        else:
            print(code, file=sys.stderr)
            status = 1
    except BaseException:  # noqa: BLE001 - as the interpreter would: print it and exit 1
        traceback.print_exc()
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return status


def serve(socket_path: str) -> None:
    _import_everything()
    parent = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(socket_path)
        listener.listen(64)
        listener.settimeout(1.0)
        print("ready", flush=True)
        while os.getppid() == parent:  # the test process gone: stop
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(None)
            if os.fork() == 0:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command may wait for processes it starts
                _child(connection)
            connection.close()


if __name__ == "__main__":
    serve(sys.argv[1])
