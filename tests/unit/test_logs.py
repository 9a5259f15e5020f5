"""Logging configuration: no library noise at INFO."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from mecm import logs


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    libraries = {name: logging.getLogger(name).level for name in logs.QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in libraries.items():
        logging.getLogger(name).setLevel(library_level)


def test_libraries_say_nothing_at_info_but_do_at_debug(restored_logging: None) -> None:
    logs.configure("INFO")
    for name in ("alembic", "alembic.runtime.migration", "httpx"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
    assert logging.getLogger("mecm.runtime").isEnabledFor(logging.INFO)
    logs.configure("DEBUG")
    assert logging.getLogger("httpx").isEnabledFor(logging.INFO)
