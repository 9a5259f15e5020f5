"""The node's request counts: the processes' files summed, a scrape never lower than the one
before whichever process answers, a node started afresh from zero."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from mecm.api.node_counts import DIRECTORY_ENV, NodeCounts, of_this_node, start_afresh

SENT = ("sendSMS", "OK")


class OtherProcess(NodeCounts):
    """A sibling API process: another file in the same directory."""

    def __init__(self, directory: Path, counts: Counter, pid: int) -> None:
        super().__init__(directory, counts)
        self._file = directory / f"{pid}.json"


def test_a_scrape_counts_every_process_and_never_goes_down(tmp_path: Path) -> None:
    a_counts, b_counts = Counter(), Counter()
    a = NodeCounts(tmp_path, a_counts)
    b = OtherProcess(tmp_path, b_counts, pid=os.getpid() + 1)
    a_counts[SENT] += 3
    b_counts[SENT] += 5
    b.write()  # b's periodic write
    first = a.node_total()[SENT]  # answered by a: its own counts as they are now
    a_counts[SENT] += 2  # not written by a yet
    second = b.node_total()[SENT]  # answered by b: a's as last written
    assert (first, second) == (8, 8)
    assert a.node_total()[SENT] == 10


def test_a_process_that_ended_still_counts(tmp_path: Path) -> None:
    ended = OtherProcess(tmp_path, Counter({SENT: 7}), pid=os.getpid() + 2)
    ended.write()
    assert NodeCounts(tmp_path, Counter({SENT: 1})).node_total()[SENT] == 8


def test_a_node_started_afresh_counts_from_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIRECTORY_ENV, "")  # start_afresh sets it: restored to unset after the test
    assert of_this_node(Counter()) is None  # not started by a node's starter: its own counts only
    start_afresh(tmp_path, 8080)
    counts = of_this_node(Counter({SENT: 4}))
    assert counts is not None and counts.node_total()[SENT] == 4
    start_afresh(tmp_path, 8080)
    assert of_this_node(Counter()).node_total()[SENT] == 0
