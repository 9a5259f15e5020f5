"""Issue 16: docs/operations.md followed literally on one machine, as an operator would.

tools/operations_trial.py reads what the guide says to type (PostgreSQL statements, environment
file, ExecStart lines, openssl command, nginx configuration) and runs it: PostgreSQL, two
``mecm api --workers 2`` nodes, one ``mecm worker``, ``mecm smsc-sim`` over SMPP and Debian's nginx
with a self-signed certificate. It checks ``nginx -t``, a rolling restart of both API nodes under
load with no 5xx, a worker SIGKILL under load that loses nothing and duplicates at most the window,
and the proxy's request ids in the API logs. This test runs it and shows its report when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import on_postgresql

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not on_postgresql(), reason="the guide's deployment runs on PostgreSQL: its run covers it"),
]


def test_the_operations_guide_works_as_written() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        message = "the operations trial needs Debian's nginx (make test installs it: apt-get install nginx)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run([sys.executable, str(REPO / "tools" / "operations_trial.py")], cwd=REPO,
                          capture_output=True, text=True, timeout=1200)
    report = done.stdout[-6000:] + done.stderr[-4000:]
    assert done.returncode == 0, report
    assert "every check held" in done.stdout, report
