"""The request counts of every API process of one node, so that one ``/metrics`` scrape reports the
node (issue 16: under ``mecm api --workers N`` consecutive scrapes of one port hit different
processes and returned 6,260, then nothing, then 6,260: Prometheus read counter resets).

Each API process counts its requests in memory (``request_counts``, a dict increment on the hot
path) and writes them to a file of its own in the node's directory (``<var_dir>/metrics/api-<port>``)
every second while they change, and at once when it answers a scrape. A scrape sums every file of
the directory. So the sum never goes down between two scrapes, whichever processes answer them:
the process answering writes its own file first, every other file holds at least what any earlier
scrape read of it, and a file stays when its process has ended (its counts are still the node's).
The node's starter (``mecm serve``, ``mecm api``) empties the directory: a node started afresh
counts from zero, which Prometheus reads as the restart it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import Counter
from pathlib import Path

from mecm.files import open_private, private_dir

log = logging.getLogger(__name__)

FLUSH_S = 1.0
# Where the node's processes write their counts, set by the node's starter for the processes it
# starts (uvicorn's processes read no command-line options: the starter knows the port bound).
DIRECTORY_ENV = "MECM_NODE_COUNTS_DIR"


def start_afresh(var_path: Path, port: int) -> None:
    """Forget the counts of the node's former processes, and name the directory in this process's
    environment for the API processes it runs (called once, before they start)."""
    directory = var_path / "metrics" / f"api-{port}"
    if directory.is_dir():
        for file in directory.glob("*.json"):
            file.unlink(missing_ok=True)
    os.environ[DIRECTORY_ENV] = str(directory)


def of_this_node(counts: Counter[tuple[str, str]]) -> NodeCounts | None:
    """The node's counts, when the process was started by a node's starter; else None (an app made
    in a test: its own counts are the node's)."""
    directory = os.environ.get(DIRECTORY_ENV)
    return NodeCounts(Path(directory), counts) if directory else None


class NodeCounts:
    def __init__(self, directory: Path, counts: Counter[tuple[str, str]]) -> None:
        self._directory = directory
        self._counts = counts
        self._file = directory / f"{os.getpid()}.json"
        self._written: dict[tuple[str, str], int] = {}

    def write(self) -> None:
        """This process's counts into its file, if they changed since it was last written."""
        if self._counts == self._written:
            return
        private_dir(self._directory.parent, warn=False)  # <var_dir>/metrics, then the node's
        private_dir(self._directory, warn=False)
        snapshot = dict(self._counts)
        partial = self._file.with_suffix(".tmp")
        fd = open_private(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w") as out:
            json.dump([[method, status, count] for (method, status), count in snapshot.items()], out)
        partial.replace(self._file)  # a reader sees the old file or the new one, never half of one
        self._written = snapshot

    def node_total(self) -> Counter[tuple[str, str]]:
        """Every process's counts summed: this one's as they are now, the others' as last written."""
        self.write()
        total: Counter[tuple[str, str]] = Counter()
        for file in self._directory.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):  # removed by a node starting afresh
                for method, status, count in json.loads(file.read_text()):
                    total[(method, status)] += count
        return total

    async def keep_written(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                self.write()
            except OSError as error:  # a full disk: the scrape's own write tries again
                log.warning("writing this process's request counts failed: %s", error)
