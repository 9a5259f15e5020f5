from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.support import databases
from tests.support.server import Server, make_server


# Property tests have no deadline: hypothesis's default (200 ms an example) is a time, and on a loaded
# machine an example of test_numbering.py's took longer and failed a run that was otherwise right.
settings.register_profile("mecm", deadline=None)
settings.load_profile("mecm")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("mecm"))
    srv.start()
    yield srv
    srv.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Integration modules first, then the API's, then the unit tests (each module's tests kept in
    their order): make test's xdist workers take a module at a time in this order, and the modules
    that wait longest on the processes they start are then not left to the end of the run."""
    rank = {"integration": 0, "api": 1}
    items.sort(key=lambda item: rank.get(item.path.parent.name, 2))


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After a module's last test (its module-scoped fixtures are finalized by then), its
    PostgreSQL databases are emptied for the next modules (tests/support/databases.py)."""
    yield
    if nextitem is None or nextitem.path != item.path:
        databases.recycle()


def pytest_sessionfinish() -> None:
    databases.finish()
