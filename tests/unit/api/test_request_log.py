"""Which answered requests get a line: every failure, one success in ``every``, none with 0."""

from __future__ import annotations

import logging
import time

import pytest

from mecm.api.request_log import RequestLog


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mecm.requests"]


@pytest.mark.parametrize(("every", "successes_logged"), [(1, 10), (4, 2), (100, 0), (0, 0)])
def test_one_success_in_every_is_logged_and_every_failure(caplog: pytest.LogCaptureFixture, every: int,
                                                          successes_logged: int) -> None:
    caplog.set_level(logging.INFO, logger="mecm.requests")
    log = RequestLog(every)
    for i in range(10):
        log.answered("sendSMS", "OK", False, time.perf_counter(), {"client": ("127.0.0.1", 5000)})
        if i % 5 == 0:
            log.answered("sendSMS", "RATE_LIMITED", True, time.perf_counter(), {})
    found = lines(caplog)
    assert sum(" OK in " in line for line in found) == successes_logged
    assert [line for line in found if "RATE_LIMITED" in line] == [
        line for line in found if line.startswith("sendSMS RATE_LIMITED in ") and line.endswith(" from unknown")]
    assert sum("RATE_LIMITED" in line for line in found) == 2
