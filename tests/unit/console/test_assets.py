"""The console's front-end files are those of their pinned npm versions, each with its licence
(src/mecm/console/static/vendor/assets.json, written by ``make assets``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import mecm.console
from tests.support.databases import no_database

pytestmark = no_database

VENDOR = Path(mecm.console.__file__).parent / "static" / "vendor"
PINS = json.loads((VENDOR / "assets.json").read_text())


def test_every_shipped_file_is_the_pinned_versions_own() -> None:
    assert PINS, "no pinned assets"
    for pin in PINS:
        shipped = (VENDOR / pin["shipped_as"]).read_bytes()
        assert hashlib.sha256(shipped).hexdigest() == pin["sha256"], f"{pin['shipped_as']} is not {pin['package']}@{pin['version']}'s"
        assert pin["integrity"].startswith("sha512-"), f"{pin['package']}: no tarball integrity pinned"


def test_htmx_says_it_is_the_pinned_version() -> None:
    (pin,) = [p for p in PINS if p["package"] == "htmx.org"]
    assert f'version:"{pin["version"]}"' in (VENDOR / pin["shipped_as"]).read_text()


def test_every_shipped_file_has_its_licence_beside_it() -> None:
    for pin in PINS:
        licence = (VENDOR / pin["licence_as"]).read_text()
        assert len(licence) > 100 and ("License" in licence or "LICENSE" in licence or "BSD" in licence)
