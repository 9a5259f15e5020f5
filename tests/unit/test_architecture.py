"""The layers of docs/architecture.md hold: ``lint-imports`` checks pyproject.toml's import contracts
(a module that imports from a layer above its own fails this test, and so ``make test``).

It runs as a process of its own: in this one, import-linter's set-up turns off loggers that other
tests look at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), str(ROOT / "pyproject.toml"), "--no-cache"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
