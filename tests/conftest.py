from __future__ import annotations

import os

import pytest

from tests.support.server import Server, make_server


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("mecm"))
    srv.start()
    yield srv
    srv.stop()
