"""``make assets``: fetch the console's front-end files from the npm registry at their pinned versions.

The pins are in src/mecm/console/static/vendor/assets.json: for each package, its version, the file
taken from its tarball, the tarball's integrity (sha512, as the registry gives it) and the file's
SHA-256. This script downloads each tarball with ``npm pack``, refuses one whose integrity differs
from the pin, and writes the file and the package's licence beside it. To move to another version,
change ``version`` and clear ``integrity``: the script records the new tarball's, to be reviewed in
the commit. tests/unit/console/test_assets.py checks the shipped files against the pins.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "src/mecm/console/static/vendor"
PINS = VENDOR / "assets.json"


def fetch(pin: dict, work: Path) -> None:
    spec = f"{pin['package']}@{pin['version']}"
    packed = json.loads(subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(work)],
                                       cwd=work, check=True, capture_output=True, text=True).stdout)[0]
    tarball = work / packed["filename"]
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if pin.get("integrity") and pin["integrity"] != integrity:
        sys.exit(f"{spec}: the registry's tarball is {integrity}, not the pinned {pin['integrity']}")
    pin["integrity"] = integrity
    with tarfile.open(tarball) as tar:
        wanted = {f"package/{pin['file']}": pin["shipped_as"], "package/LICENSE": pin["licence_as"]}
        for member in tar.getmembers():
            if member.name in wanted:
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                (VENDOR / wanted.pop(member.name)).write_bytes(data)
        if wanted:
            sys.exit(f"{spec}: not in its tarball: {', '.join(wanted)}")
    pin["sha256"] = hashlib.sha256((VENDOR / pin["shipped_as"]).read_bytes()).hexdigest()
    print(f"{spec}: {pin['shipped_as']} ({pin['sha256'][:12]}...), {pin['licence_as']}")


def main() -> None:
    pins = json.loads(PINS.read_text())
    with tempfile.TemporaryDirectory() as work:
        for pin in pins:
            fetch(pin, Path(work))
    PINS.write_text(json.dumps(pins, indent=2) + "\n")


if __name__ == "__main__":
    main()
