"""A process started by mecm dies with the process that started it, however that one ends: the
delivery worker of ``mecm serve``, and each API process of ``mecm api --workers N`` (a SIGKILL of
``mecm api`` left its processes serving on the port, and the node could not be started again until
someone found them).

The worker arms it first thing in ``python -m mecm`` (mecm/__main__.py), before any import of
weight: on a loaded machine the worker's imports and database check take seconds, and a serve
killed during them must not leave its worker running them to the end. An API process arms it when
uvicorn builds its app (mecm/api/app.py), before it takes a request. Linux's parent-death signal
does the killing; a parent that died before it was armed is seen by the parent id having changed.
"""

from __future__ import annotations

import os
import signal
import sys

PARENT_ENV = "MECM_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def started_by_me() -> dict[str, str]:
    """What to add to a child's environment for its ``die_with_parent`` to name this process."""
    return {PARENT_ENV: str(os.getpid())}


def die_with_parent() -> None:
    """Exit with the process named in ``MECM_PARENT_PID``; nothing when the variable is not set."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):  # serve died before the signal was armed
        sys.exit(f"mecm: the process that started this one ({parent}) has exited")
