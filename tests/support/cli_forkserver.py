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

``start`` starts a long-running command the same way (``mecm serve`` for tests/support/server.py),
as an object that a test stops, kills and waits for as it would a ``subprocess.Popen``.

Protocol, over a Unix socket, one connection per command: the client sends one JSON line (args, env,
cwd and the paths of the files for standard input, output and error). The server forks a child for
the connection, which forks the command's process, sends its pid on a line, waits for it and sends
its exit status on a line (as Popen's returncode: negative, the signal that ended it).
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import pkgutil
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# -- the client (the test process) --------------------------------------------------------------------

# How long the fork server may take to fork a command and name its pid: a bound, not a time waited.
_FORKED_WITHIN_S = 60.0
_lock = threading.Lock()
_server: subprocess.Popen | None = None
_socket_path: str | None = None


class ForkedProcess:
    """A command the fork server started, handled as a ``subprocess.Popen`` is: ``pid``, ``poll()``,
    ``wait(timeout)``, ``send_signal``, ``terminate``, ``kill`` and ``returncode`` (negative: the
    signal that ended it). Its exit status comes from the process that forked it and waits for it."""

    def __init__(self, args: list[str], connection: socket.socket) -> None:
        self.args = ["mecm", *args]
        self._connection = connection
        self._buffer = b""
        self.returncode: int | None = None
        self.pid = int(self._line(timeout=_FORKED_WITHIN_S))

    def _line(self, timeout: float | None) -> str:
        """The next line the fork server's side sends; TimeoutError if none comes within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._connection], [], [], left)
            if not ready:
                raise TimeoutError
            data = self._connection.recv(4096)
            if not data:
                raise RuntimeError(f"{' '.join(self.args)}: the fork server's side went away")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self._ended(self._line(timeout=0))
            except TimeoutError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self._ended(self._line(timeout))
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
        assert self.returncode is not None
        return self.returncode

    def _ended(self, status: str) -> None:
        self.returncode = int(status)
        self._connection.close()

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # as Popen: never a signal to a pid that may be another's by now
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(args: list[str] | tuple[str, ...], *, env: dict[str, str], output: str | Path,
          stdin: str | Path = os.devnull, cwd: str | Path | None = None) -> ForkedProcess:
    """``subprocess.Popen([*MECM, *args], env=env, cwd=cwd, stdin=open(stdin), stdout=log, stderr=log)``
    with ``log`` the file ``output`` opened to append, in a child of the fork server."""
    request = {"args": list(args), "env": env, "cwd": str(cwd or os.getcwd()), "stdin": str(stdin),
               "stdout": str(output), "stderr": str(output), "append": True}
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(_server_socket())
        connection.sendall(json.dumps(request).encode() + b"\n")
        return ForkedProcess(list(args), connection)
    except BaseException:
        connection.close()
        raise


def run(args: list[str] | tuple[str, ...], *, env: dict[str, str], cwd: str | Path | None = None,
        input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([*MECM, *args], env=env, cwd=cwd, input=input, capture_output=True, text=True,
    timeout=timeout)``, in a child of the fork server."""
    with tempfile.TemporaryDirectory(prefix="mecm-cli-") as folder:
        files = {name: os.path.join(folder, name) for name in ("stdin", "stdout", "stderr")}
        Path(files["stdin"]).write_text(input or "")
        request = {"args": list(args), "env": env, "cwd": str(cwd or os.getcwd()), **files, "append": False}
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(_server_socket())
        connection.sendall(json.dumps(request).encode() + b"\n")
        process = ForkedProcess(list(args), connection)
        try:
            status = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        return subprocess.CompletedProcess(process.args, status, Path(files["stdout"]).read_text(),
                                           Path(files["stderr"]).read_text())


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
    """Fork the command's process, tell the client its pid, wait for it and tell its exit status as
    Popen's returncode; then exit."""
    status = 1
    try:
        request = json.loads(connection.makefile("r").readline())
        pid = os.fork()
        if pid == 0:
            connection.close()
            _command(request)
        connection.sendall(f"{pid}\n".encode())
        _, wait_status = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(wait_status)
    finally:
        try:
            connection.sendall(f"{status}\n".encode())
        finally:
            os._exit(0)


def _command(request: dict) -> None:
    """Become the command asked for: its folder, environment, standard streams and arguments."""
    status = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        written = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if request["append"] else os.O_TRUNC)
        for fd, name, mode in ((0, "stdin", os.O_RDONLY), (1, "stdout", written), (2, "stderr", written)):
            opened = os.open(request[name], mode, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        sys.argv = ["mecm", *request["args"]]
        status = _run_main()
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
