"""Issue 16: mecm installed without the repository. A wheel built from this checkout
(``python -m build``) is installed with pip into a fresh virtual environment, and the ``mecm`` there,
run from a folder outside the checkout, initialises a database, serves the API and the console (its
templates, static files and migrations come from the package) and delivers with ``mecm worker``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.test_methods import call, ok, send_sms_path, wait_status
from tests.support.databases import no_database
from tests.support.server import Server, free_port, stop_process
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]

# Builds and installs a package (the wheel's dependencies come from the package index, as a user's
# pip install would take them): SQLite's run only; PostgreSQL's would do the same again.
pytestmark = [pytest.mark.integration, no_database]


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh virtual environment with the wheel installed in it."""
    work = tmp_path_factory.mktemp("wheel")
    # An sdist, then the wheel built from it (python -m build's default): the checkout gets no
    # build/ folder, and the wheel holds only what the sdist ships.
    run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(REPO)])
    (wheel,) = (work / "dist").glob("mecm-*.whl")
    run([sys.executable, "-m", "venv", str(work / "venv")])
    run([str(work / "venv" / "bin" / "pip"), "install", "--quiet", str(wheel)])
    return work / "venv" / "bin"


@contextmanager
def started(bin_dir: Path, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "ab") as out:
        process = subprocess.Popen([str(bin_dir / "mecm"), *args], env=env, cwd=cwd, stdout=out, stderr=out)
    try:
        yield process
    finally:
        stop_process(process, timeout_s=30)


def test_the_installed_package_serves_the_api_and_the_console_and_delivers(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"  # no checkout here, and none on the path
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECM_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update({"HOME": str(tmp_path / "home"), "MECM_VAR_DIR": str(tmp_path / "var"), "MECM_PORT": str(free_port()),
                "MECM_CONFIG": str(elsewhere / "mecm.toml")})
    (elsewhere / "mecm.toml").write_text("")

    where = run([str(installed / "python"), "-c", "import mecm; print(mecm.__file__)"], env=env, cwd=elsewhere)
    assert "site-packages" in where.stdout and str(REPO / "src") not in where.stdout

    run([str(installed / "mecm"), "init"], env=env, cwd=elsewhere)  # migrations from the package
    creds = json.loads(run([str(installed / "mecm"), "demo", "--json"], env=env, cwd=elsewhere).stdout)
    server = Server(tmp_path, int(env["MECM_PORT"]), env, creds=creds)

    with started(installed, ["serve", "--delivery", "none"], env, elsewhere, tmp_path / "serve.log"), \
            started(installed, ["worker"], env, elsewhere, tmp_path / "worker.log"):
        wait_until(lambda: _answers(server.url), timeout=60)
        message = ok(call(server, send_sms_path(server, "from a wheel"))).find("messages/message")
        assert wait_status(server, message.findtext("id"), "DELIVERED_TO_DEVICE").findtext("status") == \
            "DELIVERED_TO_DEVICE"  # delivered by `mecm worker`

        sign_in = httpx.get(server.url + "/sign-in", timeout=10)  # a template of the package
        assert sign_in.status_code == 200 and "<form" in sign_in.text
        styles = httpx.get(server.url + "/static/console.css", timeout=10)  # a static file of the package
        assert styles.status_code == 200 and styles.headers["content-type"].startswith("text/css")
        htmx = httpx.get(server.url + "/static/vendor/htmx.min.js", timeout=10)
        assert htmx.status_code == 200 and len(htmx.content) > 10_000


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
