"""A process started by ``mecm serve`` (its delivery worker) dies with serve, however serve ends.

Armed first thing in ``python -m mecm`` (mecm/__main__.py), before any import of weight: on a
loaded machine the worker's imports and database check take seconds, and a serve killed during
them must not leave its worker running them to the end. Linux's parent-death signal does the
killing; a serve that died before it was armed is seen by the parent id having changed.
"""

from __future__ import annotations

import os
import signal
import sys

PARENT_ENV = "MECM_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Exit with the process named in ``MECM_PARENT_PID``; nothing when the variable is not set."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):  # serve died before the signal was armed
        sys.exit("mecm worker: the mecm serve that started it has exited")
