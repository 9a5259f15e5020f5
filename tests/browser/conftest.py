"""Browser tests: the console in Debian's chromium, driven by Playwright (its own browsers are never
downloaded: it launches /usr/bin/chromium). ``make test`` installs the chromium package when it is
missing; without it these tests are skipped, and fail under CI=true.

``MECM_SCREENSHOTS=<folder>`` keeps each page's screenshot there (``make screenshots`` writes the
ones docs/console.md shows)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import in_ci


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Module-scoped, not session-scoped: while Playwright runs, its event loop is the running one in
# this thread, and the asyncio tests that an xdist worker runs after this module could not start.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium; make test does it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: the tests may run as root (CI), where chromium's sandbox refuses to start
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path):  # noqa: ANN201 - a function that screenshots a page
    """``shots(page, name)``: a full-page screenshot, kept in MECM_SCREENSHOTS when that is set."""
    keep = os.environ.get("MECM_SCREENSHOTS")

    def shoot(page, name: str) -> Path:  # noqa: ANN001 - a Playwright page
        folder = Path(keep) if keep else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
